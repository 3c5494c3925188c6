/* A pairing's TCP link: the punch schedule on a timer, its connections, the winner, and the
 * messages waiting for the peer's acknowledgement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/tcp/tcp_int.h"
#include "agent/wire/frame.h"
#include "control/common/addr.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/common/log.h"

const char *pl_tcp_link_state_name(pl_tcp_link_state st) {
  switch (st) {
  case PL_TCP_LINK_TRYING: return "trying";
  case PL_TCP_LINK_CONNECTED: return "connected";
  case PL_TCP_LINK_FAILED: return "failed";
  default: return "lost";
  }
}

pl_tcp_link *pl_tcp_find(const pl_tcp_node *n, const uint8_t pairing[PL_TCP_PAIRING_LEN]) {
  for (pl_tcp_link *t = n->links; t; t = t->next)
    if (memcmp(t->pairing, pairing, PL_TCP_PAIRING_LEN) == 0)
      return t;
  return NULL;
}

/* Tells the observer, which may close the link: callers re-check t->closing. */
static void changed(pl_tcp_link *t) {
  pl_tcp_node *n = t->node;
  pl_log(t->state == PL_TCP_LINK_CONNECTED ? PL_LOG_INFO : PL_LOG_WARN, "tcp_path",
         "pairing=%s peer=%s state=%s detail=\"%s\"", t->pairing_hex, t->peer_hex,
         pl_tcp_link_state_name(t->state), t->detail);
  if (!t->closing && n->obs.on_link)
    n->obs.on_link(n->obs.arg, t);
}

static void fail_pending(pl_tcp_link *t, const char *why) {
  pl_tcp_send_req *r;
  while ((r = t->pending) != NULL) {
    t->pending = r->next;
    r->link = NULL;
    r->done(r, PL_ERR_CLOSED, why);
  }
}

static void close_conns(pl_tcp_link *t, const pl_tcp_conn *keep, const char *why) {
  pl_tcp_conn *next;
  for (pl_tcp_conn *c = t->conns; c; c = next) {
    next = c->next; /* the list changes only when a conn's memory goes, after its close */
    if (c != keep)
      pl_tcp__conn_close(c, why);
  }
}

/* --- the schedule ----------------------------------------------------------------------- */

static void flush(pl_tcp_link *t);

static void on_timer(uv_timer_t *h) {
  flush(h->data);
}

static void flush(pl_tcp_link *t) {
  uint64_t now = pl_clock_now_us();
  size_t idx;
  const char *why;
  if (t->closing || !t->punching)
    return;
  while (pl_tcp_punch_poll(&t->punch, now, &idx))
    if (pl_tcp__conn_connect(t, idx, &why) != 0)
      pl_tcp_punch_failed(&t->punch, idx, why, 0, now);
  if (pl_tcp_punch_expire(&t->punch, now)) {
    t->state = PL_TCP_LINK_FAILED;
    snprintf(t->detail, sizeof t->detail, "%s", t->punch.detail);
    close_conns(t, NULL, "punching timed out");
    changed(t);
    if (t->closing)
      return;
  }
  uint64_t d = pl_tcp_punch_deadline(&t->punch);
  if (d == UINT64_MAX)
    uv_timer_stop(&t->timer);
  else
    uv_timer_start(&t->timer, on_timer, d > now ? (d - now + 999) / 1000 : 0, 0);
}

/* --- life ------------------------------------------------------------------------------- */

static void release(pl_tcp_link *t) {
  if (--t->refs > 0)
    return;
  pl_tcp_node *n = t->node;
  memset(t->cfg.key, 0, sizeof t->cfg.key);
  free(t);
  n->handles--;
  if (n->handles == 0 && !n->open && n->closed)
    n->closed(n->closed_arg);
}

static void timer_closed(uv_handle_t *h) {
  release(h->data);
}

