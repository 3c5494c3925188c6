/* The client's life: resolve, connect both connections, up, lost, back off, again; closing.
 *
 * hiredis 0.14 lifetimes, which shape everything here: a context whose connect fails, or
 * which disconnects, is freed by hiredis itself right after our callback returns (and its
 * pending reply callbacks run first, with a NULL reply), so it may not be freed again; a
 * context may be freed from its own reply callbacks (hiredis defers it) but never from its
 * connect or disconnect callback. So user code is only ever called from reply callbacks and
 * our timers, a dropped context is detached (conn->ac = NULL) before anything else, and the
 * memory goes in our handles' close callbacks, after every hiredis stack has unwound. */
#include "control/redis/redis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/log.h"
#include "control/common/random.h"

static void start_attempt(pl_redis *r);

const char *pl_redis__errstr(const redisAsyncContext *ac, const char *otherwise) {
  if (ac != NULL && ac->c.err != 0 && ac->c.errstr[0] != '\0')
    return ac->c.errstr;
  if (ac != NULL && ac->errstr != NULL && ac->errstr[0] != '\0')
    return ac->errstr;
  return otherwise;
}

static void maybe_free(pl_redis *r) {
  if (r->state != PL_REDIS_CLOSED || r->open > 0)
    return;
  pl_redis__channels_free(r);
  free(r->host);
  free(r);
}

static void handle_closed(uv_handle_t *h) {
  pl_redis *r = h->data;
  r->open--;
  maybe_free(r);
}

static redisAsyncContext *detach(pl_redis_conn *c) {
  redisAsyncContext *ac = c->ac;
  c->ac = NULL;
  c->ready = 0;
  return ac;
}

/* Frees a detached context unless hiredis is already freeing it. Its pending reply callbacks
 * run from here (with NULL), and so may user code. */
static void free_ctx(redisAsyncContext *ac, const redisAsyncContext *dying) {
  if (ac != NULL && ac != dying)
    redisAsyncFree(ac);
}

static uint32_t backoff_ms(pl_redis *r) {
  uint64_t d = r->cfg.backoff_min_ms;
  for (uint32_t i = 1; i < r->failures && d < r->cfg.backoff_max_ms; i++)
    d *= 2;
  if (d > r->cfg.backoff_max_ms)
    d = r->cfg.backoff_max_ms;
  uint32_t rnd = 0;
  if (pl_random_bytes(&rnd, sizeof rnd) != 0)
    rnd = 0; /* no jitter beats no retry */
  return (uint32_t)(d / 2 + (d - d / 2) * (uint64_t)rnd / UINT32_MAX);
}

static void retry_cb(uv_timer_t *t) {
  pl_redis *r = t->data;
  if (r->state == PL_REDIS_WAIT)
    start_attempt(r);
}

static void deadline_cb(uv_timer_t *t) {
  pl_redis *r = t->data;
  if (r->state == PL_REDIS_CONNECTING)
    pl_redis__lose(r, NULL, "connect timeout");
}

static void schedule_retry(pl_redis *r) {
  uint32_t ms = backoff_ms(r);
  r->state = PL_REDIS_WAIT;
  snprintf(r->status, sizeof r->status, "retrying in %u ms (attempt %llu): %s", ms,
           (unsigned long long)r->attempts, r->error);
  int rv = uv_timer_start(&r->timer, retry_cb, ms, 0);
  if (rv != 0) /* cannot happen on an initialised timer; say so rather than stall silently */
    pl_log(PL_LOG_ERROR, "redis_retry_failed", "host=%s port=%d error=\"%s\"", r->host, r->cfg.port,
           uv_strerror(rv));
}

void pl_redis__lose(pl_redis *r, const redisAsyncContext *dying, const char *why) {
  if (r->state != PL_REDIS_CONNECTING && r->state != PL_REDIS_UP)
    return;
  int was_up = r->state == PL_REDIS_UP;
  if (why != r->error)
    snprintf(r->error, sizeof r->error, "%s", why);
  redisAsyncContext *cmd = detach(&r->cmd), *sub = detach(&r->sub);
  for (size_t i = 0; i < r->nchannels; i++)
    r->channels[i].confirmed = 0;
  r->failures++;
  uv_timer_stop(&r->cmd_timer);
  pl_log(was_up ? PL_LOG_WARN : PL_LOG_INFO, was_up ? "redis_down" : "redis_connect_failed",
         "host=%s port=%d attempt=%llu error=\"%s\"", r->host, r->cfg.port,
         (unsigned long long)r->attempts, r->error);
  schedule_retry(r);
  if (was_up && r->reported_up) {
    r->reported_up = 0;
    if (r->cfg.on_state)
      r->cfg.on_state(r->cfg.arg, 0, r->error);
  }
  /* Detached above, so whatever the callbacks below do, these are freed exactly once. */
  free_ctx(sub, dying);
  free_ctx(cmd, dying);
}

