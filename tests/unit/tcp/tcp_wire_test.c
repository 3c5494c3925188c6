/* agent/tcp/tcp_wire: record headers, the decoder over every way of splitting a stream, the
 * per-type length limits, HELLO, and the AUTH MAC's known answer (docs/protocol.md). */
#include <stdlib.h>
#include <string.h>

#include "agent/tcp/tcp_wire.h"
#include "agent/wire/frame.h"
#include "tests/unit/common/check.h"

/* What the decoder delivered, flattened: type, offset, total and bytes of each callback. */
typedef struct sink {
  uint8_t out[1 << 16];
  size_t len;
  int calls;
  int bulk_first_short; /* a BULK record's first slice held less than its head */
  int stop_after;       /* return PL_ERR_CLOSED after this many calls (0: never) */
  const uint8_t *last_data;
} sink;

static void put(sink *s, const void *p, size_t n) {
  CHECK(s->len + n <= sizeof s->out);
  memcpy(s->out + s->len, p, n);
  s->len += n;
}

static int record(void *arg, uint8_t type, const uint8_t *data, size_t len, size_t offset,
                  size_t total) {
  sink *s = arg;
  s->calls++;
  s->last_data = data;
  size_t head = total < PL_TCP_BULK_HEAD ? total : PL_TCP_BULK_HEAD;
  if (type == PL_TCP_BULK && offset == 0 && len < head)
    s->bulk_first_short = 1;
  if (type != PL_TCP_BULK)
    CHECK(offset == 0 && len == total);
  CHECK(offset + len <= total);
  /* Slices of one record are joined, so any split gives the same flat output. */
  if (offset == 0) {
    uint8_t t = type;
    uint32_t tot = (uint32_t)total;
    put(s, &t, 1);
    put(s, &tot, sizeof tot);
  }
  put(s, data, len);
  if (s->stop_after && s->calls >= s->stop_after)
    return PL_ERR_CLOSED;
  return 0;
}

static size_t rec(uint8_t *buf, uint8_t type, const uint8_t *payload, uint32_t len) {
  pl_tcp_header(buf, type, len);
  if (len)
    memcpy(buf + PL_TCP_HEADER_LEN, payload, len);
  return PL_TCP_HEADER_LEN + len;
}

/* A stream of every record type (valid lengths), bulk records of several sizes among them. */
static size_t sample_stream(uint8_t *buf) {
  uint8_t payload[300];
  size_t n = 0;
  for (size_t i = 0; i < sizeof payload; i++)
    payload[i] = (uint8_t)(i * 7 + 1);
  pl_tcp_hello h = {.version = PL_TCP_VERSION};
  memset(h.pairing, 1, sizeof h.pairing);
  pl_tcp_hello_encode(buf + n, &h);
  n += PL_TCP_HEADER_LEN + PL_TCP_HELLO_LEN;
  n += rec(buf + n, PL_TCP_AUTH, payload, PL_TCP_AUTH_LEN);
  n += rec(buf + n, PL_TCP_SELECT, NULL, 0);
  n += rec(buf + n, PL_TCP_MSG, payload, 0);
  n += rec(buf + n, PL_TCP_MSG, payload, 200);
  n += rec(buf + n, PL_TCP_BULK, payload, 1);
  n += rec(buf + n, PL_TCP_BULK, payload, 15);
  n += rec(buf + n, PL_TCP_BULK, payload, 16);
  n += rec(buf + n, PL_TCP_BULK, payload, 300);
  n += rec(buf + n, PL_TCP_ACK, payload, PL_TCP_ACK_LEN);
  n += rec(buf + n, PL_TCP_PING, NULL, 0);
  n += rec(buf + n, PL_TCP_CLOSE, (const uint8_t *)"bye", 3);
  return n;
}

static void decode_in_pieces(const uint8_t *stream, size_t len, size_t a, size_t b, sink *s) {
  pl_tcp_decoder d;
  pl_tcp_decoder_init(&d);
  memset(s, 0, sizeof *s);
  CHECK_RV(pl_tcp_decode(&d, stream, a, record, s), 0);
  CHECK_RV(pl_tcp_decode(&d, stream + a, b - a, record, s), 0);
  CHECK_RV(pl_tcp_decode(&d, stream + b, len - b, record, s), 0);
  CHECK(!d.in_record && d.headlen == 0);
  pl_tcp_decoder_free(&d);
}

