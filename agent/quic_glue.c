/* The QUIC tunnel wired into the agent: one connection (agent/quic/quic.h) per link, its packets
 * in QUIC extension frames (0x25) through the link's current path, one libuv timer per link
 * from pl_quic_deadline, writes batched per loop iteration (UDP GSO where the kernel has it),
 * QuicChanged events, and waiters for the users of streams (Send QUIC_STREAM, SendFile).
 *
 * Roles: the side with the smaller agent ID is the QUIC client. It connects when the link's
 * path first comes up and again, with backoff (1 s doubling to 30 s), whenever the connection
 * ended while the link lives; the server accepts a client Initial for the link. An Initial that
 * starts another connection while one is up makes a candidate beside it, which replaces it
 * only once its own handshake (pinned) completes: a forged Initial (the pairing ID is no
 * secret) cannot end a working connection. Packets travel inside peerlink frames,
 * so a relay/direct switch never reaches QUIC (docs/protocol.md, "QUIC"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/common/log.h"

#define FRAME_VERSION 1
#define FLUSH_MAX_PKTS 64 /* per link and loop iteration: the rest waits one iteration */
#define RETRY_FIRST_US 1000000
#define RETRY_MAX_US 30000000
#define IDLE_MIN_US 30000000
#define HANDSHAKE_US 10000000
#define SLOT_MAX (PL_FRAME_RELAY_OVERHEAD + PL_FRAME_EXT_PREFIX + PL_QUIC_MAX_PACKET)
#define BATCH_BYTES (PL_TRANSPORT_BATCH_MAX * SLOT_MAX)

typedef struct qlink qlink;

struct pl_agent_quic_waiter {
  qlink *ql;
  pl_agent_quic_ready_fn ready;
  void *arg;
  uint64_t deadline_us;
  pl_agent_quic_waiter *next;
};

struct qlink {
  pl_agent_quic *aq;
  pl_link *link;
  pl_quic *q;
  pl_quic *cand; /* server: a new connection the client started, until it is established */
  int client;
  int attempted; /* a connection was tried: GetStatus shows QuicState from now on */
  int dirty;     /* pl_quic_write has something: flush in the idle callback */
  char detail[PL_QUIC_DETAIL_MAX]; /* why the last connection ended ("" before any) */
  int auth_failed;                 /* ...and whether over a certificate */
  uint64_t retry_at, retry_delay;  /* client: when to connect again */
  uv_timer_t timer;
  pl_agent_quic_waiter *waiters;
  qlink *next;
};

struct pl_agent_quic {
  pl_agent *a;
  pl_quic_tls *tls;
  pl_quic_callbacks cb;
  uint64_t idle_us, keepalive_us;
  uv_idle_t idle;
  int idle_on;
  qlink *head;
  struct {
    pl_agent_quic_open_fn open;
    void *arg;
  } handlers[PL_QUIC_STREAM_KINDS];
  uint8_t *batch;
};

static void arm(qlink *ql);

/* --- events ------------------------------------------------------------------------------ */

/* `detail` (cap bytes) holds the detail text the state points to. */
static void fill_state(const qlink *ql, Peerlink__V1__QuicState *qs, char *detail, size_t cap) {
  pl_quic_info info;
  peerlink__v1__quic_state__init(qs);
  qs->client = ql->client;
  qs->detail = detail;
  snprintf(detail, cap, "%s", ql->detail);
  if (ql->q == NULL)
    return;
  pl_quic_get_info(ql->q, &info);
  qs->established = info.established;
  qs->rtt_us = info.rtt_us;
  qs->streams_open = info.streams_open;
  if (!info.established && !info.closed)
    snprintf(detail, cap, "%s", info.detail); /* e.g. "handshake in progress" */
}

static void publish(qlink *ql) {
  pl_agent *a = ql->aq->a;
  Peerlink__V1__QuicState qs;
  Peerlink__V1__QuicChanged qc = PEERLINK__V1__QUIC_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  char detail[PL_QUIC_DETAIL_MAX];
  if (a->closing)
    return;
  fill_state(ql, &qs, detail, sizeof detail);
  qc.peer_id = ql->link->peer_id;
  qc.state = &qs;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_QUIC;
  ev.quic = &qc;
  pl_events_publish(&a->events, &ev, NULL);
}

