#ifndef PEERLINK_TESTS_QUIC_HARNESS_H
#define PEERLINK_TESTS_QUIC_HARNESS_H

/* Two agent/quic connections in one process, joined by a simulated link in memory: synthetic
 * time, one-way latency, a bandwidth limit with a drop-tail queue, and seeded random loss. No
 * sockets. Identities are real (agent/identity in $TEST_TMPDIR), so the pin is checked on real
 * certificates.
 *
 * Streams in tests are h_stream records: a source writes a deterministic pattern of `to_send`
 * bytes with back-pressure, a sink checks every byte it receives against the same pattern. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity/identity.h"
#include "agent/quic/quic.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

#define H_LATENCY_US 5000   /* one way */
#define H_BYTES_PER_US 12.5 /* 100 Mbit/s */
#define H_QUEUE_MAX 256     /* packets waiting on the link; more are dropped */
#define H_RING 1024
#define H_STREAMS 64

typedef struct h_pkt {
  uint64_t at;
  size_t len;
  uint8_t data[PL_QUIC_MAX_PACKET];
} h_pkt;

typedef struct h_link {
  h_pkt *ring;
  size_t head, len;
  double free_at; /* when the link has sent what is queued */
  double loss;    /* 0..1 */
  uint64_t delivered, dropped_loss, dropped_queue;
  int down; /* drop everything */
} h_link;

struct h_side;

typedef struct h_stream {
  struct h_side *side;
  int used;
  int64_t sid;
  uint8_t kind;
  uint32_t seed;
  /* source */
  uint64_t to_send, written;
  int finish, finished;
  uint64_t acked;
  int writable_calls;
  /* sink */
  uint64_t received;
  int fin;
  int bad;       /* a byte differed from the pattern */
  uint64_t hold; /* manual consume: bytes received but not consumed yet */
  int manual;
  /* end */
  int closed;
  int close_err;
  uint64_t close_code;
} h_stream;

typedef struct h_side {
  const char *name;
  pl_quic *q;
  pl_quic_config cfg;
  pl_quic_callbacks cb;
  pl_quic_stream_cb scb, scb_manual;
  int established, closed, wakes;
  int refuse_kind;  /* stream_open refuses streams of this kind */
  int manual;       /* peer-opened streams consume by hand */
  int hold_consume; /* ...and h_run does not release their bytes */
  h_stream streams[H_STREAMS];
} h_side;

typedef struct h_pair {
  h_side c, s;
  h_link c2s, s2c;
  uint64_t now;
  uint64_t rng;
  pl_identity ids[3];
  pl_quic_tls *tls[3];
} h_pair;

/* --- pattern ----------------------------------------------------------------------------- */

static inline uint8_t h_byte(uint32_t seed, uint64_t i) {
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull + seed;
  x ^= x >> 29;
  return (uint8_t)(x >> 17);
}

/* Both ends of a stream (and both directions of a bidirectional one) use its ID's pattern. */
static inline uint32_t h_seed(int64_t sid) {
  return (uint32_t)sid * 7919u + 17u;
}

/* --- streams ----------------------------------------------------------------------------- */

static inline h_stream *h_stream_slot(h_side *side) {
  for (int i = 0; i < H_STREAMS; i++)
    if (!side->streams[i].used) {
      h_stream *st = &side->streams[i];
      memset(st, 0, sizeof *st);
      st->used = 1;
      st->side = side;
      return st;
    }
  CHECK_MSG(0, "%s: out of stream slots", side->name);
  return NULL;
}

static inline void h_cb_recv(void *sarg, pl_quic *q, int64_t sid, const uint8_t *data, size_t len,
                             int fin) {
  h_stream *st = sarg;
  (void)q;
  CHECK(st->sid == sid);
  CHECK_MSG(!st->fin, "%s: data after fin", st->side->name);
  for (size_t i = 0; i < len; i++)
    if (data[i] != h_byte(st->seed, st->received + i))
      st->bad = 1;
  st->received += len;
  if (st->manual)
    st->hold += len;
  if (fin)
    st->fin = 1;
}

