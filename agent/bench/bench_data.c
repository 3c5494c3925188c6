/* The benchmark's data: the sender's frames and rate, the receiver's counts (loss, reordering,
 * jitter as iperf3 -u counts them), and the reports the initiator streams. */
#include <string.h>

#include "agent/bench/bench_impl.h"
#include "control/common/err.h"

static uint64_t cpu_now(const pl_bench *b) {
  return b->hooks.cpu_us ? b->hooks.cpu_us(b->hooks.arg) : 0;
}

/* --- receiver ------------------------------------------------------------------------------ */

static uint64_t *word(pl_bench__rx *rx, uint64_t seq) {
  return &rx->seen[(seq / 64) % PL_BENCH__WORDS];
}

static uint64_t bit(uint64_t seq) {
  return (uint64_t)1 << (seq % 64);
}

/* Forgets the window's oldest numbers as max_seq moves up to `seq`. */
static void advance(pl_bench__rx *rx, uint64_t seq) {
  if (seq - rx->max_seq >= PL_BENCH_WINDOW) {
    memset(rx->seen, 0, sizeof rx->seen);
  } else {
    for (uint64_t s = rx->max_seq + 1; s <= seq; s++)
      *word(rx, s) &= ~bit(s);
  }
  rx->max_seq = seq;
}

void pl_bench__rx_datagram(pl_bench *b, uint64_t seq, size_t len, uint64_t send_us, uint64_t now) {
  pl_bench__rx *rx = &b->rx;
  if (seq == 0)
    return;
  if (seq > rx->max_seq) {
    rx->lost += seq - rx->max_seq - 1; /* until they turn up late */
    advance(rx, seq);
  } else if (rx->max_seq - seq >= PL_BENCH_WINDOW) {
    b->stats.late++; /* cannot tell from a duplicate: stays lost */
    return;
  } else if (*word(rx, seq) & bit(seq)) {
    b->stats.duplicates++;
    return;
  } else {
    rx->ooo++;
    if (rx->lost)
      rx->lost--;
  }
  *word(rx, seq) |= bit(seq);
  rx->bytes += len;
  rx->packets++;
  if (rx->packets == 1)
    rx->first_us = now;
  rx->last_us = now;
  /* RFC 3550 interarrival jitter; the two clocks' offset cancels out. */
  int64_t transit = (int64_t)(now - send_us);
  if (rx->packets > 1) {
    int64_t d = transit - rx->last_transit;
    rx->jitter_us += ((double)(d < 0 ? -d : d) - rx->jitter_us) / 16.0;
  }
  rx->last_transit = transit;
}

void pl_bench__my_counts(const pl_bench *b, uint64_t now, pl_bench_counts *c) {
  memset(c, 0, sizeof *c);
  uint64_t cpu = cpu_now(b);
  c->cpu_us = cpu > b->cpu_start ? cpu - b->cpu_start : 0;
  if (b->sender) {
    c->elapsed_us = now - b->run_start;
    c->bytes = b->sent_bytes;
    c->packets = b->sent_packets;
    return;
  }
  /* UDP: first to last datagram (iperf3's receiver view); a stream: from the start to its
   * last byte, since the tail can arrive after the sender stopped counting. */
  if (b->p.transport == PL_BENCH_XPORT_UDP)
    c->elapsed_us = b->rx.packets ? b->rx.last_us - b->rx.first_us : 0;
  else
    c->elapsed_us = b->rx.bytes ? b->rx.last_us - b->run_start : 0;
  c->bytes = b->rx.bytes;
  c->packets = b->rx.packets;
  c->lost = b->rx.lost;
  c->out_of_order = b->rx.ooo;
  c->jitter_ns = (uint64_t)(b->rx.jitter_us * 1000.0);
}

void pl_bench_stream_received(pl_bench *b, uint64_t n, uint64_t chunks, uint64_t now) {
  if (b->sender || b->state != PL_BENCH_RUNNING)
    return;
  b->last_heard = now;
  if (b->rx.bytes == 0)
    b->rx.first_us = now;
  b->rx.bytes += n;
  b->rx.packets += chunks;
  b->rx.last_us = now;
  if (b->fin_waiting && b->rx.bytes >= b->peer_final.bytes)
    pl_bench__receiver_done(b, now);
}

/* --- sender -------------------------------------------------------------------------------- */

void pl_bench__finish_sending(pl_bench *b, uint64_t now) {
  b->state = PL_BENCH_FINISHING;
  memset(&b->retx, 0, sizeof b->retx);
  b->retx.kind = PL_BENCH_FIN;
  b->has_retx = 1;
  b->retx_at = now;
  b->rto = PL_BENCH_RTO_US;
  b->tries = PL_BENCH_TRIES;
  /* The sender's totals are fixed now; FIN carries them. */
  pl_bench__my_counts(b, now, &b->my_final);
  b->have_my_final = 1;
  b->end_at = now;
}

/* The rate as a token bucket: bytes allowed now, filled at rate/8 per second from the last
 * refill, holding at most a short burst (so a sender held up by a full socket does not then
 * exceed the rate to catch up). */
static uint64_t burst(const pl_bench *b) {
  uint64_t span = b->p.rate_bps / 8 * PL_BENCH_BURST_US / 1000000;
  return span > 2 * (uint64_t)b->p.chunk ? span : 2 * (uint64_t)b->p.chunk;
}