/* --- waiters ----------------------------------------------------------------------------- */

/* Answers every waiter of ql: with the connection, or with why there is none. */
static void resolve(qlink *ql, pl_quic *q, pl_rpc_status code, const char *why) {
  pl_agent_quic_waiter *w = ql->waiters;
  ql->waiters = NULL;
  while (w) {
    pl_agent_quic_waiter *next = w->next;
    w->ready(w->arg, q, code, why);
    free(w);
    w = next;
  }
}

static void expire_waiters(qlink *ql, uint64_t now) {
  char why[PL_QUIC_DETAIL_MAX + 80];
  for (pl_agent_quic_waiter **pw = &ql->waiters; *pw;) {
    pl_agent_quic_waiter *w = *pw;
    if (w->deadline_us > now) {
      pw = &w->next;
      continue;
    }
    *pw = w->next;
    snprintf(why, sizeof why, "the QUIC connection to %s is not established%s%s", ql->link->peer_id,
             ql->detail[0] ? ": " : " yet", ql->detail);
    w->ready(w->arg, NULL, PL_RPC_DEADLINE_EXCEEDED, why);
    free(w);
  }
}

/* --- connections ------------------------------------------------------------------------- */

static int pin_of(const qlink *ql, uint8_t pin[PL_QUIC_FINGERPRINT_LEN]) {
  return pl_hex_decode(pin, PL_QUIC_FINGERPRINT_LEN, ql->link->peer_fingerprint);
}

static void fill_config(qlink *ql, pl_quic_config *cfg, uint64_t now) {
  memset(cfg, 0, sizeof *cfg);
  cfg->client = ql->client;
  cfg->tls = ql->aq->tls;
  cfg->now = now;
  cfg->idle_timeout_us = ql->aq->idle_us;
  cfg->keepalive_us = ql->aq->keepalive_us;
  cfg->handshake_timeout_us = HANDSHAKE_US;
  cfg->cb = &ql->aq->cb;
  cfg->arg = ql;
}

/* A new connection into *slot: the client's own, or the server's from the client's first
 * packet. */
static int start_in(qlink *ql, pl_quic **slot, const uint8_t *first, size_t firstlen) {
  pl_quic_config cfg;
  uint64_t now = pl_clock_now_us();
  fill_config(ql, &cfg, now);
  ql->attempted = 1;
  if (pin_of(ql, cfg.pin) != 0) {
    snprintf(ql->detail, sizeof ql->detail,
             "no certificate fingerprint for the peer to pin: QUIC refused");
    ql->auth_failed = 1;
    return PL_ERR_AUTH;
  }
  int rv = pl_quic_new(slot, &cfg, first, firstlen);
  if (rv != 0) {
    if (first == NULL)
      snprintf(ql->detail, sizeof ql->detail, "cannot start QUIC: %s", pl_strerror(rv));
    return rv;
  }
  pl_log(PL_LOG_INFO, "quic_start", "pairing=%s peer=%s role=%s", ql->link->pairing_id,
         ql->link->peer_id, ql->client ? "client" : "server");
  ql->dirty = 1;
  return 0;
}

static int start(qlink *ql, const uint8_t *first, size_t firstlen) {
  return start_in(ql, &ql->q, first, firstlen);
}

static void kick(pl_agent_quic *aq);

static void connect_now(qlink *ql) {
  if (ql->q || !ql->client || ql->link->path.kind == PL_PATH_NONE)
    return;
  if (start(ql, NULL, 0) == 0)
    kick(ql->aq);
  else
    resolve(ql, NULL, ql->auth_failed ? PL_RPC_UNAUTHENTICATED : PL_RPC_UNAVAILABLE, ql->detail);
}

static qlink *find(pl_agent_quic *aq, const pl_link *l) {
  for (qlink *ql = aq->head; ql; ql = ql->next)
    if (ql->link == l)
      return ql;
  return NULL;
}

static void on_timer(uv_timer_t *t);