void pl_redis__check_up(pl_redis *r) {
  if (r->state != PL_REDIS_CONNECTING || !r->cmd.ready || !r->sub.ready ||
      !pl_redis__all_confirmed(r))
    return;
  r->state = PL_REDIS_UP;
  r->failures = 0;
  uv_timer_stop(&r->timer);
  pl_log(PL_LOG_INFO, "redis_up", "host=%s port=%d attempt=%llu channels=%zu", r->host, r->cfg.port,
         (unsigned long long)r->attempts, r->nchannels);
  if (!r->reported_up) {
    r->reported_up = 1;
    if (r->cfg.on_state)
      r->cfg.on_state(r->cfg.arg, 1, "up");
  }
}

static void connected_cb(const redisAsyncContext *ac, int status) {
  pl_redis_conn *c = ac->data;
  if (status == REDIS_OK || c->ac != ac)
    return;     /* readiness comes with the PING's reply */
  c->ac = NULL; /* hiredis frees it after this returns */
  char why[200];
  snprintf(why, sizeof why, "%s connect: %s", c->name, pl_redis__errstr(ac, "failed"));
  pl_redis__lose(c->r, ac, why);
}

static void disconnected_cb(const redisAsyncContext *ac, int status) {
  pl_redis_conn *c = ac->data;
  (void)status;
  if (c->ac != ac)
    return; /* one we dropped */
  c->ac = NULL;
  char why[200];
  snprintf(why, sizeof why, "%s: %s", c->name, pl_redis__errstr(ac, "disconnected"));
  pl_redis__lose(c->r, ac, why);
}

/* Starts one connection to the numeric address `ip`. Returns 0 or a reason. */
static const char *conn_start(pl_redis_conn *c, const char *ip) {
  pl_redis *r = c->r;
  redisAsyncContext *ac = redisAsyncConnect(ip, r->cfg.port);
  if (ac == NULL)
    return "out of memory";
  if (ac->err != 0) {
    snprintf(r->error, sizeof r->error, "%s connect: %s", c->name, pl_redis__errstr(ac, "failed"));
    redisAsyncFree(ac); /* not attached: no callbacks */
    return r->error;
  }
  ac->data = c;
  if (redisEnableKeepAlive(&ac->c) != REDIS_OK || pl_redis__attach(ac, r->loop) != 0 ||
      redisAsyncSetConnectCallback(ac, connected_cb) != REDIS_OK ||
      redisAsyncSetDisconnectCallback(ac, disconnected_cb) != REDIS_OK) {
    redisAsyncFree(ac); /* never connected: no disconnect callback */
    return "cannot set up the connection";
  }
  c->ac = ac;
  c->ready = 0;
  /* 0.14 starts connecting on the first write, so the PING also gets the socket going. */
  if (pl_redis__ping(c) != 0)
    return "cannot queue PING";
  return NULL;
}

static void connect_to(pl_redis *r, const char *ip) {
  r->state = PL_REDIS_CONNECTING;
  snprintf(r->status, sizeof r->status, "connecting (attempt %llu)%s%s",
           (unsigned long long)r->attempts, r->error[0] ? ": " : "", r->error);
  int rv = uv_timer_start(&r->timer, deadline_cb, r->cfg.command_timeout_ms, 0);
  const char *err = rv != 0 ? uv_strerror(rv) : conn_start(&r->cmd, ip);
  if (err == NULL)
    err = conn_start(&r->sub, ip);
  if (err != NULL) {
    char why[200];
    snprintf(why, sizeof why, "%s", err);
    pl_redis__lose(r, NULL, why);
    return;
  }
  if (r->state == PL_REDIS_CONNECTING && pl_redis__subscribe_all(r) != 0)
    pl_redis__lose(r, NULL, "cannot queue SUBSCRIBE");
}

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  pl_redis *r = req->data;
  r->open--;
  char ip[64] = "";
  struct addrinfo *a = res;
  size_t n = 0;
  for (struct addrinfo *p = res; p; p = p->ai_next)
    n++;
  /* Each attempt takes the next address. */
  for (size_t i = 0; n > 0 && i < r->attempts % n; i++)
    a = a->ai_next;
  if (status == 0 && a != NULL) {
    if (a->ai_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)a->ai_addr, ip, sizeof ip);
    else
      uv_ip4_name((struct sockaddr_in *)a->ai_addr, ip, sizeof ip);
  }
  uv_freeaddrinfo(res);
  if (r->state == PL_REDIS_CLOSED) {
    maybe_free(r);
    return;
  }
  if (ip[0] == '\0') {
    snprintf(r->error, sizeof r->error, "resolve %s: %s", r->host,
             status != 0 ? uv_strerror(status) : "no address");
    r->state = PL_REDIS_CONNECTING; /* so that lose reports and backs off */
    pl_redis__lose(r, NULL, r->error);
    return;
  }
  connect_to(r, ip);
}

