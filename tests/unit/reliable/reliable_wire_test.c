/* agent/reliable's byte layout (docs/protocol.md): golden fragment and ACK payloads as the
 * channel makes them; malformed payloads and ones that contradict what the channel knows are
 * refused with PL_ERR_PARSE and change nothing. */

#include <string.h>

#include "agent/reliable/reliable.h"
#include "agent/reliable/reliable_impl.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "tests/unit/common/count_check.h"

PL_TEST_COUNTERS;

static void check_hex(const uint8_t *got, size_t len, const char *want) {
  char hex[2 * 1100 + 1];
  pl_hex_encode(hex, got, len);
  CHECK(strcmp(hex, want) == 0);
  if (strcmp(hex, want) != 0)
    fprintf(stderr, "  got  %s\n  want %s\n", hex, want);
}

static size_t from_hex(uint8_t *out, const char *hex) {
  size_t n = strlen(hex) / 2;
  CHECK_RV(pl_hex_decode(out, n, hex), 0);
  return n;
}

/* Fragments 0..5 of a: "hello" (0), a 2,500-byte message (1-3), "!" (4), "" (5). */
static void make_frags(pl_reliable *a, uint8_t frags[6][1100], size_t lens[6]) {
  static uint8_t mid[2500];
  uint64_t id;
  for (size_t i = 0; i < sizeof mid; i++)
    mid[i] = (uint8_t)i;
  CHECK_RV(pl_reliable_send(a, (const uint8_t *)"hello", 5, 0, &id), 0);
  CHECK_RV(pl_reliable_send(a, mid, sizeof mid, 0, &id), 0);
  CHECK_RV(pl_reliable_send(a, (const uint8_t *)"!", 1, 0, &id), 0);
  CHECK_RV(pl_reliable_send(a, NULL, 0, 0, &id), 0);
  for (int i = 0; i < 6; i++) {
    CHECK_RV(pl_reliable_poll(a, 0, frags[i], 1100, &lens[i]), 0);
    CHECK(lens[i] > 0);
  }
}

static void test_golden(void) {
  pl_reliable *a = NULL, *b = NULL;
  uint8_t frags[6][1100], ack[1100];
  size_t lens[6], acklen = 0;
  CHECK_RV(pl_reliable_new(&a, NULL), 0);
  CHECK_RV(pl_reliable_new(&b, NULL), 0);
  make_frags(a, frags, lens);
  check_hex(frags[0], lens[0],
            "01"
            "0000000000000000"
            "00000005"
            "00000000"
            "68656c6c6f");
  /* The 2,500-byte message: 1,083 + 1,083 + 334 bytes at offsets 0, 1083, 2166. */
  CHECK_U64(lens[1], ==, 1100);
  check_hex(frags[1], 17,
            "01"
            "0000000000000001"
            "000009c4"
            "00000000");
  check_hex(frags[2], 17,
            "01"
            "0000000000000002"
            "000009c4"
            "0000043b");
  CHECK_U64(lens[3], ==, 17 + 334);
  check_hex(frags[3], 17,
            "01"
            "0000000000000003"
            "000009c4"
            "00000876");
  check_hex(frags[5], lens[5],
            "01"
            "0000000000000005"
            "00000000"
            "00000000");

  /* B gets 0, 2, 3 and 5 at t = 1000; 5 last. ACK at t = 1500: cumulative 1, ranges [2, 4)
   * and [5, 6), latest 5, window 256, delay 500 us. */
  int got[] = {0, 2, 3, 5};
  for (int i = 0; i < 4; i++)
    CHECK_RV(pl_reliable_recv(b, frags[got[i]], lens[got[i]], 1000), 0);
  CHECK_RV(pl_reliable_poll(b, 1500, ack, sizeof ack, &acklen), 0);
  check_hex(ack, acklen,
            "02"
            "02"
            "0000000000000001"
            "0000000000000005"
            "00000100"
            "000001f4"
            "0000"
            "0002"
            "0000"
            "0001");

  /* A takes it: 0, 2, 3 and 5 acknowledged, 1 and 4 not. */
  CHECK_RV(pl_reliable_recv(a, ack, acklen, 1500), 0);
  pl_reliable_stats st;
  pl_reliable_stats_get(a, &st);
  CHECK_U64(st.in_flight, ==, 5); /* 1..5: cumulative is 1 */
  pl_reliable_event ev;
  CHECK(pl_reliable_next_event(a, &ev) && ev.type == PL_RELIABLE_EV_ACKED && ev.msg_id == 1);
  CHECK(!pl_reliable_next_event(a, &ev));
  pl_reliable_del(a);
  pl_reliable_del(b);
}

/* Each of these fails to parse, or contradicts a channel that has sent fragments 0..5. */
static const char *const malformed[] = {
    "",
    "00",
    "03",
    "ff0000",
    /* fragment: short header; data past the message's end; empty data in a non-empty message */
    "0100000000000000000000000500000000",
    "01000000000000000000000001000000006869",
    "0100000000000000000000000100000001"
    "68",
    "0100000000000000000000000500000000",
    /* ACK: short; count and length disagree; an empty range; beyond what was sent; latest
     * beyond what was sent; a range ending past the sent fragments */
    "02000000000000000000000000000000000000000000000000",
    "0201000000000000000000000000000000000000010000000000",
    "0201"
    "0000000000000001"
    "0000000000000000"
    "00000100"
    "00000000"
    "00000000",
    "0200"
    "0000000000000007"
    "0000000000000000"
    "00000100"
    "00000000",
    "0200"
    "0000000000000001"
    "0000000000000006"
    "00000100"
    "00000000",
    "0201"
    "0000000000000001"
    "0000000000000000"
    "00000100"
    "00000000"
    "00000005",
    /* ranges overflowing 64 bits */
    "0201"
    "fffffffffffffffe"
    "0000000000000000"
    "00000100"
    "00000000"
    "ffffffff",
};

