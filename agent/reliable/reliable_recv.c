/* The receiving half: duplicate suppression, the reassembly window, in-order delivery of whole
 * messages, and when to acknowledge (at once for anything out of order, else every second
 * fragment or after ack_delay). */
#include <stdlib.h>
#include <string.h>

#include "agent/reliable/reliable_impl.h"
#include "control/common/err.h"

static pl_reliable__slot *rslot(const pl_reliable *r, uint64_t seq) {
  return &r->slots[seq % r->cfg.window];
}

static uint8_t *rdata(const pl_reliable *r, uint64_t seq) {
  return r->slab + (seq % r->cfg.window) * r->frag_cap;
}

/* Whether a fragment (msg_len, offset) can come right after one that ended at prev_end of a
 * message of prev_len bytes: the same message at the next byte, or a new one at 0. */
static int follows(uint32_t prev_len, uint64_t prev_end, uint32_t msg_len, uint32_t offset) {
  if (prev_end < prev_len)
    return msg_len == prev_len && offset == prev_end;
  return offset == 0;
}

/* A fragment must agree with its neighbours that are known (delivered or buffered); one that
 * does not is refused and not acknowledged, so a peer that cut its messages inconsistently
 * stalls its own channel instead of corrupting ours. */
static int consistent(const pl_reliable *r, const pl_reliable__frag *f) {
  if (f->seq == r->rcv_nxt) {
    if (r->asm_active ? !follows(r->asm_len, r->asm_have, f->msg_len, f->offset) : f->offset != 0)
      return 0;
  } else {
    const pl_reliable__slot *prev = rslot(r, f->seq - 1);
    if (prev->present &&
        !follows(prev->msg_len, (uint64_t)prev->offset + prev->len, f->msg_len, f->offset))
      return 0;
  }
  if (f->seq + 1 - r->rcv_nxt < r->cfg.window) {
    const pl_reliable__slot *next = rslot(r, f->seq + 1);
    if (next->present &&
        !follows(f->msg_len, (uint64_t)f->offset + f->len, next->msg_len, next->offset))
      return 0;
  }
  return 1;
}

/* The next in-order piece into the message being put together; a complete message becomes a
 * DELIVERED event. On an error nothing changed (the piece stays where it was). */
static int take(pl_reliable *r, uint32_t msg_len, const uint8_t *data, size_t len) {
  if (!r->asm_active) {
    r->asm_buf = malloc(msg_len ? msg_len : 1);
    if (r->asm_buf == NULL)
      return PL_ERR_NOMEM;
    r->asm_len = msg_len;
    r->asm_have = 0;
    r->asm_active = 1;
  }
  /* consistent() makes this impossible; the check keeps a mistake there from writing past the
   * buffer. */
  if (len > r->asm_len - r->asm_have || msg_len != r->asm_len)
    return PL_ERR_PARSE;
  if (len > 0)
    memcpy(r->asm_buf + r->asm_have, data, len);
  if (r->asm_have + len < r->asm_len) {
    r->asm_have += (uint32_t)len;
    return 0;
  }
  int rv = pl_reliable__event_push(r, PL_RELIABLE_EV_DELIVERED, r->delivered + 1, 0, r->asm_buf,
                                   r->asm_len);
  if (rv != 0)
    return rv;
  r->delivered++;
  r->asm_buf = NULL;
  r->asm_active = 0;
  return 0;
}

/* Buffered fragments that are now in order. */
static int drain(pl_reliable *r) {
  for (;;) {
    pl_reliable__slot *s = rslot(r, r->rcv_nxt);
    if (!s->present)
      return 0;
    int rv = take(r, s->msg_len, rdata(r, r->rcv_nxt), s->len);
    if (rv != 0)
      return rv;
    s->present = 0;
    r->buffered--;
    r->rcv_nxt++;
  }
}