int pl_tcp_link_new(pl_tcp_node *n, const pl_tcp_link_config *cfg, pl_tcp_link **pt) {
  pl_frame_keys keys;
  struct sockaddr_storage usable[PL_TCP_PUNCH_MAX_REMOTE];
  size_t nusable = 0;
  if (!n->open)
    return PL_ERR_STATE;
  int rv = pl_frame_keys_derive(&keys, cfg->secret, cfg->secretlen);
  if (rv != 0)
    return rv;
  pl_tcp_link *old = pl_tcp_find(n, cfg->pairing);
  if (old)
    pl_tcp_link_close(old, "replaced by a new offer");
  pl_tcp_link *t = calloc(1, sizeof *t);
  if (t == NULL)
    return PL_ERR_NOMEM;
  t->node = n;
  memcpy(t->pairing, cfg->pairing, sizeof t->pairing);
  pl_hex_encode(t->pairing_hex, cfg->pairing, PL_TCP_PAIRING_LEN);
  pl_hex_encode(t->peer_hex, cfg->peer_id, PL_TCP_ID_LEN);
  memcpy(t->cfg.self_id, n->self_id, PL_TCP_ID_LEN);
  memcpy(t->cfg.peer_id, cfg->peer_id, PL_TCP_ID_LEN);
  memcpy(t->cfg.pairing, cfg->pairing, PL_TCP_PAIRING_LEN);
  memcpy(t->cfg.key, keys.frame, sizeof t->cfg.key);
  memset(&keys, 0, sizeof keys);
  t->cfg.controlling = cfg->controlling;
  t->created_us = cfg->start_us;
  t->data = cfg->data;
  /* One socket family per node: a connect from the port cannot reach the other family. */
  for (size_t i = 0; i < cfg->n_remote && i < PL_TCP_PUNCH_MAX_REMOTE; i++)
    if (cfg->remote[i].ss_family == n->bound.ss_family)
      usable[nusable++] = cfg->remote[i];
  uv_timer_init(n->loop, &t->timer);
  t->timer.data = t;
  t->refs = 1;
  n->handles++;
  t->next = n->links;
  n->links = t;
  if (pt)
    *pt = t;
  if (nusable == 0 ||
      pl_tcp_punch_init(&t->punch, usable, nusable, cfg->start_us, n->punch_timeout_us, 0) != 0) {
    t->state = PL_TCP_LINK_FAILED;
    snprintf(t->detail, sizeof t->detail, "%s",
             cfg->n_remote ? "no TCP candidates of this agent's address family"
                           : "no TCP candidates from the peer");
    changed(t);
    return 0;
  }
  t->punching = 1;
  t->state = PL_TCP_LINK_TRYING;
  snprintf(t->detail, sizeof t->detail, "connecting");
  flush(t);
  return 0;
}

void pl_tcp_link_close(pl_tcp_link *t, const char *why) {
  pl_tcp_node *n = t->node;
  if (t->closing)
    return;
  t->closing = 1;
  for (pl_tcp_link **pl = &n->links; *pl; pl = &(*pl)->next) {
    if (*pl == t) {
      *pl = t->next;
      break;
    }
  }
  fail_pending(t, why);
  close_conns(t, NULL, why);
  uv_close((uv_handle_t *)&t->timer, timer_closed);
}

void pl_tcp__link_conn_gone(pl_tcp_link *t, pl_tcp_conn *c) {
  for (pl_tcp_conn **pc = &t->conns; *pc; pc = &(*pc)->next) {
    if (*pc == c) {
      *pc = c->next;
      break;
    }
  }
  if (t->winner == c)
    t->winner = NULL;
  release(t);
}

/* --- what the connections say ----------------------------------------------------------- */