static qlink *get(pl_agent_quic *aq, pl_link *l) {
  qlink *ql = find(aq, l);
  if (ql)
    return ql;
  if ((ql = calloc(1, sizeof *ql)) == NULL)
    return NULL;
  ql->aq = aq;
  ql->link = l;
  ql->client = l->peer_id[0] && strcmp(aq->a->ident.id, l->peer_id) < 0;
  uv_timer_init(aq->a->loop, &ql->timer);
  ql->timer.data = ql;
  ql->next = aq->head;
  aq->head = ql;
  return ql;
}

static int drained(pl_quic *q) {
  pl_quic_info info;
  pl_quic_get_info(q, &info);
  return info.drained;
}

/* With the old connection gone there is nothing left to protect: a candidate is the link's
 * connection from now on, established or not. */
static void promote(qlink *ql) {
  if (ql->q == NULL && ql->cand) {
    ql->q = ql->cand;
    ql->cand = NULL;
  }
}

/* Drops the connection objects once they have nothing more to do. */
static void reap(qlink *ql, uint64_t now) {
  if (ql->cand && drained(ql->cand)) {
    pl_quic_del(ql->cand);
    ql->cand = NULL;
  }
  if (ql->q == NULL)
    return;
  pl_quic_info info;
  pl_quic_get_info(ql->q, &info);
  if (!info.drained)
    return;
  pl_quic_del(ql->q);
  ql->q = NULL;
  promote(ql);
  if (ql->client) {
    ql->retry_delay = ql->retry_delay ? ql->retry_delay * 2 : RETRY_FIRST_US;
    if (ql->retry_delay > RETRY_MAX_US)
      ql->retry_delay = RETRY_MAX_US;
    /* Somebody waits for a connection: no backoff for them. */
    ql->retry_at = now + (ql->waiters ? 0 : ql->retry_delay);
  }
}

static void writable(void *arg);

static void freed(uv_handle_t *h) {
  free(h->data);
}

/* The link is gone: end the connection (its streams' users hear PL_ERR_CLOSED) and forget it. */
static void destroy(qlink *ql, const char *why) {
  pl_agent_quic *aq = ql->aq;
  char detail[PL_QUIC_DETAIL_MAX + 40];
  for (qlink **p = &aq->head; *p; p = &(*p)->next)
    if (*p == ql) {
      *p = ql->next;
      break;
    }
  if (ql->q) {
    pl_quic_close(ql->q, PL_QUIC_APP_NO_ERROR, why, pl_clock_now_us());
    pl_quic_del(ql->q);
    ql->q = NULL;
  }
  pl_quic_del(ql->cand);
  ql->cand = NULL;
  snprintf(detail, sizeof detail, "the link to %s closed: %s", ql->link->peer_id, why);
  resolve(ql, NULL, PL_RPC_UNAVAILABLE, detail);
  pl_transport_cancel_writable(&aq->a->transport, writable, ql);
  uv_timer_stop(&ql->timer);
  uv_close((uv_handle_t *)&ql->timer, freed);
}

/* --- packets out ------------------------------------------------------------------------- */

static void writable(void *arg) {
  qlink *ql = arg;
  ql->dirty = 1;
  kick(ql->aq);
}

/* Sends the datagrams gathered in batch (all `seg` bytes but the last). Returns 0, or
 * PL_ERR_FULL when the socket buffer is full (the rest is lost: QUIC retransmits). */
static int send_batch(qlink *ql, const struct sockaddr_storage *dst, const uint8_t *batch,
                      size_t used, size_t seg) {
  size_t sent = 0;
  if (used == 0)
    return 0;
  int rv = pl_transport_send_batch(&ql->aq->a->transport, (const struct sockaddr *)dst, batch, used,
                                   seg, &sent);
  if (rv == PL_ERR_FULL)
    pl_transport_notify_writable(&ql->aq->a->transport, writable, ql);
  return rv == PL_ERR_FULL ? rv : 0;
}

/* Up to FLUSH_MAX_PKTS packets from connection q onto the link's path. Returns 1 when more
 * may be waiting. */