int pl_reliable__on_frag(pl_reliable *r, const pl_reliable__frag *f, uint64_t now) {
  if (f->msg_len > r->cfg.max_message || f->len > r->frag_cap)
    return PL_ERR_PARSE;
  uint64_t ahead = f->seq - r->rcv_nxt; /* huge when f->seq is below: a duplicate */
  /* Whatever this arrival leads to, the next ACK answers it (the sender's RTT sample). */
  r->latest_seq = f->seq;
  r->latest_at = now;
  /* Duplicates and fragments past the window change nothing but get an ACK at once: the
   * peer's copy of our last ACK was probably lost. */
  if (f->seq < r->rcv_nxt || (ahead < r->cfg.window && rslot(r, f->seq)->present)) {
    r->stats.duplicates++;
    r->ack_now = 1;
    return 0;
  }
  if (ahead >= r->cfg.window) {
    r->stats.dropped_window++;
    r->ack_now = 1;
    return 0;
  }
  if (r->undrained_count >= r->cfg.recv_queue || r->undrained_bytes >= r->cfg.recv_buffer) {
    r->stats.dropped_full++;
    return PL_ERR_FULL;
  }
  if (!consistent(r, f))
    return PL_ERR_PARSE;

  int rv;
  if (ahead == 0) {
    /* In order: straight into the message, no stop in the window. */
    rv = take(r, f->msg_len, f->data, f->len);
    if (rv != 0)
      return rv;
    r->rcv_nxt++;
    rv = drain(r);
  } else {
    pl_reliable__slot *s = rslot(r, f->seq);
    s->present = 1;
    s->msg_len = f->msg_len;
    s->offset = f->offset;
    s->len = (uint32_t)f->len;
    if (f->len > 0)
      memcpy(rdata(r, f->seq), f->data, f->len);
    r->buffered++;
    rv = 0;
  }
  r->stats.frags_received++;
  if (f->seq + 1 > r->largest_rcvd)
    r->largest_rcvd = f->seq + 1;
  /* A gap means loss or reordering: tell the sender now, as TCP and QUIC do. */
  if (ahead != 0 || r->buffered > 0 || ++r->ack_pending >= 2)
    r->ack_now = 1;
  else if (r->ack_pending == 1)
    r->ack_deadline = now + r->cfg.ack_delay_us;
  return rv;
}

static void build_ack(const pl_reliable *r, uint64_t now, pl_reliable__ack *a) {
  memset(a, 0, sizeof *a);
  a->cumulative = r->rcv_nxt;
  a->window = r->cfg.window;
  /* Ranges from the top down, as QUIC does: when they do not all fit, the newest arrivals are
   * the ones the sender has not heard of yet (older ones went out in earlier ACKs). */
  uint64_t lo[PL_RELIABLE_MAX_ACK_RANGES], hi[PL_RELIABLE_MAX_ACK_RANGES];
  size_t n = 0;
  uint32_t seen = 0;
  uint64_t seq = r->largest_rcvd; /* one past the highest present slot */
  while (seen < r->buffered && n < r->max_ranges && seq > r->rcv_nxt + 1) {
    if (!rslot(r, seq - 1)->present) {
      seq--;
      continue;
    }
    hi[n] = seq;
    while (seq > r->rcv_nxt + 1 && rslot(r, seq - 1)->present) {
      seq--;
      seen++;
    }
    lo[n++] = seq;
  }
  for (size_t i = 0; i < n; i++) {
    a->start[i] = lo[n - 1 - i];
    a->end[i] = hi[n - 1 - i];
  }
  a->n = n;
  a->latest = r->latest_seq;
  if (now >= r->latest_at)
    a->delay_us = now - r->latest_at > UINT32_MAX ? UINT32_MAX : (uint32_t)(now - r->latest_at);
}

int pl_reliable__ack_next(pl_reliable *r, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  if (!r->ack_now && !(r->ack_pending > 0 && now >= r->ack_deadline))
    return 0;
  pl_reliable__ack a;
  build_ack(r, now, &a);
  int rv = pl_reliable__encode_ack(buf, cap, plen, &a);
  if (rv != 0)
    return rv;
  r->ack_now = 0;
  r->ack_pending = 0;
  r->stats.acks_sent++;
  return 0;
}

uint64_t pl_reliable__ack_deadline(const pl_reliable *r) {
  if (r->ack_now)
    return 0;
  return r->ack_pending > 0 ? r->ack_deadline : UINT64_MAX;
}
