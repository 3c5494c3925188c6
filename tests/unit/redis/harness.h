#ifndef PEERLINK_TESTS_REDIS_HARNESS_H
#define PEERLINK_TESTS_REDIS_HARNESS_H

/* A real redis-server on 127.0.0.1 (a free port, no persistence, its files in TEST_TMPDIR)
 * and a uv loop driven until a condition holds or a deadline passes. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "control/redis/redis.h"

/* A TCP port free on 127.0.0.1 just now. */
int rt_free_port(void);
/* Starts redis-server on `port` and waits (deadline 10 s) until redis-cli's PING answers. */
void rt_redis_start(int port);
/* SIGKILL, reaped. */
void rt_redis_kill(void);

/* Runs `loop` until cond(arg) or `ms` pass; returns cond(arg). */
int rt_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, uint64_t ms);
/* Runs until no handle is left (every close callback ran); fails after 5 s. */
void rt_drain(uv_loop_t *loop);

/* What a client's callbacks saw. */
typedef struct rt_events {
  int ups, downs, last; /* last: -1 before any on_state */
  char why[200];
  int messages;
  char channel[64];
  uint8_t data[256];
  size_t len;
} rt_events;
void rt_on_state(void *arg, int up, const char *why);
void rt_on_message(void *arg, const char *channel, const uint8_t *data, size_t len);

/* One command's outcome. */
typedef struct rt_reply {
  int done;
  int type;          /* REDIS_REPLY_* (reply != NULL) */
  long long integer; /* and PUBSUB NUMSUB's count */
  char str[256];
  size_t len;
  char err[200]; /* reply NULL */
} rt_reply;
void rt_reply_cb(void *arg, const struct redisReply *reply, const char *err);
int rt_reply_done(void *arg);
/* A command from a C-string argv, waited for (5 s). */
void rt_command(uv_loop_t *loop, pl_redis *r, rt_reply *out, int argc, const char *const *argv);

#endif