static uint64_t tokens(const pl_bench *b, uint64_t now) {
  if (b->p.rate_bps == 0)
    return UINT64_MAX;
  uint64_t t = now > b->tok_at ? now - b->tok_at : 0;
  uint64_t add = b->p.rate_bps / 8 * (t / 1000000) + b->p.rate_bps / 8 * (t % 1000000) / 1000000;
  uint64_t have = b->tokens + add, max = burst(b);
  return have < max ? have : max;
}

uint64_t pl_bench__rate_deadline(const pl_bench *b, uint64_t now) {
  if (b->p.rate_bps == 0 || b->p.transport != PL_BENCH_XPORT_UDP)
    return now;
  uint64_t have = tokens(b, now);
  if (have >= b->p.chunk)
    return now;
  /* When one more chunk is allowed. */
  return now + ((b->p.chunk - have) * 8 * 1000000 + b->p.rate_bps - 1) / b->p.rate_bps;
}

size_t pl_bench_fill(pl_bench *b, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  size_t n = 0, chunk = b->p.chunk;
  *plen = 0;
  if (!pl_bench_sending(b) || b->p.transport != PL_BENCH_XPORT_UDP || now >= b->end_at)
    return 0;
  uint64_t have = tokens(b, now);
  while ((n + 1) * chunk <= cap && have >= chunk && !(b->p.bytes && b->sent_bytes >= b->p.bytes)) {
    if (pl_bench_data_encode(&b->keys, &b->ends, b->session, ++b->data_seq, now, buf + n * chunk,
                             chunk) != 0)
      break;
    n++;
    have -= chunk;
    b->sent_bytes += chunk;
    b->sent_packets++;
  }
  if (b->p.rate_bps) {
    b->tokens = have;
    b->tok_at = now;
  }
  *plen = n * chunk;
  return n;
}

void pl_bench_stream_sent(pl_bench *b, uint64_t n, uint64_t chunks, uint64_t now) {
  (void)now;
  if (!pl_bench_sending(b))
    return;
  b->sent_bytes += n;
  b->sent_packets += chunks;
}

uint64_t pl_bench_stream_room(const pl_bench *b) {
  if (!pl_bench_sending(b))
    return 0;
  if (b->p.bytes == 0)
    return UINT64_MAX;
  return b->p.bytes > b->sent_bytes ? b->p.bytes - b->sent_bytes : 0;
}

/* --- reports ------------------------------------------------------------------------------- */

static double bps(uint64_t bytes, uint64_t us) {
  return us ? (double)bytes * 8.0 * 1e6 / (double)us : 0.0;
}

void pl_bench__final_report(const pl_bench *b, pl_bench_report *r) {
  const pl_bench_counts *snd = b->sender ? &b->my_final : &b->peer_final;
  const pl_bench_counts *rcv = b->sender ? &b->peer_final : &b->my_final;
  memset(r, 0, sizeof *r);
  r->final = 1;
  r->elapsed_ms = snd->elapsed_us / 1000;
  r->bytes_sent = snd->bytes;
  r->packets_sent = snd->packets;
  r->bytes_received = rcv->bytes;
  r->packets_received = rcv->packets;
  r->lost = rcv->lost;
  r->out_of_order = rcv->out_of_order;
  r->jitter_us = (double)rcv->jitter_ns / 1000.0;
  /* UDP: both rates over the sender's run, as iperf3 reports the receiver over the test. A
   * stream's receiver over its own time to the last byte (which may come after the sender's
   * buffers took the last chunk). */
  r->sender_bps = bps(snd->bytes, snd->elapsed_us);
  uint64_t span = snd->elapsed_us;
  if (b->p.transport != PL_BENCH_XPORT_UDP && rcv->elapsed_us > span)
    span = rcv->elapsed_us;
  r->receiver_bps = bps(rcv->bytes, span);
  r->sender_cpu_seconds = (double)snd->cpu_us / 1e6;
  r->receiver_cpu_seconds = (double)rcv->cpu_us / 1e6;
}

static uint64_t delta(uint64_t now, uint64_t *last) {
  uint64_t d = now > *last ? now - *last : 0;
  if (now > *last)
    *last = now;
  return d;
}

int pl_bench_report_next(pl_bench *b, uint64_t now, pl_bench_report *r) {
  if (!b->initiator)
    return 0;
  if (b->final_ready && !b->final_taken) {
    b->final_taken = 1;
    pl_bench__final_report(b, r);
    return 1;
  }
  if (b->state != PL_BENCH_RUNNING || now < b->report_at)
    return 0;
  pl_bench_counts mine, snd, rcv;
  pl_bench__my_counts(b, now, &mine);
  snd = b->sender ? mine : b->peer;
  rcv = b->sender ? b->peer : mine;
  uint64_t span = now - b->rep_at;
  memset(r, 0, sizeof *r);
  r->elapsed_ms = (now - b->run_start) / 1000;
  r->bytes_sent = delta(snd.bytes, &b->rep_sent_bytes);
  r->packets_sent = delta(snd.packets, &b->rep_sent_packets);
  r->bytes_received = delta(rcv.bytes, &b->rep_recv_bytes);
  r->packets_received = delta(rcv.packets, &b->rep_recv_packets);
  r->lost = delta(rcv.lost, &b->rep_lost);
  r->out_of_order = delta(rcv.out_of_order, &b->rep_ooo);
  r->jitter_us = (double)rcv.jitter_ns / 1000.0;
  r->sender_bps = bps(r->bytes_sent, span);
  r->receiver_bps = bps(r->bytes_received, span);
  b->rep_at = now;
  b->report_at = now + (uint64_t)b->p.interval_ms * 1000;
  return 1;
}