static int flush(qlink *ql, pl_quic *q, uint64_t now) {
  pl_link *l = ql->link;
  uint8_t *batch = ql->aq->batch;
  struct sockaddr_storage dst;
  int via_tcp = 0, wrap = 0, more = 0;
  /* No path (not up yet on this side, or it died and punching looks for another): leave the
   * packets inside ngtcp2 rather than lose them; the path coming up kicks us again. */
  if (pl_punch_route(l->punch, &dst, &via_tcp, &wrap) != 0)
    return 0;
  size_t off = wrap ? PL_FRAME_RELAY_HEADROOM : 0, used = 0, seg = 0, n = 0;
  for (int i = 0; i < FLUSH_MAX_PKTS; i++) {
    uint8_t *slot = batch + used, *frame = slot + off;
    size_t plen, dlen;
    frame[0] = PL_FRAME_QUIC;
    frame[1] = FRAME_VERSION;
    memcpy(frame + 2, l->pairing, PL_FRAME_PAIRING_LEN);
    if (pl_quic_write(q, now, frame + PL_FRAME_EXT_PREFIX, PL_QUIC_MAX_PACKET, &plen) != 1)
      break;
    more = i == FLUSH_MAX_PKTS - 1;
    dlen = PL_FRAME_EXT_PREFIX + plen;
    if (via_tcp) {
      pl_link_send_ext(l, frame, dlen);
      continue;
    }
    if (wrap && pl_punch_wrap(l->punch, slot, SLOT_MAX, dlen, &dlen) != 0)
      continue;
    /* GSO: equal segments, only the last may be shorter. */
    if (n > 0 && dlen > seg) {
      if (send_batch(ql, &dst, batch, used, seg) != 0)
        return 0;
      memmove(batch, slot, dlen);
      used = n = 0;
    }
    if (n == 0)
      seg = dlen;
    used += dlen;
    n++;
    if (dlen < seg || n == PL_TRANSPORT_BATCH_MAX) {
      if (send_batch(ql, &dst, batch, used, seg) != 0)
        return 0;
      used = n = 0;
    }
  }
  if (!via_tcp && send_batch(ql, &dst, batch, used, seg) != 0)
    return 0;
  return more;
}

/* Writes, then handles a connection that ended, then re-arms the timer. */
static void service(qlink *ql) {
  uint64_t now = pl_clock_now_us();
  ql->dirty = 0;
  for (int i = 0; i < 2; i++) {
    pl_quic *q = i ? ql->cand : ql->q;
    if (q) {
      ql->dirty |= flush(ql, q, now);
      pl_quic_write_end(q, now);
    }
  }
  reap(ql, now);
  arm(ql);
}

static void on_idle(uv_idle_t *h) {
  pl_agent_quic *aq = h->data;
  int again = 0;
  for (qlink *ql = aq->head; ql; ql = ql->next) {
    if (!ql->dirty)
      continue;
    service(ql);
    again |= ql->dirty;
  }
  if (!again) {
    uv_idle_stop(&aq->idle);
    aq->idle_on = 0;
  }
}

/* Runs the flush from the loop's idle phase: after this iteration's reads (so ACKs for a batch
 * of packets go out together), and before the loop blocks again. */
static void kick(pl_agent_quic *aq) {
  if (!aq->idle_on) {
    uv_idle_start(&aq->idle, on_idle);
    aq->idle_on = 1;
  }
}

static void arm(qlink *ql) {
  uint64_t now = pl_clock_now_us(), at = UINT64_MAX;
  if (ql->cand)
    at = pl_quic_deadline(ql->cand);
  if (ql->q) {
    uint64_t d = pl_quic_deadline(ql->q);
    at = d < at ? d : at;
  } else if (ql->client && ql->link->path.kind != PL_PATH_NONE && ql->retry_at)
    at = ql->retry_at;
  for (pl_agent_quic_waiter *w = ql->waiters; w; w = w->next)
    if (w->deadline_us < at)
      at = w->deadline_us;
  if (at == UINT64_MAX) {
    uv_timer_stop(&ql->timer);
    return;
  }
  /* ngtcp2 allows a pacing slack of 1 ms, so whole milliseconds, rounded down, are enough. */
  uv_timer_start(&ql->timer, on_timer, at > now ? (at - now) / 1000 : 0, 0);
}

