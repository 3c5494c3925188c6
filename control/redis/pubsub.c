/* Subscriptions: the wanted channels, kept across reconnects, and the subscriber connection's
 * replies (confirmations and messages). */
#include "control/redis/redis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/log.h"

static pl_redis_channel *find(pl_redis *r, const char *name) {
  for (size_t i = 0; i < r->nchannels; i++)
    if (strcmp(r->channels[i].name, name) == 0)
      return &r->channels[i];
  return NULL;
}

static int connected(const pl_redis *r) {
  return r->sub.ac != NULL && (r->state == PL_REDIS_CONNECTING || r->state == PL_REDIS_UP);
}

static void sub_cb(redisAsyncContext *ac, void *reply, void *privdata);

static int send_sub(pl_redis *r, const char *verb, pl_redis_channel *ch, const char *name) {
  const char *argv[2] = {verb, name};
  if (ch != NULL)
    ch->confirmed = 0;
  return redisAsyncCommandArgv(r->sub.ac, sub_cb, &r->sub, 2, argv, NULL) == REDIS_OK
             ? 0
             : PL_ERR_CLOSED;
}

static int is_str(const redisReply *e) {
  return e->type == REDIS_REPLY_STRING;
}

static void sub_cb(redisAsyncContext *ac, void *reply, void *privdata) {
  pl_redis_conn *c = privdata;
  pl_redis *r = c->r;
  redisReply *rep = reply;
  if (c->ac != ac)
    return;
  if (rep == NULL) { /* hiredis is freeing it */
    char why[200];
    c->ac = NULL;
    snprintf(why, sizeof why, "sub: %s", pl_redis__errstr(ac, "connection lost"));
    pl_redis__lose(r, ac, why);
    return;
  }
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 || !is_str(rep->element[0]) ||
      !is_str(rep->element[1]))
    return;
  const char *kind = rep->element[0]->str, *name = rep->element[1]->str;
  pl_redis_channel *ch = find(r, name);
  if (strcmp(kind, "message") == 0) {
    if (ch != NULL && is_str(rep->element[2]) && r->cfg.on_message)
      r->cfg.on_message(r->cfg.arg, name, (const uint8_t *)rep->element[2]->str,
                        rep->element[2]->len);
  } else if (strcmp(kind, "subscribe") == 0) {
    if (ch != NULL)
      ch->confirmed = 1;
    pl_redis__check_up(r);
  } else if (strcmp(kind, "unsubscribe") == 0 && ch != NULL) {
    /* Unsubscribed and subscribed again before Redis answered: 0.14 dropped our callback
     * with the first answer, so subscribe once more. */
    if (send_sub(r, "SUBSCRIBE", ch, ch->name) != 0)
      pl_redis__lose(r, NULL, "sub: cannot queue SUBSCRIBE");
  }
}

int pl_redis__subscribe_all(pl_redis *r) {
  for (size_t i = 0; i < r->nchannels; i++)
    if (send_sub(r, "SUBSCRIBE", &r->channels[i], r->channels[i].name) != 0)
      return PL_ERR_CLOSED;
  return 0;
}

int pl_redis__all_confirmed(const pl_redis *r) {
  for (size_t i = 0; i < r->nchannels; i++)
    if (!r->channels[i].confirmed)
      return 0;
  return 1;
}

void pl_redis__channels_free(pl_redis *r) {
  for (size_t i = 0; i < r->nchannels; i++)
    free(r->channels[i].name);
  free(r->channels);
  r->channels = NULL;
  r->nchannels = r->capchannels = 0;
}

int pl_redis_subscribe(pl_redis *r, const char *channel) {
  if (r == NULL || channel == NULL || channel[0] == '\0')
    return PL_ERR_INVALID;
  if (r->state == PL_REDIS_CLOSED)
    return PL_ERR_CLOSED;
  if (find(r, channel) != NULL)
    return 0;
  if (r->nchannels == r->capchannels) {
    size_t cap = r->capchannels ? 2 * r->capchannels : 4;
    pl_redis_channel *grown = realloc(r->channels, cap * sizeof *grown);
    if (grown == NULL)
      return PL_ERR_NOMEM;
    r->channels = grown;
    r->capchannels = cap;
  }
  pl_redis_channel *ch = &r->channels[r->nchannels];
  ch->name = strdup(channel);
  if (ch->name == NULL)
    return PL_ERR_NOMEM;
  ch->confirmed = 0;
  r->nchannels++;
  pl_log(PL_LOG_DEBUG, "redis_subscribe", "channel=\"%s\" connected=%d", channel, connected(r));
  if (connected(r) && send_sub(r, "SUBSCRIBE", ch, ch->name) != 0)
    pl_redis__lose(r, NULL, "sub: cannot queue SUBSCRIBE");
  return 0;
}

int pl_redis_unsubscribe(pl_redis *r, const char *channel) {
  if (r == NULL || channel == NULL)
    return PL_ERR_INVALID;
  if (r->state == PL_REDIS_CLOSED)
    return PL_ERR_CLOSED;
  pl_redis_channel *ch = find(r, channel);
  if (ch == NULL)
    return PL_ERR_NOT_FOUND;
  char *name = ch->name;
  *ch = r->channels[--r->nchannels];
  pl_log(PL_LOG_DEBUG, "redis_unsubscribe", "channel=\"%s\" connected=%d", name, connected(r));
  /* 0.14 refuses UNSUBSCRIBE on a connection with no subscription yet: nothing to undo. */
  if (connected(r) && (r->sub.ac->c.flags & REDIS_SUBSCRIBED) &&
      send_sub(r, "UNSUBSCRIBE", NULL, name) != 0)
    pl_redis__lose(r, NULL, "sub: cannot queue UNSUBSCRIBE");
  free(name);
  return 0;
}
