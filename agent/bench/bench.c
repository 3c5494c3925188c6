/* The benchmark's control exchange on either side: START/START_ACK/GO, PROGRESS, FIN/RESULT,
 * ABORT, retransmission, silence and linger (agent/bench/bench.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bench/bench_impl.h"
#include "control/common/err.h"

static uint64_t cpu_now(const pl_bench *b) {
  return b->hooks.cpu_us ? b->hooks.cpu_us(b->hooks.arg) : 0;
}

static uint64_t min64(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

static void set_reason(char *dst, const char *src) {
  snprintf(dst, PL_BENCH_REASON_MAX + 1, "%s", src ? src : "");
}

static void fail(pl_bench *b, pl_bench_fail why, const char *reason) {
  if (b->fail == PL_BENCH_OK) {
    b->fail = why;
    set_reason(b->reason, reason);
  }
  b->state = PL_BENCH_CLOSED;
  b->has_retx = 0;
}

/* Queues `kind` for retransmission until answered, first copy now. */
static void retransmit(pl_bench *b, uint8_t kind, uint64_t now, int tries) {
  memset(&b->retx, 0, sizeof b->retx);
  b->retx.kind = kind;
  b->has_retx = 1;
  b->retx_at = now;
  b->rto = PL_BENCH_RTO_US;
  b->tries = tries;
}

static uint64_t silence_for(const pl_bench_params *p) {
  uint64_t four = 4ull * p->interval_ms * 1000;
  return four > PL_BENCH_SILENCE_US ? four : PL_BENCH_SILENCE_US;
}

static pl_bench *session_new(const pl_bench_ends *e, uint64_t session, int initiator,
                             const pl_bench_hooks *hooks, uint64_t now) {
  pl_bench *b = calloc(1, sizeof *b);
  if (b == NULL)
    return NULL;
  b->ends = *e;
  memcpy(b->frame_key, e->frame_key, sizeof b->frame_key);
  b->ends.frame_key = b->frame_key;
  b->session = session;
  b->initiator = initiator;
  if (hooks)
    b->hooks = *hooks;
  b->last_heard = now;
  return b;
}

/* The data starts flowing (sender: it may send; receiver: it counts from here). */
static void run(pl_bench *b, uint64_t now) {
  b->state = PL_BENCH_RUNNING;
  b->run_start = now;
  b->cpu_start = cpu_now(b);
  b->end_at = b->p.duration_ms ? now + (uint64_t)b->p.duration_ms * 1000 : UINT64_MAX;
  b->progress_at = now + (uint64_t)b->p.interval_ms * 1000;
  b->report_at = b->progress_at;
  b->rep_at = now;
  b->last_heard = now;
  b->tok_at = now;
  b->tokens = 0;
}

int pl_bench_initiate(pl_bench **pb, const pl_bench_ends *e, const pl_bench_params *p,
                      uint64_t session, uint64_t now, const pl_bench_hooks *hooks) {
  if (pb == NULL || e == NULL || p == NULL || p->interval_ms == 0 ||
      (p->duration_ms == 0 && p->bytes == 0) ||
      (p->transport == PL_BENCH_XPORT_UDP && p->chunk < PL_BENCH_DATA_MIN))
    return PL_ERR_INVALID;
  pl_bench *b = session_new(e, session, 1, hooks, now);
  if (b == NULL)
    return PL_ERR_NOMEM;
  b->p = *p;
  b->sender = !p->reverse;
  b->silence_us = silence_for(p);
  int rv = pl_bench_keys_start(&b->keys, e, session);
  if (rv != 0) {
    free(b);
    return rv;
  }
  b->state = PL_BENCH_STARTING;
  retransmit(b, PL_BENCH_START, now, PL_BENCH_TRIES);
  b->retx.params = *p;
  *pb = b;
  return 0;
}

