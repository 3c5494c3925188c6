#ifndef PEERLINK_REDIS_REDIS_INT_H
#define PEERLINK_REDIS_REDIS_INT_H

/* Shared inside control/redis: the client's state and the pieces its files call. */

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "control/redis/redis.h"

typedef enum {
  PL_REDIS_WAIT,       /* backoff timer running before the next attempt */
  PL_REDIS_RESOLVING,  /* uv_getaddrinfo in progress */
  PL_REDIS_CONNECTING, /* both connections started, not both ready */
  PL_REDIS_UP,
  PL_REDIS_CLOSED,
} pl_redis_state;

typedef struct pl_redis_conn {
  pl_redis *r;
  redisAsyncContext *ac; /* NULL once dropped: hiredis or we free it */
  const char *name;      /* "cmd" or "sub" (logs) */
  int ready;             /* answered our PING on this connection */
} pl_redis_conn;

typedef struct pl_redis_pending {
  struct pl_redis_pending *prev, *next;
  pl_redis *r;
  pl_redis_reply_fn cb;
  void *arg;
  uint64_t deadline_ms; /* uv_now */
} pl_redis_pending;

typedef struct pl_redis_channel {
  char *name;
  int confirmed; /* SUBSCRIBE confirmed on the current subscriber connection */
} pl_redis_channel;

struct pl_redis {
  uv_loop_t *loop;
  pl_redis_config cfg; /* cfg.host points at host */
  char *host;
  pl_redis_state state;
  int reported_up;
  pl_redis_conn cmd, sub;
  uv_timer_t timer;     /* backoff, then the attempt's deadline */
  uv_timer_t cmd_timer; /* the oldest command's deadline */
  uv_getaddrinfo_t gai;
  int open;          /* our handles and requests not yet called back; freed at 0 once closed */
  uint32_t failures; /* attempts since the last up (backoff exponent) */
  uint64_t attempts;
  pl_redis_pending pending; /* list head, oldest first */
  size_t npending;
  pl_redis_channel *channels;
  size_t nchannels, capchannels;
  char error[160];  /* the last loss */
  char status[256]; /* pl_redis_status's buffer */
};

/* attach.c: redisLibuvAttach, with its poll callback fixed (see there). Returns 0 or
 * PL_ERR_IO. */
int pl_redis__attach(redisAsyncContext *ac, uv_loop_t *loop);

/* redis.c */
/* The link is lost (`dying`: a context hiredis is freeing itself, or NULL). */
void pl_redis__lose(pl_redis *r, const redisAsyncContext *dying, const char *why);
/* Re-evaluates whether both connections are ready and reports up. */
void pl_redis__check_up(pl_redis *r);
/* Text for a context's error. */
const char *pl_redis__errstr(const redisAsyncContext *ac, const char *otherwise);

/* command.c */
void pl_redis__pending_init(pl_redis *r);
/* PING on `c`; its reply marks the connection ready. Returns 0 or PL_ERR_CLOSED/NOMEM. */
int pl_redis__ping(pl_redis_conn *c);
void pl_redis__cmd_timer_cb(uv_timer_t *t);

/* pubsub.c */
/* SUBSCRIBE every channel on a new subscriber connection. Returns 0 or PL_ERR_CLOSED. */
int pl_redis__subscribe_all(pl_redis *r);
/* 1 when every channel is confirmed. */
int pl_redis__all_confirmed(const pl_redis *r);
void pl_redis__channels_free(pl_redis *r);

#endif