static void test_splits(void) {
  static uint8_t stream[2048];
  static sink whole, piece;
  size_t len = sample_stream(stream);
  decode_in_pieces(stream, len, len, len, &whole);
  CHECK(whole.calls == 12);
  CHECK(!whole.bulk_first_short);
  /* Every pair of cut points: the same records, and a BULK head is never cut short. */
  for (size_t a = 0; a <= len; a += 3) {
    for (size_t b = a; b <= len; b += 5) {
      decode_in_pieces(stream, len, a, b, &piece);
      CHECK_MSG(piece.len == whole.len && memcmp(piece.out, whole.out, whole.len) == 0,
                "cuts at %zu and %zu", a, b);
      CHECK_MSG(!piece.bulk_first_short, "cuts at %zu and %zu", a, b);
    }
  }
  /* One byte at a time. */
  pl_tcp_decoder d;
  pl_tcp_decoder_init(&d);
  memset(&piece, 0, sizeof piece);
  for (size_t i = 0; i < len; i++)
    CHECK_RV(pl_tcp_decode(&d, stream + i, 1, record, &piece), 0);
  CHECK(piece.len == whole.len && memcmp(piece.out, whole.out, whole.len) == 0);
  CHECK(!piece.bulk_first_short);
  pl_tcp_decoder_free(&d);
}

static void test_zero_copy(void) {
  uint8_t buf[64], payload[20] = {9};
  sink s = {0};
  pl_tcp_decoder d;
  pl_tcp_decoder_init(&d);
  size_t n = rec(buf, PL_TCP_MSG, payload, sizeof payload);
  CHECK_RV(pl_tcp_decode(&d, buf, n, record, &s), 0);
  CHECK(s.last_data == buf + PL_TCP_HEADER_LEN); /* handed out in place */
  CHECK(d.buf == NULL);                          /* nothing was assembled */
  pl_tcp_decoder_free(&d);
}

static void expect_parse_error(const uint8_t *h) {
  pl_tcp_decoder d;
  sink s = {0};
  pl_tcp_decoder_init(&d);
  CHECK_RV(pl_tcp_decode(&d, h, PL_TCP_HEADER_LEN, record, &s), PL_ERR_PARSE);
  CHECK(s.calls == 0);
  /* A stream out of step cannot be trusted again. */
  uint8_t ping[PL_TCP_HEADER_LEN];
  pl_tcp_header(ping, PL_TCP_PING, 0);
  CHECK_RV(pl_tcp_decode(&d, ping, sizeof ping, record, &s), PL_ERR_PARSE);
  pl_tcp_decoder_free(&d);
}