/* Why the responder cannot take these parameters, or NULL. */
static const char *refusal(const pl_bench_params *p, const pl_bench_limits *lim, uint8_t *code) {
  static char why[PL_BENCH_REASON_MAX + 1];
  *code = PL_BENCH_REFUSE_PARAMS;
  if (p->transport < PL_BENCH_XPORT_UDP || p->transport > PL_BENCH_XPORT_TCP ||
      !(lim->xports & (1u << p->transport))) {
    const char *name = p->transport == PL_BENCH_XPORT_UDP    ? "UDP"
                       : p->transport == PL_BENCH_XPORT_QUIC ? "QUIC"
                       : p->transport == PL_BENCH_XPORT_TCP  ? "TCP"
                                                             : NULL;
    *code = PL_BENCH_REFUSE_XPORT;
    if (name && lim->why_not[p->transport])
      snprintf(why, sizeof why, "%s there: %s", name, lim->why_not[p->transport]);
    else
      snprintf(why, sizeof why, "the peer has no %s transport", name ? name : "such");
    return why;
  }
  if (lim->busy) {
    *code = PL_BENCH_REFUSE_BUSY;
    return "the peer is running too many benchmarks";
  }
  if (p->interval_ms == 0 || (p->duration_ms == 0 && p->bytes == 0))
    return "no interval, or neither a duration nor a byte count";
  if (p->transport == PL_BENCH_XPORT_UDP &&
      (p->chunk < PL_BENCH_DATA_MIN || p->chunk > lim->max_chunk)) {
    snprintf(why, sizeof why, "chunk_size %u: the path takes %d to %u bytes", p->chunk,
             PL_BENCH_DATA_MIN, lim->max_chunk);
    return why;
  }
  return NULL;
}

int pl_bench_accept(pl_bench **pb, const pl_bench_ends *e, const pl_bench_head *h,
                    const uint8_t *frame, size_t len, const pl_bench_limits *lim, uint64_t now,
                    const pl_bench_hooks *hooks) {
  pl_bench_msg m;
  if (h->type != PL_FRAME_BENCH_CTRL || h->kind != PL_BENCH_START)
    return PL_ERR_PARSE;
  pl_bench *b = session_new(e, h->session, 0, hooks, now);
  if (b == NULL)
    return PL_ERR_NOMEM;
  int rv = pl_bench_keys_start(&b->keys, e, h->session);
  if (rv == 0 && (rv = pl_bench_ctrl_decode(&b->keys, h, frame, len, &m)) == 0)
    rv = pl_replay_check(&b->start_replay, h->seq);
  if (rv == 0) {
    b->nonce = lim->nonce;
    rv = pl_bench_keys_session(&b->keys, e, h->session, b->nonce);
  }
  if (rv != 0) {
    pl_bench_del(b);
    return rv;
  }
  b->p = m.params;
  b->sender = m.params.reverse;
  b->silence_us = silence_for(&m.params);
  b->send_ack = 1;
  const char *why = refusal(&m.params, lim, &b->ack_status);
  if (why) {
    set_reason(b->ack_reason, why);
    b->state = PL_BENCH_LINGER;
    b->linger_until = now + PL_BENCH_LINGER_US;
  } else {
    b->ack_status = 0;
    if (b->sender)
      b->state = PL_BENCH_WAITING;
    else
      run(b, now);
  }
  *pb = b;
  return 0;
}

/* --- receiving ----------------------------------------------------------------------------- */

static void on_start_ack(pl_bench *b, const pl_bench_msg *m, uint64_t now) {
  if (b->state != PL_BENCH_STARTING)
    return; /* a repeat */
  if (m->status != 0) {
    fail(b, PL_BENCH_FAIL_REFUSED, m->reason);
    return;
  }
  b->has_retx = 0;
  run(b, now);
  if (!b->sender)
    retransmit(b, PL_BENCH_GO, now, PL_BENCH_TRIES);
}

void pl_bench__receiver_done(pl_bench *b, uint64_t now) {
  b->fin_waiting = 0;
  pl_bench__my_counts(b, now, &b->my_final);
  /* Loss is what the sender sent that we never counted. */
  b->my_final.lost =
      b->peer_final.packets > b->rx.packets ? b->peer_final.packets - b->rx.packets : 0;
  b->have_my_final = 1;
  b->has_retx = 0;
  b->state = PL_BENCH_LINGER;
  b->linger_until = now + PL_BENCH_LINGER_US;
  b->final_ready = b->initiator;
  b->send_result = 1;
}

