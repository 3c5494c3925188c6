/* Commands on the command connection: the bound on commands in flight, their deadlines (one
 * timer on the oldest) and the PING that tells a new connection answers. */
#include "control/redis/redis_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "control/common/err.h"

void pl_redis__pending_init(pl_redis *r) {
  r->pending.prev = r->pending.next = &r->pending;
}

static void lost_in_callback(pl_redis_conn *c, redisAsyncContext *ac) {
  /* 0.14 answers NULL only while it frees the context itself. */
  char why[200];
  c->ac = NULL;
  c->ready = 0;
  snprintf(why, sizeof why, "%s: %s", c->name, pl_redis__errstr(ac, "connection lost"));
  pl_redis__lose(c->r, ac, why);
}

static void ping_cb(redisAsyncContext *ac, void *reply, void *privdata) {
  pl_redis_conn *c = privdata;
  redisReply *rep = reply;
  if (c->ac != ac)
    return;
  if (rep == NULL) {
    lost_in_callback(c, ac);
    return;
  }
  if (rep->type == REDIS_REPLY_ERROR) {
    char why[200];
    snprintf(why, sizeof why, "%s PING: %.*s", c->name, (int)rep->len, rep->str);
    pl_redis__lose(c->r, NULL, why); /* freed after this returns: hiredis defers it */
    return;
  }
  c->ready = 1;
  pl_redis__check_up(c->r);
}

int pl_redis__ping(pl_redis_conn *c) {
  if (redisAsyncCommand(c->ac, ping_cb, c, "PING") != REDIS_OK)
    return PL_ERR_NOMEM;
  return 0;
}

static void unlink_pending(pl_redis_pending *p) {
  p->prev->next = p->next;
  p->next->prev = p->prev;
  p->r->npending--;
}

static void cmd_cb(redisAsyncContext *ac, void *reply, void *privdata) {
  pl_redis_pending *p = privdata;
  pl_redis *r = p->r;
  char err[sizeof r->error];
  if (reply == NULL && r->cmd.ac == ac)
    lost_in_callback(&r->cmd, ac);
  snprintf(err, sizeof err, "%s", r->error);
  unlink_pending(p);
  p->cb(p->arg, reply, reply != NULL ? NULL : err);
  free(p);
}

void pl_redis__cmd_timer_cb(uv_timer_t *t) {
  pl_redis *r = t->data;
  if (r->state != PL_REDIS_UP || r->npending == 0)
    return;
  uint64_t now = uv_now(r->loop), deadline = r->pending.next->deadline_ms;
  if (deadline <= now) {
    pl_redis__lose(r, NULL, "command timeout");
    return;
  }
  if (uv_timer_start(&r->cmd_timer, pl_redis__cmd_timer_cb, deadline - now, 0) != 0)
    pl_redis__lose(r, NULL, "cannot arm the command timer"); /* never on an open timer */
}

int pl_redis_command(pl_redis *r, pl_redis_reply_fn cb, void *arg, int argc,
                     const char *const *argv, const size_t *argvlen) {
  if (r == NULL || cb == NULL || argc < 1 || argv == NULL)
    return PL_ERR_INVALID;
  if (r->state != PL_REDIS_UP)
    return PL_ERR_CLOSED;
  if (r->npending >= r->cfg.max_pending)
    return PL_ERR_FULL;
  pl_redis_pending *p = calloc(1, sizeof *p);
  if (p == NULL)
    return PL_ERR_NOMEM;
  *p = (pl_redis_pending){.r = r, .cb = cb, .arg = arg};
  p->deadline_ms = uv_now(r->loop) + r->cfg.command_timeout_ms;
  if (redisAsyncCommandArgv(r->cmd.ac, cmd_cb, p, argc, (const char **)argv, argvlen) != REDIS_OK) {
    int closing = r->cmd.ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING);
    free(p);
    return closing ? PL_ERR_CLOSED : PL_ERR_NOMEM;
  }
  p->prev = r->pending.prev;
  p->next = &r->pending;
  p->prev->next = p;
  r->pending.prev = p;
  r->npending++;
  /* A timer that cannot be armed (never on an open one) would leave commands unbounded. */
  if (!uv_is_active((uv_handle_t *)&r->cmd_timer) &&
      uv_timer_start(&r->cmd_timer, pl_redis__cmd_timer_cb, r->cfg.command_timeout_ms, 0) != 0)
    pl_redis__lose(r, NULL, "cannot arm the command timer");
  return 0;
}