static void on_timer(uv_timer_t *t) {
  qlink *ql = t->data;
  uint64_t now = pl_clock_now_us();
  if (ql->q && pl_quic_deadline(ql->q) <= now + 999)
    pl_quic_handle_expiry(ql->q, now);
  if (ql->cand && pl_quic_deadline(ql->cand) <= now + 999)
    pl_quic_handle_expiry(ql->cand, now);
  expire_waiters(ql, now);
  if (ql->q == NULL && ql->client && ql->retry_at && now + 999 >= ql->retry_at) {
    ql->retry_at = 0;
    connect_now(ql);
  }
  service(ql);
}

/* --- pl_quic callbacks ------------------------------------------------------------------- */

static void cb_closed(void *arg, pl_quic *q);

static void cb_established(void *arg, pl_quic *q) {
  qlink *ql = arg;
  if (q == ql->cand) {
    /* The client's new connection proved itself: it replaces the old one (whose end its
     * users hear of; cb_closed ignores it, it is not the link's connection any more). */
    pl_quic *old = ql->q;
    ql->q = q;
    ql->cand = NULL;
    if (old) {
      pl_quic_close(old, PL_QUIC_APP_NO_ERROR, "replaced by a new connection", pl_clock_now_us());
      pl_quic_del(old);
    }
  }
  ql->retry_delay = 0;
  ql->detail[0] = '\0';
  ql->auth_failed = 0;
  pl_log(PL_LOG_INFO, "quic_up", "pairing=%s peer=%s role=%s", ql->link->pairing_id,
         ql->link->peer_id, ql->client ? "client" : "server");
  publish(ql);
  resolve(ql, q, PL_RPC_OK, NULL);
}

static int cb_stream_open(void *arg, pl_quic *q, int64_t sid, uint8_t kind,
                          const pl_quic_stream_cb **pcb, void **psarg) {
  qlink *ql = arg;
  if (kind >= PL_QUIC_STREAM_KINDS || ql->aq->handlers[kind].open == NULL)
    return PL_ERR_NOT_FOUND;
  return ql->aq->handlers[kind].open(ql->aq->handlers[kind].arg, ql->link, q, sid, pcb, psarg);
}

static void cb_closed(void *arg, pl_quic *q) {
  qlink *ql = arg;
  pl_quic_info info;
  pl_quic_get_info(q, &info);
  if (q != ql->q) { /* a candidate that failed, or the connection a candidate replaced */
    pl_log(PL_LOG_INFO, "quic_closed", "pairing=%s peer=%s detail=\"%s\" (not the link's)",
           ql->link->pairing_id, ql->link->peer_id, info.detail);
    return;
  }
  snprintf(ql->detail, sizeof ql->detail, "%s", info.detail);
  ql->auth_failed = info.auth_failed;
  pl_log(PL_LOG_INFO, "quic_closed", "pairing=%s peer=%s detail=\"%s\"", ql->link->pairing_id,
         ql->link->peer_id, ql->detail);
  publish(ql);
  resolve(ql, NULL, ql->auth_failed ? PL_RPC_UNAUTHENTICATED : PL_RPC_UNAVAILABLE, ql->detail);
}

static void cb_wake(void *arg, pl_quic *q) {
  qlink *ql = arg;
  (void)q;
  ql->dirty = 1;
  kick(ql->aq);
}

/* --- packets in -------------------------------------------------------------------------- */

