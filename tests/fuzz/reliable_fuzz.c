/* agent/reliable on hostile input: pl_reliable_recv on arbitrary bytes, mixed with real
 * exchanges with an honest peer, over fuzzed time. The input is a script of records
 *   op(1) dt(1) len(2, big-endian) data(len)
 * time advances dt ms first; then op % 4 == 0: data goes to A as a payload from its peer
 * (events are not drained, so A's receive limits can fill); 1: A sends data as a message;
 * 2: A and the honest peer B exchange what they have to send (both polled until quiet, each
 * payload handed to the other); 3: A is polled, its output dropped, its events drained. A starts
 * with three messages (0, 100 and 300 bytes) already polled out, so ACKs for fragments 0..3 are
 * valid. Checked: recv returns only 0, PL_ERR_PARSE, PL_ERR_FULL or PL_ERR_CLOSED; whatever parses
 * encodes back to the same bytes; after polling until quiet no deadline is in the past;
 * DELIVERED IDs come 1, 2, 3...; every message A queued ends, by the close at the end, in
 * exactly one ACKED or FAILED, in order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/reliable/reliable.h"
#include "agent/reliable/reliable_impl.h"
#include "control/common/err.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

#define MAX_MSGS 4096

typedef struct state {
  pl_reliable *a, *b;
  uint64_t now;
  uint64_t queued;       /* A's messages: IDs 1..queued */
  uint64_t ended;        /* ACKED or FAILED so far (they come in ID order) */
  uint64_t delivered[2]; /* to A from B, to B from A */
  uint8_t buf[2][65536];
} state;

static void drain(state *st, int side) {
  pl_reliable *r = side ? st->b : st->a;
  pl_reliable_event ev;
  while (pl_reliable_next_event(r, &ev)) {
    if (ev.type == PL_RELIABLE_EV_DELIVERED) {
      ASSERT(ev.msg_id == st->delivered[side] + 1);
      ASSERT(ev.len == 0 || ev.data != NULL);
      st->delivered[side]++;
    } else if (side == 0) {
      ASSERT(ev.msg_id == st->ended + 1 && ev.msg_id <= st->queued);
      st->ended++;
    }
  }
}

static void check_canonical(const uint8_t *data, size_t len) {
  pl_reliable__frag f;
  pl_reliable__ack a;
  int type = 0;
  size_t n = 0;
  uint8_t *out;
  if (pl_reliable__parse(data, len, &type, &f, &a) != 0)
    return;
  out = malloc(len ? len : 1);
  ASSERT(out != NULL);
  int rv = type == PL_RELIABLE__TYPE_FRAG ? pl_reliable__encode_frag(out, len, &n, &f)
                                          : pl_reliable__encode_ack(out, len, &n, &a);
  ASSERT(rv == 0 && n == len && memcmp(out, data, len) == 0);
  free(out);
}

static void feed(state *st, int to, const uint8_t *data, size_t len) {
  int rv = pl_reliable_recv(to ? st->b : st->a, data, len, st->now);
  ASSERT(rv == 0 || rv == PL_ERR_PARSE || rv == PL_ERR_FULL || rv == PL_ERR_CLOSED);
}

/* Polls one side until quiet; hands each payload to the other when `deliver`. */
static void poll_out(state *st, int side, int deliver) {
  pl_reliable *r = side ? st->b : st->a;
  size_t len;
  for (int i = 0; i < 100000; i++) {
    ASSERT(pl_reliable_poll(r, st->now, st->buf[side], sizeof st->buf[side], &len) == 0);
    if (len == 0)
      break;
    if (deliver) {
      feed(st, 1 - side, st->buf[side], len);
      drain(st, 1 - side);
    }
  }
  drain(st, side);
  ASSERT(pl_reliable_deadline(r) > st->now);
}

static void send_msg(state *st, const uint8_t *data, size_t len) {
  uint64_t id = 0;
  if (st->queued >= MAX_MSGS)
    return;
  int rv = pl_reliable_send(st->a, data, len, st->now, &id);
  ASSERT(rv == 0 || rv == PL_ERR_FULL || rv == PL_ERR_TOO_BIG || rv == PL_ERR_CLOSED);
  if (rv == 0) {
    ASSERT(id == st->queued + 1);
    st->queued++;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static state st;
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  /* Small bounds, so the fuzzer reaches them. */
  cfg.max_payload = 64;
  cfg.window = 16;
  cfg.max_message = 4096;
  cfg.send_buffer = 8192;
  cfg.send_queue = 32;
  cfg.recv_buffer = 8192;
  cfg.recv_queue = 8;
  cfg.give_up_us = 5000000;
  memset(&st, 0, sizeof st);
  st.now = 1000000;
  ASSERT(pl_reliable_new(&st.a, &cfg) == 0 && pl_reliable_new(&st.b, &cfg) == 0);
  static const uint8_t zeros[300];
  send_msg(&st, zeros, 0);
  send_msg(&st, zeros, 100);
  send_msg(&st, zeros, 300);
  poll_out(&st, 0, 0);

  size_t off = 0;
  while (off + 4 <= size) {
    uint8_t op = data[off], dt = data[off + 1];
    size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
    off += 4;
    if (len > size - off)
      len = size - off;
    /* An exact copy, so ASan sees reads past the end. */
    uint8_t *rec = malloc(len ? len : 1);
    ASSERT(rec != NULL);
    memcpy(rec, data + off, len);
    off += len;
    st.now += (uint64_t)dt * 1000;
    switch (op % 4) {
    case 0:
      check_canonical(rec, len);
      feed(&st, 0, rec, len);
      break;
    case 1: send_msg(&st, rec, len); break;
    case 2:
      poll_out(&st, 0, 1);
      poll_out(&st, 1, 1);
      break;
    default: poll_out(&st, 0, 0); break;
    }
    free(rec);
  }
  /* The end: whatever has not been acknowledged fails now, so every message has ended. */
  pl_reliable_close(st.a);
  drain(&st, 0);
  ASSERT(st.ended == st.queued);
  pl_reliable_del(st.a);
  pl_reliable_del(st.b);
  return 0;
}