static inline void h_cb_acked(void *sarg, pl_quic *q, int64_t sid, uint64_t acked) {
  h_stream *st = sarg;
  (void)q;
  (void)sid;
  CHECK_MSG(acked > st->acked, "acked went from %llu to %llu", (unsigned long long)st->acked,
            (unsigned long long)acked);
  CHECK_MSG(acked <= st->written, "acked %llu of %llu written", (unsigned long long)acked,
            (unsigned long long)st->written);
  st->acked = acked;
}

static inline void h_cb_writable(void *sarg, pl_quic *q, int64_t sid) {
  h_stream *st = sarg;
  (void)q;
  (void)sid;
  st->writable_calls++;
}

static inline void h_cb_closed(void *sarg, pl_quic *q, int64_t sid, int err, uint64_t code) {
  h_stream *st = sarg;
  (void)q;
  (void)sid;
  CHECK_MSG(!st->closed, "%s: stream closed twice", st->side->name);
  st->closed = 1;
  st->close_err = err;
  st->close_code = code;
}

/* Writes what the source still has, as far as the buffer takes it. */
static inline void h_stream_pump(h_stream *st) {
  uint8_t chunk[16384];
  pl_quic *q = st->side->q;
  pl_quic_stream_info info;
  while (st->written < st->to_send && pl_quic_stream_get_info(q, st->sid, &info) == 0) {
    size_t n = sizeof chunk;
    if (st->to_send - st->written < n)
      n = (size_t)(st->to_send - st->written);
    if (info.buffer_free < n) /* make only what the buffer takes, then wait for `writable` */
      n = info.buffer_free ? info.buffer_free : 1;
    for (size_t i = 0; i < n; i++)
      chunk[i] = h_byte(st->seed, st->written + i);
    size_t acc = 0;
    if (pl_quic_stream_write(q, st->sid, chunk, n, &acc) != 0)
      return;
    st->written += acc;
    if (acc < n)
      return;
  }
  if (st->finish && !st->finished && pl_quic_stream_finish(q, st->sid) == 0)
    st->finished = 1;
}

/* The record of stream `sid` on `side` (NULL when it has none). */
static inline h_stream *h_find(h_side *side, int64_t sid) {
  for (int i = 0; i < H_STREAMS; i++)
    if (side->streams[i].used && side->streams[i].sid == sid)
      return &side->streams[i];
  return NULL;
}

/* Opens a stream from `side` that sends `bytes` of pattern (then FIN when `finish`). */
static inline h_stream *h_open(h_side *side, uint8_t kind, int bidi, uint64_t bytes, int finish) {
  h_stream *st = h_stream_slot(side);
  st->kind = kind;
  st->to_send = bytes;
  st->finish = finish;
  CHECK_RV(pl_quic_stream_open(side->q, kind, bidi, &side->scb, st, &st->sid), 0);
  st->seed = h_seed(st->sid);
  h_stream_pump(st);
  return st;
}

static inline int h_cb_stream_open(void *arg, pl_quic *q, int64_t sid, uint8_t kind,
                                   const pl_quic_stream_cb **pcb, void **psarg) {
  h_side *side = arg;
  (void)q;
  if (kind == side->refuse_kind)
    return PL_ERR_STATE;
  h_stream *st = h_stream_slot(side);
  st->sid = sid;
  st->kind = kind;
  st->manual = side->manual;
  st->seed = h_seed(sid);
  *pcb = side->manual ? &side->scb_manual : &side->scb;
  *psarg = st;
  return 0;
}

static inline void h_cb_established(void *arg, pl_quic *q) {
  h_side *side = arg;
  (void)q;
  side->established++;
}

static inline void h_cb_closed_conn(void *arg, pl_quic *q) {
  h_side *side = arg;
  (void)q;
  side->closed++;
}

static inline void h_cb_wake(void *arg, pl_quic *q) {
  h_side *side = arg;
  (void)q;
  side->wakes++;
}

/* --- the link ---------------------------------------------------------------------------- */

static inline double h_rand01(h_pair *p) {
  p->rng ^= p->rng << 13;
  p->rng ^= p->rng >> 7;
  p->rng ^= p->rng << 17;
  return (double)(p->rng >> 11) / 9007199254740992.0;
}