static void test_malformed(void) {
  pl_reliable *a = NULL;
  uint8_t frags[6][1100], in[1100];
  size_t lens[6];
  CHECK_RV(pl_reliable_new(&a, NULL), 0);
  make_frags(a, frags, lens);
  uint64_t deadline = pl_reliable_deadline(a);
  pl_reliable_stats before, after;
  pl_reliable_stats_get(a, &before);
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    size_t n = from_hex(in, malformed[i]);
    int rv = pl_reliable_recv(a, in, n, 10);
    CHECK_RV(rv, PL_ERR_PARSE);
    if (rv != PL_ERR_PARSE)
      fprintf(stderr, "  input %zu: %s\n", i, malformed[i]);
  }
  pl_reliable_stats_get(a, &after);
  CHECK_U64(after.dropped_parse, ==, sizeof malformed / sizeof malformed[0]);
  CHECK_U64(after.in_flight, ==, before.in_flight);
  CHECK_U64(after.frags_received, ==, 0);
  CHECK_U64(after.acks_received, ==, 0);
  CHECK_U64(pl_reliable_deadline(a), ==, deadline);
  pl_reliable_event ev;
  CHECK(!pl_reliable_next_event(a, &ev));
  pl_reliable_del(a);
}

/* Fragments that contradict their neighbours, and ones over the receiver's limits. */
static void test_inconsistent(void) {
  pl_reliable *b = NULL;
  uint8_t in[1200];
  CHECK_RV(pl_reliable_new(&b, NULL), 0);
  /* seq 0 must start a message. */
  CHECK_RV(pl_reliable_recv(b, in, from_hex(in, "01000000000000000000000005000000016869"), 0),
           PL_ERR_PARSE);
  /* seq 1: bytes 0-1 of a 5-byte message; seq 2 then must be bytes 2.. of it. */
  CHECK_RV(pl_reliable_recv(b, in, from_hex(in, "01000000000000000100000005000000006869"), 0), 0);
  CHECK_RV(pl_reliable_recv(b, in, from_hex(in, "01000000000000000200000005000000036869"), 0),
           PL_ERR_PARSE);
  CHECK_RV(pl_reliable_recv(b, in, from_hex(in, "01000000000000000200000006000000026869"), 0),
           PL_ERR_PARSE);
  /* seq 0 ends a message only if seq 1 starts one: "hi" as a 2-byte message is fine... */
  CHECK_RV(pl_reliable_recv(b, in, from_hex(in, "01000000000000000000000002000000006869"), 0), 0);
  /* ...and a message over the limit, or a fragment over max_payload, is refused. */
  CHECK_RV(pl_reliable_recv(b, in, from_hex(in, "01000000000000000300100001000000006869"), 0),
           PL_ERR_PARSE);
  memset(in, 0, sizeof in);
  in[0] = 0x01;
  in[8] = 4;                    /* seq 4 */
  in[11] = 0x10, in[12] = 0x00; /* message of 4096 bytes */
  CHECK_RV(pl_reliable_recv(b, in, 1101, 0), PL_ERR_PARSE);
  CHECK_RV(pl_reliable_recv(b, in, 1100, 0), 0);
  pl_reliable_event ev;
  CHECK(pl_reliable_next_event(b, &ev) && ev.msg_id == 1 && ev.len == 2 &&
        memcmp(ev.data, "hi", 2) == 0);
  CHECK(!pl_reliable_next_event(b, &ev));
  pl_reliable_del(b);
}

/* Whatever parses encodes back to the same bytes. */
static void test_canonical(void) {
  static const char *const ok[] = {
      "01000000000000000000000005000000006869",
      "0100000000000000ff00000000"
      "00000000",
      "0200"
      "0000000000000000"
      "0000000000000000"
      "00000100"
      "00000000",
      "0203"
      "0000000000000010"
      "0000000000000012"
      "00000100"
      "00001000"
      "0001"
      "0002"
      "0000"
      "0001"
      "ffff"
      "ffff",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint8_t in[200], out[200];
    size_t n = from_hex(in, ok[i]), m = 0;
    int type = 0;
    pl_reliable__frag f;
    pl_reliable__ack a;
    CHECK_RV(pl_reliable__parse(in, n, &type, &f, &a), 0);
    if (type == PL_RELIABLE__TYPE_FRAG)
      CHECK_RV(pl_reliable__encode_frag(out, sizeof out, &m, &f), 0);
    else
      CHECK_RV(pl_reliable__encode_ack(out, sizeof out, &m, &a), 0);
    CHECK(m == n && memcmp(in, out, n) == 0);
  }
}

int main(void) {
  test_golden();
  test_malformed();
  test_inconsistent();
  test_canonical();
  return pl_test_report("reliable_wire_test");
}