static void on_fin(pl_bench *b, const pl_bench_msg *m, uint64_t now) {
  if (b->sender)
    return;
  if (b->have_peer_final) {
    b->send_result = 1; /* our RESULT was lost, or is still waiting for the stream's tail */
    return;
  }
  b->peer_final = m->counts;
  b->have_peer_final = 1;
  /* A stream's last bytes may still be on their way: wait for them. */
  if (b->p.transport != PL_BENCH_XPORT_UDP && b->rx.bytes < m->counts.bytes) {
    b->fin_waiting = 1;
    b->fin_at = now;
  } else
    pl_bench__receiver_done(b, now);
}

static void on_result(pl_bench *b, const pl_bench_msg *m) {
  if (!b->sender || b->state != PL_BENCH_FINISHING)
    return;
  b->peer_final = m->counts;
  b->have_peer_final = 1;
  b->has_retx = 0;
  b->state = PL_BENCH_CLOSED;
  b->final_ready = b->initiator;
}

static void on_ctrl(pl_bench *b, const pl_bench_msg *m, uint64_t seq, uint64_t now) {
  switch (m->kind) {
  case PL_BENCH_START:
    /* Our answer was lost: say it again (lingering refusals included). */
    if (!b->initiator)
      b->send_ack = 1;
    break;
  case PL_BENCH_START_ACK:
    if (b->initiator)
      on_start_ack(b, m, now);
    break;
  case PL_BENCH_GO:
    if (!b->initiator && b->state == PL_BENCH_WAITING)
      run(b, now);
    break;
  case PL_BENCH_PROGRESS:
    if (seq > b->progress_seq) {
      b->progress_seq = seq;
      b->peer = m->counts;
    }
    /* A stream receiver still taking the tail: the FIN is not unanswered, only early. */
    if (b->has_retx && b->retx.kind == PL_BENCH_FIN)
      b->tries = PL_BENCH_TRIES;
    break;
  case PL_BENCH_FIN: on_fin(b, m, now); break;
  case PL_BENCH_RESULT: on_result(b, m); break;
  case PL_BENCH_ABORT:
    if (b->state != PL_BENCH_ABORTING)
      fail(b, PL_BENCH_FAIL_ABORTED, m->reason);
    break;
  default: break;
  }
}

static int drop(pl_bench *b, int rv) {
  if (rv == PL_ERR_AUTH || rv == PL_ERR_STATE) {
    b->stats.dropped_auth++;
    return PL_ERR_AUTH;
  }
  b->stats.dropped_parse++;
  return PL_ERR_PARSE;
}

/* The initiator learns the responder's nonce from the first START_ACK: the session keys are
 * kept only if that frame opens under them. */
static int first_ack(pl_bench *b, const pl_bench_head *h, const uint8_t *frame, size_t len,
                     pl_bench_msg *m) {
  if (!b->initiator)
    return PL_ERR_AUTH;
  int rv = pl_bench_keys_session(&b->keys, &b->ends, b->session, h->nonce);
  if (rv != 0)
    return rv == PL_ERR_NOMEM ? PL_ERR_PARSE : rv;
  if ((rv = pl_bench_ctrl_decode(&b->keys, h, frame, len, m)) != 0) {
    pl_seal_keys_del(b->keys.ctrl);
    pl_seal_keys_del(b->keys.data);
    b->keys.ctrl = b->keys.data = NULL;
    return rv;
  }
  b->nonce = h->nonce;
  return 0;
}