static void start_attempt(pl_redis *r) {
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  r->attempts++;
  r->state = PL_REDIS_RESOLVING;
  snprintf(r->status, sizeof r->status, "resolving %s (attempt %llu)%s%s", r->host,
           (unsigned long long)r->attempts, r->error[0] ? ": " : "", r->error);
  int rv = uv_getaddrinfo(r->loop, &r->gai, resolved_cb, r->host, NULL, &hints);
  if (rv != 0) {
    snprintf(r->error, sizeof r->error, "resolve %s: %s", r->host, uv_strerror(rv));
    r->state = PL_REDIS_CONNECTING;
    pl_redis__lose(r, NULL, r->error);
    return;
  }
  r->open++;
}

int pl_redis_open(uv_loop_t *loop, const pl_redis_config *cfg, pl_redis **out) {
  if (loop == NULL || cfg == NULL || out == NULL || cfg->host == NULL || cfg->host[0] == '\0' ||
      cfg->port <= 0 || cfg->port > 65535)
    return PL_ERR_INVALID;
  pl_redis *r = calloc(1, sizeof *r);
  if (r == NULL)
    return PL_ERR_NOMEM;
  r->loop = loop;
  r->cfg = *cfg;
  r->cfg.backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms : 200;
  r->cfg.backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : 5000;
  r->cfg.command_timeout_ms = cfg->command_timeout_ms ? cfg->command_timeout_ms : 2000;
  r->cfg.max_pending = cfg->max_pending ? cfg->max_pending : 65536;
  int rv = PL_ERR_INVALID;
  if (r->cfg.backoff_min_ms > r->cfg.backoff_max_ms)
    goto fail_cfg;
  rv = PL_ERR_NOMEM;
  r->host = strdup(cfg->host);
  if (r->host == NULL)
    goto fail_cfg;
  r->cfg.host = r->host;
  r->cmd = (pl_redis_conn){.r = r, .name = "cmd"};
  r->sub = (pl_redis_conn){.r = r, .name = "sub"};
  pl_redis__pending_init(r);
  rv = PL_ERR_IO;
  if (uv_timer_init(loop, &r->timer) != 0)
    goto fail_host;
  r->timer.data = r;
  r->open++;
  if (uv_timer_init(loop, &r->cmd_timer) != 0)
    goto fail_timer;
  r->cmd_timer.data = r;
  r->open++;
  r->gai.data = r;
  /* From the loop, so that nothing is called back before pl_redis_open returns. */
  r->state = PL_REDIS_WAIT;
  snprintf(r->status, sizeof r->status, "connecting");
  if (uv_timer_start(&r->timer, retry_cb, 0, 0) != 0)
    goto fail_cmd_timer;
  *out = r;
  return 0;

fail_cmd_timer:
  /* Handles, once initialised, are freed in their close callbacks. */
  r->state = PL_REDIS_CLOSED;
  uv_close((uv_handle_t *)&r->cmd_timer, handle_closed);
  uv_close((uv_handle_t *)&r->timer, handle_closed);
  return rv;
fail_timer:
  r->state = PL_REDIS_CLOSED;
  uv_close((uv_handle_t *)&r->timer, handle_closed);
  return rv;
fail_host:
  free(r->host);
fail_cfg:
  free(r);
  return rv;
}

void pl_redis_close(pl_redis *r) {
  if (r == NULL || r->state == PL_REDIS_CLOSED)
    return;
  int was_up = r->state == PL_REDIS_UP;
  if (r->state == PL_REDIS_RESOLVING)
    uv_cancel((uv_req_t *)&r->gai); /* its callback still runs (ECANCELED or done) */
  r->state = PL_REDIS_CLOSED;
  snprintf(r->error, sizeof r->error, "closed");
  redisAsyncContext *cmd = detach(&r->cmd), *sub = detach(&r->sub);
  uv_close((uv_handle_t *)&r->timer, handle_closed);
  uv_close((uv_handle_t *)&r->cmd_timer, handle_closed);
  pl_log(PL_LOG_INFO, "redis_closed", "host=%s port=%d was_up=%d pending=%zu", r->host, r->cfg.port,
         was_up, r->npending);
  /* From inside one of their reply callbacks hiredis defers these until it returns. */
  free_ctx(sub, NULL);
  free_ctx(cmd, NULL);
}

int pl_redis_is_up(const pl_redis *r) {
  return r != NULL && r->state == PL_REDIS_UP;
}

const char *pl_redis_status(const pl_redis *r) {
  if (r->state == PL_REDIS_UP)
    return "up";
  if (r->state == PL_REDIS_CLOSED)
    return "closed";
  return r->status;
}

uint64_t pl_redis_attempts(const pl_redis *r) {
  return r->attempts;
}