int pl_tcp__link_bind(pl_tcp_node *n, pl_tcp_conn *c, const pl_tcp_hello *peer,
                      pl_tcp_session_config *cfg) {
  pl_tcp_link *t = pl_tcp_find(n, peer->pairing);
  if (t == NULL || t->closing || memcmp(t->cfg.peer_id, peer->sender, PL_TCP_ID_LEN) != 0)
    return PL_ERR_NOT_FOUND;
  for (pl_tcp_conn **pc = &n->unbound; *pc; pc = &(*pc)->next) {
    if (*pc == c) {
      *pc = c->next;
      break;
    }
  }
  n->handles--; /* the link holds it now */
  c->link = t;
  c->next = t->conns;
  t->conns = c;
  t->refs++;
  *cfg = t->cfg;
  pl_tcp__link_conn_up(t, c);
  return 0;
}

void pl_tcp__link_conn_up(pl_tcp_link *t, pl_tcp_conn *c) {
  char a[80];
  pl_addr_format((const struct sockaddr *)&c->peer, a, sizeof a);
  pl_log(PL_LOG_DEBUG, "tcp_conn", "pairing=%s peer=%s remote=%s %s", t->pairing_hex, t->peer_hex,
         a, c->target == PL_TCP__NO_TARGET ? "accepted" : "connected");
  if (t->punching)
    pl_tcp_punch_up(&t->punch);
}

static void won(pl_tcp_link *t, pl_tcp_conn *c) {
  t->winner = c;
  if (t->punching)
    pl_tcp_punch_won(&t->punch);
  uv_timer_stop(&t->timer);
  t->state = PL_TCP_LINK_CONNECTED;
  t->local = c->local;
  t->remote = c->peer;
  t->connect_us = pl_clock_now_us() - t->created_us;
  snprintf(t->detail, sizeof t->detail, "connected");
  close_conns(t, c, "another connection was selected");
  changed(t);
}

void pl_tcp__link_conn_state(pl_tcp_link *t, pl_tcp_conn *c, pl_tcp_session_state st) {
  if (t->winner && t->winner != c) {
    pl_tcp__conn_close(c, "another connection was selected");
    return;
  }
  if (st == PL_TCP_SESSION_AUTHED && t->cfg.controlling) {
    /* The first connection to authenticate wins; SELECT tells the peer which. */
    if (pl_tcp_session_select(&c->s, pl_clock_now_us()) != 0)
      return; /* the write failed: the session has failed and its reader reports it */
    won(t, c);
  } else if (st == PL_TCP_SESSION_SELECTED && !t->cfg.controlling) {
    won(t, c);
  }
}

static void lost(pl_tcp_link *t, const char *why) {
  t->state = PL_TCP_LINK_LOST;
  t->winner = NULL;
  if (strncmp(why, "closed by the peer", 18) == 0)
    snprintf(t->detail, sizeof t->detail, "%s", why);
  else
    snprintf(t->detail, sizeof t->detail, "connection lost: %s", why);
  fail_pending(t, t->detail);
  if (!t->closing)
    changed(t);
}

void pl_tcp__link_conn_failed(pl_tcp_link *t, pl_tcp_conn *c, int rv, const char *why,
                              int refused) {
  if (c == t->winner) {
    lost(t, why);
    return;
  }
  if (rv == PL_ERR_AUTH && t->punching) {
    char a[80];
    pl_addr_format((const struct sockaddr *)&c->peer, a, sizeof a);
    pl_log(PL_LOG_WARN, "tcp_auth_failed", "pairing=%s remote=%s why=\"%s\"", t->pairing_hex, a,
           why);
    pl_tcp_punch_auth_failed(&t->punch, why);
  }
  if (c->target != PL_TCP__NO_TARGET && t->punching && !t->closing) {
    pl_tcp_punch_failed(&t->punch, c->target, why, refused, pl_clock_now_us());
    c->target = PL_TCP__NO_TARGET; /* reported once */
    flush(t);
  }
}

void pl_tcp__link_message(pl_tcp_link *t, const uint8_t *data, size_t len) {
  pl_tcp_node *n = t->node;
  t->counters.messages_received++;
  t->counters.bytes_received += len;
  if (n->obs.on_message)
    n->obs.on_message(n->obs.arg, t, data, len);
}