static inline void h_link_send(h_pair *p, h_link *l, const uint8_t *data, size_t len) {
  if (l->down || (l->loss > 0 && h_rand01(p) < l->loss)) {
    l->dropped_loss++;
    return;
  }
  if (l->len >= H_QUEUE_MAX) {
    l->dropped_queue++;
    return;
  }
  double start = l->free_at > (double)p->now ? l->free_at : (double)p->now;
  l->free_at = start + (double)len / H_BYTES_PER_US;
  h_pkt *k = &l->ring[(l->head + l->len) % H_RING];
  k->at = (uint64_t)l->free_at + H_LATENCY_US;
  k->len = len;
  memcpy(k->data, data, len);
  l->len++;
}

/* --- setup ------------------------------------------------------------------------------- */

static inline void h_identity(h_pair *p, int i) {
  char dir[512];
  const char *base = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  snprintf(dir, sizeof dir, "%s/quic_id_%d_%d", base, (int)getpid(), i);
  CHECK_RV(pl_identity_load_or_create(&p->ids[i], dir), 0);
  CHECK_RV(pl_quic_tls_new(&p->tls[i], p->ids[i].cert_der, p->ids[i].cert_der_len,
                           p->ids[i].private_key_der, p->ids[i].private_key_der_len),
           0);
}

static inline void h_fingerprint(const pl_identity *id, uint8_t out[32]) {
  CHECK(wc_Sha256Hash(id->cert_der, (word32)id->cert_der_len, out) == 0);
}

static inline void h_side_init(h_pair *p, h_side *side, const char *name, int client, int tls,
                               int pin_of) {
  memset(side, 0, sizeof *side);
  side->name = name;
  side->cb = (pl_quic_callbacks){.established = h_cb_established,
                                 .stream_open = h_cb_stream_open,
                                 .closed = h_cb_closed_conn,
                                 .wake = h_cb_wake};
  side->scb = (pl_quic_stream_cb){
      .recv = h_cb_recv, .acked = h_cb_acked, .writable = h_cb_writable, .closed = h_cb_closed};
  side->scb_manual = side->scb;
  side->scb_manual.manual_consume = 1;
  side->cfg.client = client;
  side->cfg.tls = p->tls[tls];
  h_fingerprint(&p->ids[pin_of], side->cfg.pin);
  side->cfg.cb = &side->cb;
  side->cfg.arg = side;
}

/* Client identity 0 pinning identity 1; the server presents identity `server_tls` and pins
 * `server_pins` (1 and 0 for a proper pair; 2 is a third identity, for impostors). */
static inline void h_pair_init(h_pair *p, int server_tls, int server_pins) {
  memset(p, 0, sizeof *p);
  p->now = 1000000;
  p->rng = 0x2545F4914F6CDD1Dull;
  for (int i = 0; i < 3; i++)
    h_identity(p, i);
  p->c2s.ring = calloc(H_RING, sizeof(h_pkt));
  p->s2c.ring = calloc(H_RING, sizeof(h_pkt));
  CHECK(p->c2s.ring && p->s2c.ring);
  h_side_init(p, &p->c, "client", 1, 0, 1);
  h_side_init(p, &p->s, "server", 0, server_tls, server_pins);
}

static inline void h_start(h_pair *p) {
  p->c.cfg.now = p->now;
  CHECK_RV(pl_quic_new(&p->c.q, &p->c.cfg, NULL, 0), 0);
}

static inline void h_pair_free(h_pair *p) {
  pl_quic_del(p->c.q);
  pl_quic_del(p->s.q);
  for (int i = 0; i < 3; i++) {
    pl_quic_tls_del(p->tls[i]);
    pl_identity_free(&p->ids[i]);
  }
  free(p->c2s.ring);
  free(p->s2c.ring);
}

/* --- running ----------------------------------------------------------------------------- */

