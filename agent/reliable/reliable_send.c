/* The sending half: fragments, the window, ACK processing, RTT/RTO (RFC 6298), retransmission
 * (timer with exponential backoff, and fast: a transmission three later acknowledged) and
 * giving up. */
#include <stdlib.h>
#include <string.h>

#include "agent/reliable/reliable_impl.h"
#include "control/common/err.h"

#define CLOCK_GRANULARITY_US 1000 /* RFC 6298's G */
#define FAST_THRESHOLD 3          /* transmissions after one, acknowledged, that make it lost */

static pl_reliable__sent *slot(const pl_reliable *r, uint64_t seq) {
  return &r->sent[seq % r->cfg.window];
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The lowest fragment in flight not yet acknowledged (cumulatively or selectively): the one
 * the timer retransmits, and the oldest first transmission (fragments are cut in order). */
static int first_unacked(const pl_reliable *r, uint64_t *pseq) {
  if (r->unacked == 0)
    return 0;
  for (uint64_t seq = r->snd_una; seq < r->snd_nxt; seq++)
    if (!slot(r, seq)->acked) {
      *pseq = seq;
      return 1;
    }
  return 0;
}

static int first_lost(const pl_reliable *r, uint64_t *pseq) {
  if (r->lost == 0)
    return 0;
  for (uint64_t seq = r->snd_una; seq < r->snd_nxt; seq++)
    if (slot(r, seq)->lost) {
      *pseq = seq;
      return 1;
    }
  return 0;
}

static uint64_t timer_deadline(const pl_reliable *r) {
  return r->unacked > 0 ? sat_add(r->timer_start, r->rto) : UINT64_MAX;
}

/* 0, or why the channel must die now. */
static pl_reliable_fail_reason expired(const pl_reliable *r, uint64_t now) {
  uint64_t seq;
  if (!first_unacked(r, &seq))
    return 0;
  if (now >= sat_add(slot(r, seq)->first_sent, r->cfg.give_up_us))
    return PL_RELIABLE_FAIL_TIMEOUT;
  if (now >= timer_deadline(r) && r->backoffs >= r->cfg.max_retransmits)
    return PL_RELIABLE_FAIL_RETRIES;
  return 0;
}

static uint32_t window_now(const pl_reliable *r) {
  uint32_t w = r->peer_window < r->cfg.window ? r->peer_window : r->cfg.window;
  /* At least one fragment in flight even if the peer says 0: it either makes progress or the
   * give-up timer runs, so queued messages never wait forever. */
  return w > 0 ? w : 1;
}

static int can_cut(const pl_reliable *r) {
  return r->uncut != NULL && r->snd_nxt - r->snd_una < window_now(r);
}

static int emit(const pl_reliable *r, uint64_t seq, const pl_reliable__sent *s, uint8_t *buf,
                size_t cap, size_t *plen) {
  pl_reliable__frag f = {
      .seq = seq,
      .msg_len = (uint32_t)s->msg->len,
      .offset = s->offset,
      .data = s->msg->data + s->offset,
      .len = s->len,
  };
  (void)r;
  return pl_reliable__encode_frag(buf, cap, plen, &f);
}

static int retransmit(pl_reliable *r, uint64_t seq, uint64_t now, uint8_t *buf, size_t cap,
                      size_t *plen) {
  pl_reliable__sent *s = slot(r, seq);
  if (s->lost) {
    s->lost = 0;
    r->lost--;
    r->stats.fast_retransmits++;
  }
  s->sends++;
  s->last_sent = now;
  s->last_tx = ++r->tx_counter;
  r->stats.retransmits++;
  return emit(r, seq, s, buf, cap, plen);
}

/* RFC 6298, 5.4-5.6: retransmit the earliest unacknowledged fragment, back off the timer and
 * restart it. One timer for the channel, as TCP has: per-fragment timers would each fire (and
 * resend a whole burst whose one ACK was lost), and each new fragment would start again from
 * the short RTO and never give a sample (Karn). The ACK the retransmission brings back tells
 * which of the others are missing; fast retransmission resends those. */
static int timeout(pl_reliable *r, uint64_t seq, uint64_t now, uint8_t *buf, size_t cap,
                   size_t *plen) {
  r->backoffs++;
  r->stats.timeouts++;
  r->rto = r->rto > r->cfg.rto_max_us / 2 ? r->cfg.rto_max_us : 2 * r->rto;
  r->timer_start = now;
  return retransmit(r, seq, now, buf, cap, plen);
}

static int cut(pl_reliable *r, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  pl_reliable__msg *m = r->uncut;
  size_t n = m->len - m->next_off;
  if (n > r->frag_cap)
    n = r->frag_cap;
  uint64_t seq = r->snd_nxt++;
  pl_reliable__sent *s = slot(r, seq);
  memset(s, 0, sizeof *s);
  s->msg = m;
  s->offset = (uint32_t)m->next_off;
  s->len = (uint32_t)n;
  s->first_sent = s->last_sent = now;
  s->last_tx = ++r->tx_counter;
  s->sends = 1;
  /* RFC 6298, 5.1: the timer starts with the first fragment in flight. */
  if (r->unacked++ == 0)
    r->timer_start = now;
  m->next_off += n;
  if (m->next_off == m->len) {
    m->cut = 1;
    m->last_seq = seq;
    r->uncut = m->next;
  }
  r->stats.frags_sent++;
  return emit(r, seq, s, buf, cap, plen);
}

int pl_reliable__send_next(pl_reliable *r, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  pl_reliable_fail_reason why = expired(r, now);
  uint64_t seq;
  if (why) {
    pl_reliable__fail(r, why);
    return 0;
  }
  if (now >= timer_deadline(r) && first_unacked(r, &seq))
    return timeout(r, seq, now, buf, cap, plen);
  if (first_lost(r, &seq))
    return retransmit(r, seq, now, buf, cap, plen);
  if (can_cut(r))
    return cut(r, now, buf, cap, plen);
  return 0;
}

uint64_t pl_reliable__send_deadline(const pl_reliable *r) {
  uint64_t seq;
  if (can_cut(r) || r->lost > 0)
    return 0;
  if (!first_unacked(r, &seq))
    return UINT64_MAX;
  uint64_t give_up = sat_add(slot(r, seq)->first_sent, r->cfg.give_up_us), t = timer_deadline(r);
  return give_up < t ? give_up : t;
}

/* RFC 6298, 2.2-2.4, with the peer's ACK delay taken out when that leaves something. */
static void rtt_sample(pl_reliable *r, uint64_t sample, uint32_t delay_us) {
  if (sample > delay_us)
    sample -= delay_us;
  if (!r->have_rtt) {
    r->srtt = sample;
    r->rttvar = sample / 2;
    r->have_rtt = 1;
  } else {
    uint64_t d = r->srtt > sample ? r->srtt - sample : sample - r->srtt;
    r->rttvar = (3 * r->rttvar + d) / 4;
    r->srtt = (7 * r->srtt + sample) / 8;
  }
  uint64_t k = 4 * r->rttvar > CLOCK_GRANULARITY_US ? 4 * r->rttvar : CLOCK_GRANULARITY_US;
  uint64_t rto = sat_add(r->srtt, k);
  if (rto < r->cfg.rto_min_us)
    rto = r->cfg.rto_min_us;
  if (rto > r->cfg.rto_max_us)
    rto = r->cfg.rto_max_us;
  r->rto = rto;
}

static void mark_acked(pl_reliable *r, uint64_t seq, uint64_t now) {
  pl_reliable__sent *s = slot(r, seq);
  if (s->acked)
    return;
  s->acked = 1;
  r->unacked--;
  if (s->lost) {
    s->lost = 0;
    r->lost--;
  }
  if (s->last_tx > r->largest_acked_tx)
    r->largest_acked_tx = s->last_tx;
  /* RFC 6298, 5.3: new data acknowledged restarts the timer; the peer is alive, so the
   * count of timeouts in a row starts over (the backed-off RTO stays until a sample). */
  r->timer_start = now;
  r->backoffs = 0;
}

static void msg_free(pl_reliable__msg *m) {
  free(m->data);
  free(m);
}

/* Messages whose every fragment is below the cumulative ACK have been delivered. */
static int release_acked(pl_reliable *r) {
  while (r->head != NULL && r->head->cut && r->head->last_seq < r->snd_una) {
    pl_reliable__msg *m = r->head;
    int rv = pl_reliable__event_push(r, PL_RELIABLE_EV_ACKED, m->id, 0, NULL, 0);
    if (rv != 0)
      return rv; /* kept: the next ACK releases it */
    r->head = m->next;
    if (r->head == NULL)
      r->tail = NULL;
    r->queued_bytes -= m->len;
    r->queued_count--;
    msg_free(m);
  }
  return 0;
}

int pl_reliable__on_ack(pl_reliable *r, const pl_reliable__ack *a, uint64_t now) {
  uint64_t top = a->n > 0 ? a->end[a->n - 1] : a->cumulative; /* largest acked + 1 */
  if (a->cumulative > r->snd_nxt || top > r->snd_nxt || a->latest >= r->snd_nxt)
    return PL_ERR_PARSE;
  r->stats.acks_received++;

  /* One sample per ACK, from the fragment whose arrival it answers, if that was sent once
   * (Karn) and this is the first word of it. Not the largest acknowledged: under reordering
   * that is the one that overtook the others, and the estimate comes out low. Not every
   * fragment newly acknowledged: after a lost ACK some are covered only when traffic resumes,
   * and their samples would include the pause. */
  pl_reliable__sent *l = a->latest >= r->snd_una ? slot(r, a->latest) : NULL;
  if (l != NULL && !l->acked && l->sends == 1 && now >= l->last_sent)
    rtt_sample(r, now - l->last_sent, a->delay_us);

  for (uint64_t seq = r->snd_una; seq < a->cumulative; seq++)
    mark_acked(r, seq, now);
  if (a->cumulative > r->snd_una)
    r->snd_una = a->cumulative;
  for (size_t i = 0; i < a->n; i++)
    for (uint64_t seq = a->start[i] > r->snd_una ? a->start[i] : r->snd_una; seq < a->end[i]; seq++)
      mark_acked(r, seq, now);
  r->peer_window = a->window;

  /* A transmission three or more after this fragment's last one was acknowledged, and it has
   * been out for longer than an RTT plus its variation: it is lost, do not wait for its timer.
   * This is RFC 9002's packet threshold counted in transmissions (a retransmission keeps its
   * sequence number), with a time guard in the spirit of RACK (RFC 8985) so that reordering
   * does not make it resend what is only late. */
  if (r->largest_acked_tx >= FAST_THRESHOLD) {
    uint64_t before_tx = r->largest_acked_tx - FAST_THRESHOLD;
    uint64_t age = sat_add(r->srtt, 4 * r->rttvar);
    for (uint64_t seq = r->snd_una; seq < r->snd_nxt; seq++) {
      pl_reliable__sent *s = slot(r, seq);
      if (!s->acked && !s->lost && s->last_tx <= before_tx && now >= s->last_sent &&
          now - s->last_sent >= age) {
        s->lost = 1;
        r->lost++;
      }
    }
  }
  return release_acked(r);
}

void pl_reliable__send_free(pl_reliable *r) {
  pl_reliable__msg *m = r->head, *next;
  for (; m != NULL; m = next) {
    next = m->next;
    msg_free(m);
  }
  r->head = r->tail = r->uncut = NULL;
  r->queued_bytes = 0;
  r->queued_count = 0;
  r->snd_una = r->snd_nxt;
  r->unacked = r->lost = 0;
}