void pl_tcp__link_ack(pl_tcp_link *t, uint64_t seq) {
  pl_tcp_send_req *r;
  while ((r = t->pending) != NULL && r->seq <= seq && !t->closing) {
    t->pending = r->next;
    r->link = NULL;
    t->counters.messages_acked++;
    r->done(r, 0, NULL);
  }
}

void pl_tcp__link_bulk(pl_tcp_link *t, const uint8_t *data, size_t len, size_t offset,
                       size_t total) {
  pl_tcp_node *n = t->node;
  t->counters.bytes_received += len;
  if (offset + len == total)
    t->counters.bulk_received++;
  if (n->bulk.on_bulk)
    n->bulk.on_bulk(n->bulk.arg, t, data, len, offset, total);
}

void pl_tcp__link_drained(pl_tcp_link *t) {
  pl_tcp_node *n = t->node;
  if (!t->want_writable || t->winner == NULL || t->winner->queued >= PL_TCP_QUEUE_LOW)
    return;
  t->want_writable = 0;
  if (n->bulk.on_writable)
    n->bulk.on_writable(n->bulk.arg, t);
}

/* --- sending ---------------------------------------------------------------------------- */

/* A write on the winner failed: the connection is lost. */
static int write_failed(pl_tcp_link *t, int rv) {
  pl_tcp_conn *c = t->winner;
  if (rv == PL_ERR_STATE || rv == PL_ERR_TOO_BIG || rv == PL_ERR_INVALID)
    return rv;
  char why[sizeof c->s.why];
  snprintf(why, sizeof why, "%s", c->s.why);
  lost(t, why);
  pl_tcp__conn_close(c, why);
  return PL_ERR_IO;
}

int pl_tcp_link_send(pl_tcp_link *t, const uint8_t *data, size_t len, pl_tcp_send_req *req) {
  uint64_t seq;
  if (t->closing || t->state != PL_TCP_LINK_CONNECTED || t->winner == NULL)
    return PL_ERR_STATE;
  if (len > PL_TCP_MAX_RECORD)
    return PL_ERR_TOO_BIG;
  if (t->winner->queued >= PL_TCP_QUEUE_MAX)
    return PL_ERR_FULL;
  int rv = pl_tcp_session_send(&t->winner->s, data, len, pl_clock_now_us(), &seq);
  if (rv != 0)
    return write_failed(t, rv);
  req->seq = seq;
  req->link = t;
  req->next = NULL;
  pl_tcp_send_req **tail = &t->pending;
  while (*tail)
    tail = &(*tail)->next;
  *tail = req;
  t->counters.messages_sent++;
  t->counters.bytes_sent += len;
  return 0;
}

void pl_tcp_send_cancel(pl_tcp_send_req *req) {
  pl_tcp_link *t = req->link;
  if (t == NULL)
    return;
  for (pl_tcp_send_req **pr = &t->pending; *pr; pr = &(*pr)->next) {
    if (*pr == req) {
      *pr = req->next;
      break;
    }
  }
  req->link = NULL;
}

int pl_tcp_link_bulk(pl_tcp_link *t, const uint8_t *data, size_t len) {
  if (t->closing || t->state != PL_TCP_LINK_CONNECTED || t->winner == NULL)
    return PL_ERR_STATE;
  if (t->winner->queued >= PL_TCP_QUEUE_HIGH) {
    t->want_writable = 1;
    return PL_ERR_FULL;
  }
  int rv = pl_tcp_session_bulk(&t->winner->s, data, len, pl_clock_now_us());
  if (rv != 0)
    return write_failed(t, rv);
  t->counters.bulk_sent++;
  t->counters.bytes_sent += len;
  return 0;
}

void pl_tcp_link_counters(const pl_tcp_link *t, pl_tcp_counters *out) {
  *out = t->counters;
  out->queued = t->winner ? t->winner->queued : 0;
}