static void on_frame(void *arg, pl_link *l, const struct sockaddr *from, const uint8_t *frame,
                     size_t len) {
  pl_agent_quic *aq = arg;
  (void)from;
  if (len <= PL_FRAME_EXT_PREFIX || frame[1] != FRAME_VERSION)
    return;
  const uint8_t *pkt = frame + PL_FRAME_EXT_PREFIX;
  size_t pktlen = len - PL_FRAME_EXT_PREFIX;
  qlink *ql = get(aq, l);
  if (ql == NULL)
    return;
  pl_quic *q = ql->q;
  if (!ql->client && q && drained(q)) {
    pl_quic_del(q);
    ql->q = NULL;
    promote(ql);
    q = ql->q;
  }
  if (!ql->client && q && !pl_quic_owns(q, pkt, pktlen)) {
    /* Not for the current connection: the candidate's, or a client Initial that starts
     * another one (the client began anew: ours idled out on its side, or it restarted). */
    if (ql->cand && pl_quic_owns(ql->cand, pkt, pktlen)) {
      q = ql->cand;
    } else if (pl_quic_is_new_initial(q, pkt, pktlen)) {
      pl_quic_del(ql->cand); /* an older candidate never finished: this one supersedes it */
      ql->cand = NULL;
      if (start_in(ql, &ql->cand, pkt, pktlen) != 0)
        return;
      q = ql->cand;
    }
  }
  if (q == NULL) {
    if (ql->client || start(ql, pkt, pktlen) != 0)
      return; /* stray packets of an ended connection, or not an Initial */
    q = ql->q;
  }
  pl_quic_recv(q, pkt, pktlen, pl_clock_now_us());
  ql->dirty = 1;
  kick(aq);
}

/* --- the agent's side -------------------------------------------------------------------- */

static void idle_closed(uv_handle_t *h) {
  pl_agent_quic *aq = h->data;
  pl_quic_tls_del(aq->tls);
  free(aq->batch);
  free(aq);
}

int pl_agent_quic_init(pl_agent *a) {
  pl_agent_quic *aq = calloc(1, sizeof *aq);
  if (aq == NULL)
    return PL_ERR_NOMEM;
  aq->a = a;
  aq->batch = malloc(BATCH_BYTES);
  int rv = aq->batch ? pl_quic_tls_new(&aq->tls, a->ident.cert_der, a->ident.cert_der_len,
                                       a->ident.private_key_der, a->ident.private_key_der_len)
                     : PL_ERR_NOMEM;
  if (rv != 0) {
    free(aq->batch);
    free(aq);
    return rv;
  }
  aq->cb = (pl_quic_callbacks){.established = cb_established,
                               .stream_open = cb_stream_open,
                               .closed = cb_closed,
                               .wake = cb_wake};
  /* Keep-alives at the punch keep-alive interval; the idle timeout well above what a path
   * needs to die and come back (dead-after, then punching or the relay again). */
  aq->keepalive_us = a->links.keepalive_us ? a->links.keepalive_us : 2000000;
  uint64_t dead = a->links.dead_after_us ? a->links.dead_after_us : 8000000;
  uint64_t relay = a->links.relay_after_us ? a->links.relay_after_us : 3000000;
  aq->idle_us = 3 * (dead + relay);
  if (aq->idle_us < IDLE_MIN_US)
    aq->idle_us = IDLE_MIN_US;
  uv_idle_init(a->loop, &aq->idle);
  aq->idle.data = aq;
  a->quic = aq;
  pl_links_set_ext(&a->links, PL_FRAME_QUIC, on_frame, aq);
  return 0;
}

void pl_agent_quic_close(pl_agent *a, const char *why) {
  pl_agent_quic *aq = a->quic;
  if (aq == NULL)
    return;
  /* Say goodbye while the paths are still up, so the peers do not wait for an idle timeout. */
  uint64_t now = pl_clock_now_us();
  for (qlink *ql = aq->head; ql; ql = ql->next)
    if (ql->q && pl_quic_close(ql->q, PL_QUIC_APP_NO_ERROR, why, now) == 0)
      flush(ql, ql->q, now);
  while (aq->head)
    destroy(aq->head, why);
  pl_links_set_ext(&a->links, PL_FRAME_QUIC, NULL, NULL);
  a->quic = NULL;
  uv_close((uv_handle_t *)&aq->idle, idle_closed);
}

void pl_agent_quic_on_path(pl_agent *a, pl_link *l) {
  pl_agent_quic *aq = a->quic;
  if (aq == NULL)
    return;
  qlink *ql = find(aq, l);
  if (pl_links_find_pairing(&a->links, l->pairing) != l) { /* the link is closing */
    if (ql)
      destroy(ql, "link closed");
    return;
  }
  if (l->path.kind == PL_PATH_NONE)
    return; /* QUIC rides it out: packets are lost until punching finds a path again */
  if (ql == NULL && (ql = get(aq, l)) == NULL)
    return;
  if (!ql->client && l->peer_id[0])
    ql->client = strcmp(a->ident.id, l->peer_id) < 0;
  if (ql->client && ql->q == NULL && (ql->retry_at == 0 || !ql->attempted))
    connect_now(ql);
  ql->dirty = 1; /* a new path: whatever waits goes out now */
  kick(aq);
}

