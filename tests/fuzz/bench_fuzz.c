/* agent/bench: benchmark frames from the network. Input: mode(1) then
 *   mode 0: a raw frame, peeked, offered to a responder as a START and to both sides of a
 *           running benchmark (it must not open: only the two agents can seal);
 *   mode 1: kind(1) seq(8) body: the body sealed as that CTRL kind by the peer, so the body
 *           parsers and the state machines behind them see any content.
 * Then the run goes on (DATA both ways as the sessions make it); whatever happened, a summary
 * never counts more bytes received than sent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bench/bench.h"
#include "control/common/err.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

#define SESSION 0x5e55ull
#define NONCE 0x0123456789abcdefull

static uint8_t key[32] = {1, 2, 3};
static uint64_t now;

static void ends(pl_bench_ends *e, int side) {
  memset(e, 0, sizeof *e);
  memset(e->pairing, 0xab, sizeof e->pairing);
  memset(e->self, side ? 0x22 : 0x11, sizeof e->self);
  memset(e->peer, side ? 0x11 : 0x22, sizeof e->peer);
  e->frame_key = key;
}

static void deliver(pl_bench **to, int side, const uint8_t *frame, size_t len) {
  pl_bench_head h;
  pl_bench_ends e;
  pl_bench_limits lim = {.max_chunk = 1400, .xports = 1u << PL_BENCH_XPORT_UDP, .nonce = NONCE};
  if (pl_bench_peek(frame, len, &h) != 0)
    return;
  ends(&e, side);
  if (*to == NULL) {
    if (h.type == PL_FRAME_BENCH_CTRL && h.kind == PL_BENCH_START)
      (void)pl_bench_accept(to, &e, &h, frame, len, &lim, now, NULL);
    return;
  }
  (void)pl_bench_recv(*to, &h, frame, len, now);
}

/* Both sides through START / START_ACK, then everything each has to say. */
static void pump(pl_bench *s[2], int rounds) {
  uint8_t buf[8 * 1400];
  size_t len;
  for (int r = 0; r < rounds; r++) {
    now += 1000;
    for (int i = 0; i < 2; i++) {
      if (s[i] == NULL)
        continue;
      while (pl_bench_poll(s[i], now, buf, sizeof buf, &len))
        deliver(&s[1 - i], 1 - i, buf, len);
      size_t n = pl_bench_fill(s[i], now, buf, sizeof buf, &len);
      for (size_t k = 0; k < n; k++)
        deliver(&s[1 - i], 1 - i, buf + k * (len / n), len / n);
      pl_bench_report rep;
      while (pl_bench_report_next(s[i], now, &rep))
        ASSERT(rep.bytes_received <= rep.bytes_sent || !rep.final);
    }
  }
}

/* What the initiator (side 0) would seal, to hand to the responder. */
static size_t seal_ctrl(uint8_t kind, uint64_t seq, const uint8_t *body, size_t bodylen,
                        uint8_t *out) {
  pl_bench_ends e;
  pl_bench_keys k = {0};
  size_t aad = PL_BENCH_HEADER + 1, n = 0;
  ends(&e, 0);
  ASSERT(pl_bench_keys_start(&k, &e, SESSION) == 0);
  ASSERT(pl_bench_keys_session(&k, &e, SESSION, NONCE) == 0);
  out[0] = PL_FRAME_BENCH_CTRL;
  out[1] = 1;
  memcpy(out + 2, e.pairing, 8);
  for (int i = 0; i < 8; i++) {
    out[10 + i] = (uint8_t)(SESSION >> (56 - 8 * i));
    out[18 + i] = (uint8_t)(seq >> (56 - 8 * i));
  }
  out[PL_BENCH_HEADER] = kind;
  if (kind == PL_BENCH_START_ACK) {
    memset(out + aad, 0, 8);
    aad += 8;
  }
  if (pl_seal(kind == PL_BENCH_START ? k.start : k.ctrl, seq, out, aad, body, bodylen, out + aad,
              PL_BENCH_CTRL_MAX, &n) != 0)
    n = 0;
  pl_bench_keys_free(&k);
  return n ? aad + n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_bench *s[2] = {NULL, NULL};
  pl_bench_ends e;
  pl_bench_params p = {.transport = PL_BENCH_XPORT_UDP,
                       .chunk = 200,
                       .rate_bps = 800000,
                       .duration_ms = 50,
                       .interval_ms = 10};
  if (size < 1 || size > 4096)
    return 0;
  now = 1000000;
  ends(&e, 0);
  ASSERT(pl_bench_initiate(&s[0], &e, &p, SESSION, now, NULL) == 0);
  pump(s, 5);
  ASSERT(s[1] != NULL);
  const uint8_t *in = data + 1;
  size_t inlen = size - 1;
  uint8_t frame[PL_BENCH_CTRL_MAX + 1500];
  if (data[0] == 0) {
    deliver(&s[1], 1, in, inlen);
    deliver(&s[0], 0, in, inlen);
    pl_bench *fresh = NULL;
    deliver(&fresh, 1, in, inlen);
    ASSERT(fresh == NULL); /* nobody but side 0 can seal a START */
  } else if (data[0] == 1 && inlen >= 9 && inlen - 9 <= PL_BENCH_REASON_MAX + 2) {
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
      seq = (seq << 8) | in[1 + i];
    size_t n = seal_ctrl(in[0], seq, in + 9, inlen - 9, frame);
    if (n)
      deliver(&s[1], 1, frame, n);
  }
  pump(s, 100);
  pl_bench_del(s[0]);
  pl_bench_del(s[1]);
  return 0;
}
