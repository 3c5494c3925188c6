#ifndef PEERLINK_REDIS_REDIS_H
#define PEERLINK_REDIS_REDIS_H

/* A Redis client on a program's own libuv loop (hiredis 0.14 async API): one connection for
 * commands, one in subscribe mode (a subscribed connection cannot run commands), both
 * reconnected after any loss with jittered exponential backoff. Names are resolved with
 * uv_getaddrinfo (hiredis would resolve them with a blocking getaddrinfo on the loop).
 *
 * Every function is called on the loop's thread. Callbacks may call any function here,
 * pl_redis_close included. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct redisReply;

typedef struct pl_redis pl_redis;

typedef struct pl_redis_config {
  const char *host; /* IPv4/IPv6 literal or a name (copied) */
  int port;
  uint32_t backoff_min_ms; /* first reconnect delay (0: 200) */
  uint32_t backoff_max_ms; /* cap (0: 5000); each delay is drawn from [d/2, d] */
  /* A command with no reply in this time fails and the link is treated as lost; also the
   * deadline for a connection attempt to come up (0: 2000). */
  uint32_t command_timeout_ms;
  size_t max_pending; /* bound on commands in flight (0: 65536) */
  /* The link became usable (up=1: the command connection answers and the subscriber
   * connection has confirmed every channel subscribed when it connected) or was lost (up=0,
   * `why` for the log and health). Starts down and is never called twice in a row with the
   * same value, so the first call is up=1. May be NULL. */
  void (*on_state)(void *arg, int up, const char *why);
  /* A message on a subscribed channel (binary-safe; valid during the call). May be NULL. */
  void (*on_message)(void *arg, const char *channel, const uint8_t *data, size_t len);
  void *arg;
} pl_redis_config;

/* Creates a client on `loop` and starts connecting (nothing is reported before the loop
 * runs). Returns 0 and *out, or PL_ERR_INVALID (no host, port outside 1..65535, min > max),
 * PL_ERR_NOMEM, or PL_ERR_IO (a libuv timer could not be set up). */
int pl_redis_open(uv_loop_t *loop, const pl_redis_config *cfg, pl_redis **out);

/* Drops both connections. Commands still in flight fail (their callbacks run with reply NULL,
 * during this call or, when called from a reply callback, just after it returns); nothing else
 * is called after it returns. The memory goes once the loop has closed the handles. NULL is
 * ignored. */
void pl_redis_close(pl_redis *r);

/* 1 when up (commands are accepted), else 0. */
int pl_redis_is_up(const pl_redis *r);

/* For health and logs: "up", "resolving HOST (attempt N)[: last error]", "connecting (attempt
 * N)[: last error]", "retrying in N ms (attempt N): last error" or "closed". Valid until the
 * next call into r. */
const char *pl_redis_status(const pl_redis *r);

/* Connection attempts made so far (both connections count as one attempt). */
uint64_t pl_redis_attempts(const pl_redis *r);

/* Subscriptions are kept across reconnects; one added while connected is subscribed at once
 * (its messages arrive once Redis has confirmed it). Subscribing twice is one subscription.
 * Returns 0, PL_ERR_INVALID (empty name), PL_ERR_NOMEM or PL_ERR_CLOSED (closed). */
int pl_redis_subscribe(pl_redis *r, const char *channel);

/* Returns 0, PL_ERR_INVALID (no name), PL_ERR_NOT_FOUND (not subscribed) or PL_ERR_CLOSED. */
int pl_redis_unsubscribe(pl_redis *r, const char *channel);

/* Called exactly once per accepted command: with Redis's reply (an error reply is a reply:
 * check reply->type for REDIS_REPLY_ERROR) and err NULL, or with reply NULL and `err` saying
 * why (link lost, command timeout, closed). The reply is valid only during the call. */
typedef void (*pl_redis_reply_fn)(void *arg, const struct redisReply *reply, const char *err);

/* Sends argv[0..argc) (binary-safe: argvlen gives each length; NULL means each is a C
 * string). Returns 0 (cb will be called exactly once), or, without calling cb:
 * PL_ERR_INVALID (argc < 1, no argv or no cb), PL_ERR_CLOSED (the link is not up or r is
 * closed), PL_ERR_FULL (max_pending commands in flight) or PL_ERR_NOMEM. */
int pl_redis_command(pl_redis *r, pl_redis_reply_fn cb, void *arg, int argc,
                     const char *const *argv, const size_t *argvlen);

#endif