int pl_bench_recv(pl_bench *b, const pl_bench_head *h, const uint8_t *frame, size_t len,
                  uint64_t now) {
  if (b->state == PL_BENCH_CLOSED || h->session != b->session)
    return 0;
  if (h->type == PL_FRAME_BENCH_DATA) {
    uint8_t scratch[PL_FRAME_MAX_LEN];
    uint64_t send_us;
    int rv = pl_bench_data_decode(&b->keys, h, frame, len, scratch, sizeof scratch, &send_us);
    if (rv != 0)
      return drop(b, rv);
    b->last_heard = now;
    /* Data after GO proves the handshake: stop repeating GO. */
    if (b->has_retx && b->retx.kind == PL_BENCH_GO)
      b->has_retx = 0;
    if (!b->sender && b->state == PL_BENCH_RUNNING)
      pl_bench__rx_datagram(b, h->seq, len, send_us, now);
    return 0;
  }
  pl_bench_msg m;
  int rv = h->kind == PL_BENCH_START_ACK && b->keys.ctrl == NULL
               ? first_ack(b, h, frame, len, &m)
               : pl_bench_ctrl_decode(&b->keys, h, frame, len, &m);
  if (rv != 0)
    return drop(b, rv);
  if (pl_replay_check(h->kind == PL_BENCH_START ? &b->start_replay : &b->ctrl_replay, h->seq) !=
      0) {
    b->stats.duplicates++;
    return 0;
  }
  b->last_heard = now;
  if (b->has_retx && b->retx.kind == PL_BENCH_GO && m.kind == PL_BENCH_PROGRESS)
    b->has_retx = 0;
  on_ctrl(b, &m, h->seq, now);
  return 0;
}

/* --- sending ------------------------------------------------------------------------------- */

static int encode(pl_bench *b, pl_bench_msg *m, uint8_t *buf, size_t cap, size_t *plen) {
  uint64_t seq = m->kind == PL_BENCH_START ? ++b->start_seq : ++b->ctrl_seq;
  m->nonce = b->nonce;
  int rv = pl_bench_ctrl_encode(&b->keys, &b->ends, b->session, seq, m, buf, cap, plen);
  if (rv != 0)
    fail(b, PL_BENCH_FAIL_LOCAL, "cannot seal a benchmark frame");
  return rv == 0;
}

/* The retransmitted message is due: send it, or give up. */
static int poll_retx(pl_bench *b, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  if (b->tries == 0) {
    if (b->retx.kind == PL_BENCH_ABORT) {
      b->has_retx = 0;
      b->state = PL_BENCH_CLOSED;
    } else if (b->retx.kind == PL_BENCH_GO) {
      b->has_retx = 0; /* the silence timeout decides */
    } else {
      fail(b, PL_BENCH_FAIL_NO_ANSWER,
           b->retx.kind == PL_BENCH_START ? "the peer did not answer the benchmark's START"
                                          : "the peer did not answer the benchmark's FIN");
    }
    return 0;
  }
  b->tries--;
  b->retx_at = now + b->rto;
  if (b->retx.kind != PL_BENCH_ABORT) /* ABORT: evenly spaced, the sender is leaving */
    b->rto = min64(2 * b->rto, PL_BENCH_RTO_MAX_US);
  pl_bench_msg m = b->retx;
  if (m.kind == PL_BENCH_FIN)
    pl_bench__my_counts(b, now, &m.counts);
  return encode(b, &m, buf, cap, plen);
}

/* A stream receiver waiting for the tail gives up this long after the last byte (or FIN). */
static uint64_t tail_deadline(const pl_bench *b) {
  return (b->rx.last_us > b->fin_at ? b->rx.last_us : b->fin_at) + b->silence_us;
}