void pl_agent_quic_describe(pl_agent *a, const pl_link *l, Peerlink__V1__PeerPath *path,
                            Peerlink__V1__QuicState *qs, char *detail, size_t cap) {
  qlink *ql = a->quic ? find(a->quic, l) : NULL;
  if (ql == NULL || !ql->attempted)
    return;
  fill_state(ql, qs, detail, cap);
  path->quic = qs;
}

void pl_agent_quic_set_handler(pl_agent *a, uint8_t kind, pl_agent_quic_open_fn open, void *arg) {
  if (a->quic == NULL || kind == 0 || kind >= PL_QUIC_STREAM_KINDS)
    return;
  a->quic->handlers[kind].open = open;
  a->quic->handlers[kind].arg = arg;
}

pl_quic *pl_agent_quic_get(pl_agent *a, const pl_link *l) {
  qlink *ql = a->quic ? find(a->quic, l) : NULL;
  pl_quic_info info;
  if (ql == NULL || ql->q == NULL)
    return NULL;
  pl_quic_get_info(ql->q, &info);
  return info.established ? ql->q : NULL;
}

int pl_agent_quic_wait(pl_agent *a, pl_link *l, uint64_t timeout_ms, pl_agent_quic_ready_fn ready,
                       void *arg, pl_agent_quic_waiter **pw) {
  char why[PL_QUIC_DETAIL_MAX + 80];
  *pw = NULL;
  pl_quic *q = pl_agent_quic_get(a, l);
  if (q) {
    ready(arg, q, PL_RPC_OK, NULL);
    return 0;
  }
  if (a->quic == NULL) {
    ready(arg, NULL, PL_RPC_UNAVAILABLE, "QUIC is not available on this agent");
    return 0;
  }
  if (l->path.kind == PL_PATH_NONE) {
    snprintf(why, sizeof why, "no path to %s yet (QUIC needs one)", l->peer_id);
    ready(arg, NULL, PL_RPC_FAILED_PRECONDITION, why);
    return 0;
  }
  qlink *ql = get(a->quic, l);
  if (ql == NULL)
    return PL_ERR_NOMEM;
  /* The server cannot start a connection: after a refusal over a certificate, say so now
   * rather than wait for the client's next attempt. */
  pl_quic_info info;
  if (ql->q)
    pl_quic_get_info(ql->q, &info);
  if (!ql->client && ql->auth_failed && (ql->q == NULL || info.closed)) {
    ready(arg, NULL, PL_RPC_UNAUTHENTICATED, ql->detail);
    return 0;
  }
  if (ql->client && ql->q == NULL) {
    /* Somebody waits: try now, not at the next backoff step. */
    ql->retry_delay = 0;
    ql->retry_at = 0;
    if (start(ql, NULL, 0) != 0) {
      ready(arg, NULL, ql->auth_failed ? PL_RPC_UNAUTHENTICATED : PL_RPC_UNAVAILABLE, ql->detail);
      return 0;
    }
    kick(a->quic);
  }
  pl_agent_quic_waiter *w = calloc(1, sizeof *w);
  if (w == NULL)
    return PL_ERR_NOMEM;
  w->ql = ql;
  w->ready = ready;
  w->arg = arg;
  w->deadline_us = pl_clock_now_us() + timeout_ms * 1000;
  w->next = ql->waiters;
  ql->waiters = w;
  *pw = w;
  arm(ql);
  return 0;
}

void pl_agent_quic_wait_cancel(pl_agent *a, pl_agent_quic_waiter *w) {
  (void)a;
  if (w == NULL)
    return;
  for (pl_agent_quic_waiter **p = &w->ql->waiters; *p; p = &(*p)->next)
    if (*p == w) {
      *p = w->next;
      free(w);
      return;
    }
}