static inline void h_write_all(h_pair *p, h_side *side, h_link *l) {
  uint8_t buf[PL_QUIC_MAX_PACKET];
  size_t len;
  if (side->q == NULL)
    return;
  for (int i = 0; i < 100000 && pl_quic_write(side->q, p->now, buf, sizeof buf, &len) == 1; i++)
    h_link_send(p, l, buf, len);
  pl_quic_write_end(side->q, p->now);
}

static inline void h_deliver(h_pair *p, h_link *l, h_side *to) {
  while (l->len > 0 && l->ring[l->head].at <= p->now) {
    h_pkt *k = &l->ring[l->head];
    if (to->q == NULL) {
      CHECK(!to->cfg.client);
      to->cfg.now = p->now;
      if (pl_quic_new(&to->q, &to->cfg, k->data, k->len) != 0)
        goto next; /* not an Initial: a server ignores it */
    }
    pl_quic_recv(to->q, k->data, k->len, p->now);
    l->delivered++;
  next:
    l->head = (l->head + 1) % H_RING;
    l->len--;
  }
}

static inline uint64_t h_min(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

static inline void h_pump_streams(h_side *side) {
  for (int i = 0; i < H_STREAMS; i++) {
    h_stream *st = &side->streams[i];
    if (!st->used || st->closed)
      continue;
    if (st->to_send || st->finish)
      h_stream_pump(st);
    if (st->manual && st->hold && !side->hold_consume) {
      pl_quic_stream_consume(side->q, st->sid, (size_t)st->hold);
      st->hold = 0;
    }
  }
}

typedef int (*h_until_fn)(h_pair *p);

/* Runs the two sides until `until` holds (returns 1) or `limit_us` of synthetic time passed
 * (returns 0). Sources write what they can and manual-consume sinks release what they hold
 * (unless h_side.hold_consume) each round. */
static inline int h_run(h_pair *p, h_until_fn until, uint64_t limit_us) {
  uint64_t end = p->now + limit_us;
  while (p->now < end) {
    if (until && until(p))
      return 1;
    if (p->c.q) {
      h_pump_streams(&p->c);
    }
    if (p->s.q) {
      h_pump_streams(&p->s);
    }
    h_write_all(p, &p->c, &p->c2s);
    h_write_all(p, &p->s, &p->s2c);
    uint64_t next = UINT64_MAX;
    if (p->c2s.len)
      next = h_min(next, p->c2s.ring[p->c2s.head].at);
    if (p->s2c.len)
      next = h_min(next, p->s2c.ring[p->s2c.head].at);
    uint64_t dc = p->c.q ? pl_quic_deadline(p->c.q) : UINT64_MAX;
    uint64_t ds = p->s.q ? pl_quic_deadline(p->s.q) : UINT64_MAX;
    next = h_min(next, h_min(dc, ds));
    if (next == UINT64_MAX || next > end) {
      p->now = end; /* nothing happens before the end: time just passes */
      break;
    }
    if (next > p->now)
      p->now = next;
    h_deliver(p, &p->c2s, &p->s);
    h_deliver(p, &p->s2c, &p->c);
    if (p->c.q && pl_quic_deadline(p->c.q) <= p->now)
      pl_quic_handle_expiry(p->c.q, p->now);
    if (p->s.q && pl_quic_deadline(p->s.q) <= p->now)
      pl_quic_handle_expiry(p->s.q, p->now);
  }
  return until ? until(p) : 0;
}

static inline int h_both_established(h_pair *p) {
  return p->c.established && p->s.established;
}

static inline int h_both_closed(h_pair *p) {
  return p->c.closed && p->s.closed;
}

/* At least one stream was made and every stream on both sides has closed. */
static inline int h_all_closed(h_pair *p) {
  int n = 0;
  for (int i = 0; i < H_STREAMS; i++) {
    if ((p->c.streams[i].used && !p->c.streams[i].closed) ||
        (p->s.streams[i].used && !p->s.streams[i].closed))
      return 0;
    n += p->c.streams[i].used + p->s.streams[i].used;
  }
  return n > 0;
}

static inline void h_info(pl_quic *q, pl_quic_info *info) {
  CHECK(q != NULL);
  pl_quic_get_info(q, info);
}

#endif