static void test_lengths(void) {
  uint8_t h[PL_TCP_HEADER_LEN];
  const struct {
    uint8_t type;
    uint32_t len;
  } bad[] = {
      {0, 0},
      {9, 0},
      {0xff, 4},
      {PL_TCP_HELLO, PL_TCP_HELLO_LEN - 1},
      {PL_TCP_HELLO, PL_TCP_HELLO_LEN + 1},
      {PL_TCP_AUTH, 31},
      {PL_TCP_SELECT, 1},
      {PL_TCP_PING, 1},
      {PL_TCP_ACK, 7},
      {PL_TCP_MSG, PL_TCP_MAX_RECORD + 1},
      {PL_TCP_MSG, 0xffffffffu},
      {PL_TCP_BULK, 0},
      {PL_TCP_BULK, PL_TCP_MAX_RECORD + 1},
      {PL_TCP_CLOSE, PL_TCP_CLOSE_MAX + 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pl_tcp_header(h, bad[i].type, bad[i].len);
    expect_parse_error(h);
  }
  /* The largest MSG is accepted: the header passes, the payload is assembled. */
  pl_tcp_decoder d;
  sink s = {0};
  pl_tcp_decoder_init(&d);
  pl_tcp_header(h, PL_TCP_MSG, PL_TCP_MAX_RECORD);
  CHECK_RV(pl_tcp_decode(&d, h, sizeof h, record, &s), 0);
  CHECK(d.in_record && s.calls == 0);
  pl_tcp_decoder_free(&d);
}

static void test_limit(void) {
  uint8_t h[PL_TCP_HEADER_LEN];
  pl_tcp_decoder d;
  sink s = {0};
  pl_tcp_decoder_init(&d);
  d.limit = 100;
  pl_tcp_header(h, PL_TCP_MSG, 100);
  CHECK_RV(pl_tcp_decode(&d, h, sizeof h, record, &s), 0); /* up to the limit */
  pl_tcp_decoder_free(&d);
  pl_tcp_decoder_init(&d);
  d.limit = 100;
  pl_tcp_header(h, PL_TCP_BULK, 101);
  CHECK_RV(pl_tcp_decode(&d, h, sizeof h, record, &s), PL_ERR_PARSE);
  CHECK(d.buf == NULL); /* refused at the header: nothing kept */
  pl_tcp_decoder_free(&d);
}

static void test_callback_stops(void) {
  static uint8_t stream[2048];
  sink s = {0};
  size_t len = sample_stream(stream);
  pl_tcp_decoder d;
  pl_tcp_decoder_init(&d);
  s.stop_after = 2;
  CHECK_RV(pl_tcp_decode(&d, stream, len, record, &s), PL_ERR_CLOSED);
  CHECK(s.calls == 2);
  pl_tcp_decoder_free(&d);
}

static void test_hello(void) {
  pl_tcp_hello h = {.version = PL_TCP_VERSION, .flags = 0x80}, back;
  uint8_t buf[PL_TCP_HEADER_LEN + PL_TCP_HELLO_LEN];
  for (int i = 0; i < PL_TCP_PAIRING_LEN; i++)
    h.pairing[i] = (uint8_t)(i + 1);
  memset(h.sender, 0x11, sizeof h.sender);
  memset(h.receiver, 0x22, sizeof h.receiver);
  memset(h.nonce, 0x33, sizeof h.nonce);
  pl_tcp_hello_encode(buf, &h);
  CHECK(buf[0] == PL_TCP_HELLO && buf[4] == PL_TCP_HELLO_LEN && buf[1] == 0 && buf[2] == 0);
  CHECK_RV(pl_tcp_hello_parse(&back, buf + PL_TCP_HEADER_LEN, PL_TCP_HELLO_LEN), 0);
  CHECK(memcmp(&back, &h, sizeof h) == 0);
  CHECK_RV(pl_tcp_hello_parse(&back, buf + PL_TCP_HEADER_LEN, PL_TCP_HELLO_LEN - 1), PL_ERR_PARSE);
  buf[PL_TCP_HEADER_LEN] = 2; /* another version */
  CHECK_RV(pl_tcp_hello_parse(&back, buf + PL_TCP_HEADER_LEN, PL_TCP_HELLO_LEN), PL_ERR_PARSE);
}

/* The vector of docs/protocol.md: secret 00..1f, pairing 01..08, A = 11 x 16, B = 22 x 16,
 * A's nonce a0..af, B's nonce b0..bf. */
static void test_auth_known_answer(void) {
  uint8_t secret[32], mac[PL_TCP_AUTH_LEN], want[PL_TCP_AUTH_LEN];
  pl_frame_keys keys;
  pl_tcp_hello a = {.version = 1}, b = {.version = 1};
  for (int i = 0; i < 32; i++)
    secret[i] = (uint8_t)i;
  CHECK_RV(pl_frame_keys_derive(&keys, secret, sizeof secret), 0);
  for (int i = 0; i < 8; i++)
    a.pairing[i] = b.pairing[i] = (uint8_t)(i + 1);
  memset(a.sender, 0x11, 16);
  memset(a.receiver, 0x22, 16);
  memset(b.sender, 0x22, 16);
  memset(b.receiver, 0x11, 16);
  for (int i = 0; i < 16; i++) {
    a.nonce[i] = (uint8_t)(0xa0 + i);
    b.nonce[i] = (uint8_t)(0xb0 + i);
  }
  CHECK_RV(pl_tcp_auth_mac(mac, keys.frame, &a, &b), 0);
  pl_test_unhex(want, sizeof want,
                "75cae4453079028943bdf4ed0c440a245209c5292c4f6dd36ab1274e488a58e0");
  CHECK_MEM_EQ(mac, want, sizeof want);
  CHECK_RV(pl_tcp_auth_verify(mac, sizeof mac, keys.frame, &a, &b), 0);
  pl_test_unhex(want, sizeof want,
                "8ad86d352d722baeb62e22b2ed6e34e477810c10f0652a75d0d08c5b91b05be3");
  CHECK_RV(pl_tcp_auth_mac(mac, keys.frame, &b, &a), 0);
  CHECK_MEM_EQ(mac, want, sizeof want);
  /* A's AUTH does not pass for B's (a reflected AUTH), nor under the relay key, nor cut. */
  CHECK_RV(pl_tcp_auth_verify(mac, sizeof mac, keys.frame, &a, &b), PL_ERR_AUTH);
  CHECK_RV(pl_tcp_auth_verify(mac, sizeof mac, keys.relay, &b, &a), PL_ERR_AUTH);
  CHECK_RV(pl_tcp_auth_verify(mac, sizeof mac - 1, keys.frame, &b, &a), PL_ERR_AUTH);
  mac[31] ^= 1;
  CHECK_RV(pl_tcp_auth_verify(mac, sizeof mac, keys.frame, &b, &a), PL_ERR_AUTH);
}

int main(void) {
  test_splits();
  test_zero_copy();
  test_lengths();
  test_limit();
  test_callback_stops();
  test_hello();
  test_auth_known_answer();
  printf("tcp_wire_test: ok\n");
  return 0;
}