int pl_bench_poll(pl_bench *b, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  pl_bench_msg m;
  if (b->state == PL_BENCH_CLOSED)
    return 0;
  if (b->state == PL_BENCH_LINGER && now >= b->linger_until) {
    b->state = PL_BENCH_CLOSED;
    return 0;
  }
  /* The tail is not coming (the sender still repeats FIN, so it is alive): report what came. */
  if (b->fin_waiting && now >= tail_deadline(b))
    pl_bench__receiver_done(b, now);
  if (b->state == PL_BENCH_RUNNING || b->state == PL_BENCH_FINISHING ||
      b->state == PL_BENCH_WAITING) {
    if (now >= b->last_heard + b->silence_us) {
      fail(b, PL_BENCH_FAIL_SILENT, "the peer went silent during the benchmark");
      return 0;
    }
  }
  if (b->sender && b->state == PL_BENCH_RUNNING &&
      (now >= b->end_at || (b->p.bytes && b->sent_bytes >= b->p.bytes)))
    pl_bench__finish_sending(b, now);
  memset(&m, 0, sizeof m);
  if (b->send_ack) {
    b->send_ack = 0;
    m.kind = PL_BENCH_START_ACK;
    m.status = b->ack_status;
    set_reason(m.reason, b->ack_reason);
    return encode(b, &m, buf, cap, plen);
  }
  if (b->send_result && b->have_my_final) {
    b->send_result = 0;
    m.kind = PL_BENCH_RESULT;
    m.counts = b->my_final;
    return encode(b, &m, buf, cap, plen);
  }
  if (b->has_retx && now >= b->retx_at)
    return poll_retx(b, now, buf, cap, plen);
  if (b->state == PL_BENCH_RUNNING && now >= b->progress_at) {
    b->progress_at = now + (uint64_t)b->p.interval_ms * 1000;
    m.kind = PL_BENCH_PROGRESS;
    pl_bench__my_counts(b, now, &m.counts);
    return encode(b, &m, buf, cap, plen);
  }
  return 0;
}

uint64_t pl_bench_deadline(const pl_bench *b, uint64_t now) {
  uint64_t d = UINT64_MAX;
  if (b->state == PL_BENCH_CLOSED)
    return d;
  if (b->send_ack || (b->send_result && b->have_my_final) ||
      (b->initiator && b->final_ready && !b->final_taken))
    return now;
  if (b->has_retx)
    d = min64(d, b->retx_at);
  if (b->state == PL_BENCH_LINGER)
    d = min64(d, b->linger_until);
  if (b->state == PL_BENCH_RUNNING || b->state == PL_BENCH_FINISHING ||
      b->state == PL_BENCH_WAITING)
    d = min64(d, b->last_heard + b->silence_us);
  if (b->fin_waiting)
    d = min64(d, tail_deadline(b));
  if (b->state == PL_BENCH_RUNNING) {
    d = min64(d, b->progress_at);
    if (b->initiator)
      d = min64(d, b->report_at);
    if (b->sender)
      d = min64(d, min64(b->end_at, pl_bench__rate_deadline(b, now)));
  }
  return d;
}

void pl_bench_cancel(pl_bench *b, uint64_t now, const char *reason) {
  if (b->state == PL_BENCH_CLOSED || b->state == PL_BENCH_ABORTING)
    return;
  if (b->fail == PL_BENCH_OK) {
    b->fail = PL_BENCH_FAIL_CANCELLED;
    set_reason(b->reason, reason);
  }
  /* Before START_ACK there are no session keys to say it with; the peer's silence timeout
   * ends its side. */
  if (b->keys.ctrl == NULL || b->state == PL_BENCH_LINGER) {
    b->state = PL_BENCH_CLOSED;
    b->has_retx = 0;
    return;
  }
  b->state = PL_BENCH_ABORTING;
  b->send_ack = b->send_result = 0;
  retransmit(b, PL_BENCH_ABORT, now, PL_BENCH_ABORT_TRIES);
  set_reason(b->retx.reason, reason);
}

pl_bench_state pl_bench_get_state(const pl_bench *b) {
  return b->state;
}

pl_bench_fail pl_bench_failure(const pl_bench *b, const char **reason) {
  if (reason)
    *reason = b->reason;
  return b->fail;
}

int pl_bench_sending(const pl_bench *b) {
  return b->sender && b->state == PL_BENCH_RUNNING;
}

uint64_t pl_bench_session(const pl_bench *b) {
  return b->session;
}

int pl_bench_is_initiator(const pl_bench *b) {
  return b->initiator;
}

const pl_bench_params *pl_bench_params_get(const pl_bench *b) {
  return &b->p;
}

void pl_bench_stats_get(const pl_bench *b, pl_bench_stats *s) {
  *s = b->stats;
}

void pl_bench_del(pl_bench *b) {
  if (b == NULL)
    return;
  pl_bench_keys_free(&b->keys);
  explicit_bzero(b->frame_key, sizeof b->frame_key);
  free(b);
}
