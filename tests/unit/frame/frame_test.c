/* agent/wire/frame: the demultiplexer, key derivation (known answers), byte layouts (a golden
 * frame), round trips of every type, rejection of malformed and forged bytes, the replay
 * window. The expected values were computed independently (Python's hmac module). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "agent/wire/frame.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"
#include "tests/unit/common/test_addr.h"

static pl_frame_keys test_keys(void) {
  uint8_t secret[32];
  for (int i = 0; i < 32; i++)
    secret[i] = (uint8_t)i;
  pl_frame_keys k;
  pl_frame_keys_derive(&k, secret, sizeof secret);
  return k;
}

/* Recomputes the MAC after a test edits a frame, to reach the checks behind authentication. */
static void resign(uint8_t *data, size_t len, const uint8_t key[32]) {
  Hmac h;
  uint8_t full[32];
  wc_HmacInit(&h, NULL, INVALID_DEVID);
  wc_HmacSetKey(&h, WC_SHA256, key, 32);
  wc_HmacUpdate(&h, data, (word32)(len - PL_FRAME_MAC_LEN));
  wc_HmacFinal(&h, full);
  wc_HmacFree(&h);
  memcpy(data + len - PL_FRAME_MAC_LEN, full, PL_FRAME_MAC_LEN);
}

static void test_demux(void) {
  uint8_t d[32];
  memset(d, 0, sizeof d);
  CHECK(pl_demux(NULL, 0) == PL_DEMUX_DROP);
  CHECK(pl_demux(d, 0) == PL_DEMUX_DROP);
  for (int b = 0; b < 256; b++) {
    d[0] = (uint8_t)b;
    pl_demux_kind want = PL_DEMUX_DROP;
    if (b >= 0x20 && b <= 0x2F)
      want = PL_DEMUX_FRAME;
    else if ((b >= 0x40 && b <= 0x7F) || b >= 0xC0)
      want = PL_DEMUX_QUIC;
    CHECK(pl_demux(d, sizeof d) == want);
  }
  /* STUN needs its magic cookie and a whole header. */
  static const uint8_t stun[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  CHECK(pl_demux(stun, sizeof stun) == PL_DEMUX_STUN);
  CHECK(pl_demux(stun, 19) == PL_DEMUX_DROP);
  uint8_t nocookie[20];
  memcpy(nocookie, stun, sizeof nocookie);
  nocookie[7] = 0x43;
  CHECK(pl_demux(nocookie, sizeof nocookie) == PL_DEMUX_DROP);
}

static void test_keys_known_answer(void) {
  pl_frame_keys k = test_keys();
  uint8_t want[32];
  pl_test_unhex(want, sizeof want,
                "b3c915c0fd6b2d1a740a127d9e6956d4f8b5c91bf535e22ab3a611bb69bd34ad");
  CHECK_MEM_EQ(k.frame, want, 32);
  pl_test_unhex(want, sizeof want,
                "4945b496e24b51d10ae6048ca15dca69a09f24b9fd26512682334779653d2e12");
  CHECK_MEM_EQ(k.relay, want, 32);
  uint8_t secret[16] = {0};
  CHECK_RV(pl_frame_keys_derive(&k, secret, 15), PL_ERR_INVALID);
  CHECK_RV(pl_frame_keys_derive(&k, NULL, 32), PL_ERR_INVALID);
  CHECK_RV(pl_frame_keys_derive(&k, secret, 16), 0);
}

static pl_frame base(uint8_t type) {
  pl_frame f;
  memset(&f, 0, sizeof f);
  f.type = type;
  pl_test_unhex(f.pairing, sizeof f.pairing, "0123456789abcdef");
  memset(f.sender, 0x11, sizeof f.sender);
  f.seq = 0x0102030405060708ull;
  return f;
}

/* The documented PROBE layout, byte for byte, with an independently computed MAC. */
static void test_golden_probe(void) {
  pl_frame_keys k = test_keys();
  pl_frame f = base(PL_FRAME_PROBE);
  f.flags = PL_PROBE_NOMINATE;
  f.txid = 0xAABBCCDDEEFF0011ull;
  f.echo_time_us = 123456789;
  uint8_t buf[PL_FRAME_MAX_LEN], want[128];
  size_t len, wantlen = pl_test_unhex(want, sizeof want,
                                      "20010123456789abcdef1111111111111111111111111111111101020304"
                                      "0506070801aabbccddeeff001100000000075bcd1569dac080d91c90a6"
                                      "e34b079360efc258");
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), 0);
  CHECK(len == 67 && wantlen == 67);
  CHECK_MEM_EQ(buf, want, wantlen);
  pl_frame g;
  CHECK_RV(pl_frame_parse(&g, want, wantlen, &k), 0);
  CHECK(g.type == PL_FRAME_PROBE && g.flags == PL_PROBE_NOMINATE && g.seq == f.seq);
  CHECK(g.txid == f.txid && g.echo_time_us == 123456789 && !g.has_observed);
  CHECK(memcmp(g.pairing, f.pairing, 8) == 0 && memcmp(g.sender, f.sender, 16) == 0);
  uint8_t type, pairing[8];
  CHECK_RV(pl_frame_peek(want, wantlen, &type, pairing), 0);
  CHECK(type == PL_FRAME_PROBE && memcmp(pairing, f.pairing, 8) == 0);
}

/* Encodes, checks the length, parses back, and checks every field of the type. */
static void roundtrip(const pl_frame *f, size_t wantlen) {
  pl_frame_keys k = test_keys();
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len = 0;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, f, &k), 0);
  CHECK(len == wantlen);
  pl_frame g;
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), 0);
  CHECK(g.type == f->type && g.seq == f->seq && memcmp(g.sender, f->sender, 16) == 0);
  CHECK(g.flags == f->flags && g.txid == f->txid && g.echo_time_us == f->echo_time_us);
  CHECK(g.has_observed == f->has_observed);
  if (f->has_observed)
    CHECK(pl_test_addr_same(&g.observed, &f->observed));
  CHECK(g.payloadlen == f->payloadlen);
  if (f->payloadlen)
    CHECK(g.payload == buf + 36 && memcmp(g.payload, f->payload, f->payloadlen) == 0);
  /* Not valid under other keys, and only under the key its type uses. */
  pl_frame_keys other = k;
  if (f->type >= PL_FRAME_RELAY_BIND)
    other.relay[0] ^= 1;
  else
    other.frame[0] ^= 1;
  CHECK_RV(pl_frame_parse(&g, buf, len, &other), PL_ERR_AUTH);
  other = k;
  if (f->type >= PL_FRAME_RELAY_BIND)
    other.frame[0] ^= 1;
  else
    other.relay[0] ^= 1;
  CHECK_RV(pl_frame_parse(&g, buf, len, &other), 0);
  /* Every single-bit change is refused; so is every truncation. */
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 0x10;
    int rv = pl_frame_parse(&g, buf, len, &k);
    CHECK(rv == PL_ERR_AUTH || rv == PL_ERR_PARSE);
    buf[i] ^= 0x10;
  }
  for (size_t n = 0; n < len; n++)
    CHECK_RV(pl_frame_parse(&g, buf, n, &k), PL_ERR_PARSE);
}

static void test_roundtrips(void) {
  pl_frame f = base(PL_FRAME_PROBE);
  f.flags = PL_PROBE_KEEPALIVE;
  f.txid = 9;
  f.echo_time_us = UINT64_MAX;
  roundtrip(&f, 67);

  f = base(PL_FRAME_PROBE_ACK);
  f.txid = 10;
  f.echo_time_us = 77;
  f.observed = pl_test_addr("198.51.100.7", 40001);
  f.has_observed = 1;
  roundtrip(&f, 86);
  f.observed = pl_test_addr("2001:db8::1", 443);
  roundtrip(&f, 86);
  f.has_observed = 0;
  roundtrip(&f, 86);

  f = base(PL_FRAME_CLOSE);
  roundtrip(&f, 50);

  f = base(PL_FRAME_RELAY_BIND);
  f.txid = 3;
  roundtrip(&f, 58);

  f = base(PL_FRAME_RELAY_BIND_ACK);
  memset(f.sender, 0, sizeof f.sender);
  f.txid = 3;
  f.observed = pl_test_addr("203.0.113.9", 9);
  f.has_observed = 1;
  roundtrip(&f, 77);

  /* RELAY_DATA around the largest DATA frame still fits in PL_FRAME_MAX_LEN. */
  pl_frame_keys k = test_keys();
  static uint8_t big[PL_FRAME_MAX_PAYLOAD + PL_FRAME_SEAL_TAG_LEN];
  uint8_t inner[PL_FRAME_MAX_LEN];
  size_t innerlen;
  pl_frame d = base(PL_FRAME_DATA);
  d.payload = big;
  d.payloadlen = sizeof big;
  CHECK_RV(pl_frame_encode(inner, sizeof inner, &innerlen, &d, &k), 0);
  f = base(PL_FRAME_RELAY_DATA);
  f.payload = inner;
  f.payloadlen = innerlen;
  roundtrip(&f, 52 + innerlen);
  CHECK(52 + innerlen <= PL_FRAME_MAX_LEN);
}

static void test_encode_errors(void) {
  pl_frame_keys k = test_keys();
  uint8_t buf[PL_FRAME_MAX_LEN + 64];
  size_t len;
  static uint8_t payload[PL_FRAME_MAX_LEN];
  pl_frame f = base(PL_FRAME_DATA);
  f.payload = payload;
  f.payloadlen = PL_FRAME_MAX_PAYLOAD + PL_FRAME_SEAL_TAG_LEN + 1;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_TOO_BIG);
  f.payloadlen = 26;
  CHECK_RV(pl_frame_encode(buf, 59, &len, &f, &k), PL_ERR_TOO_BIG);
  CHECK_RV(pl_frame_encode(buf, 60, &len, &f, &k), 0);
  f.payloadlen = PL_FRAME_SEAL_TAG_LEN - 1; /* not even a tag */
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_INVALID);
  f.payloadlen = 26;
  f.payload = NULL;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_INVALID);
  f = base(0x24);
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_INVALID);
  f = base(PL_FRAME_PROBE_ACK);
  f.has_observed = 1;
  f.observed.ss_family = AF_UNIX;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_INVALID);
  /* RELAY_DATA carries one peer-to-peer frame, not junk and not another relay frame. */
  f = base(PL_FRAME_RELAY_DATA);
  memset(payload, 0x22, 60);
  f.payload = payload;
  f.payloadlen = 10;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_INVALID);
  payload[0] = PL_FRAME_RELAY_DATA;
  f.payloadlen = 60;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_INVALID);
  f.payloadlen = PL_FRAME_MAX_LEN;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), PL_ERR_TOO_BIG);
}

/* Malformed bodies with valid MACs: the structure checks, not the MAC, must refuse them. */
static void test_parse_structure(void) {
  pl_frame_keys k = test_keys();
  uint8_t buf[PL_FRAME_MAX_LEN + 16];
  size_t len;
  pl_frame f = base(PL_FRAME_PROBE_ACK), g;
  f.observed = pl_test_addr("192.0.2.1", 1);
  f.has_observed = 1;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), 0);
  buf[34 + 17] = 5; /* address family */
  resign(buf, len, k.frame);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), PL_ERR_PARSE);
  buf[34 + 17] = 4;
  buf[len - 17] = 1; /* nonzero padding after an IPv4 address */
  resign(buf, len, k.frame);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), PL_ERR_PARSE);
  buf[len - 17] = 0;
  resign(buf, len, k.frame);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), 0);
  buf[1] = 2; /* version */
  resign(buf, len, k.frame);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), PL_ERR_PARSE);
  CHECK_RV(pl_frame_peek(buf, len, NULL, NULL), PL_ERR_PARSE);
  buf[1] = 1;
  buf[0] = 0x24; /* unassigned type in the range */
  resign(buf, len, k.frame);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), PL_ERR_PARSE);

  /* Longer than PL_FRAME_MAX_LEN, even if otherwise consistent. */
  memset(buf, 0, sizeof buf);
  buf[0] = PL_FRAME_DATA;
  buf[1] = 1;
  CHECK_RV(pl_frame_peek(buf, PL_FRAME_MAX_LEN + 1, NULL, NULL), PL_ERR_PARSE);
  CHECK_RV(pl_frame_parse(&g, buf, PL_FRAME_MAX_LEN + 1, &k), PL_ERR_PARSE);
  CHECK_RV(pl_frame_parse(&g, NULL, 0, &k), PL_ERR_PARSE);
  CHECK_RV(pl_frame_peek(buf, 49, NULL, NULL), PL_ERR_PARSE);
  CHECK_RV(pl_frame_peek(buf, 50, NULL, NULL), 0);
}

/* DATA: header, then the sealed body as it is (ciphertext || tag), no MAC. The codec does not
 * authenticate it (it has no end-to-end keys): it checks the structure and points at the body
 * and the header the seal covers. */
static void test_data_layout(void) {
  pl_frame_keys k = test_keys(), other = k;
  other.frame[0] ^= 1;
  uint8_t buf[PL_FRAME_MAX_LEN + 16], sealed[PL_FRAME_MAX_PAYLOAD + PL_FRAME_SEAL_TAG_LEN + 1];
  size_t len;
  for (size_t i = 0; i < sizeof sealed; i++)
    sealed[i] = (uint8_t)(i * 3);
  pl_frame f = base(PL_FRAME_DATA), g;
  f.payload = sealed;
  f.payloadlen = 5 + PL_FRAME_SEAL_TAG_LEN;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), 0);
  CHECK_U64(len, ==, PL_FRAME_HEADER_LEN + 5 + PL_FRAME_SEAL_TAG_LEN);
  uint8_t want[PL_FRAME_HEADER_LEN];
  pl_test_unhex(want, sizeof want,
                "22010123456789abcdef111111111111111111111111111111110102030405060708");
  CHECK_MEM_EQ(buf, want, sizeof want);
  CHECK_MEM_EQ(buf + PL_FRAME_HEADER_LEN, sealed, f.payloadlen);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), 0);
  CHECK(g.type == PL_FRAME_DATA && g.seq == f.seq && memcmp(g.sender, f.sender, 16) == 0);
  CHECK(g.header == buf && g.payload == buf + PL_FRAME_HEADER_LEN);
  CHECK_U64(g.payloadlen, ==, f.payloadlen);
  CHECK_RV(pl_frame_parse(&g, buf, len, &other), 0); /* no MAC: its seal is the check */
  /* Sealed in place: the payload already where the codec puts it. */
  memcpy(buf + PL_FRAME_HEADER_LEN, sealed, 40);
  f.payload = buf + PL_FRAME_HEADER_LEN;
  f.payloadlen = 40;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), 0);
  CHECK_MEM_EQ(buf + PL_FRAME_HEADER_LEN, sealed, 40);
  /* Sizes: a bare tag (50 bytes) up to the largest plaintext plus its tag (1250). */
  f.payload = sealed;
  f.payloadlen = PL_FRAME_SEAL_TAG_LEN;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), 0);
  CHECK_U64(len, ==, 50);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), 0);
  CHECK_U64(g.payloadlen, ==, PL_FRAME_SEAL_TAG_LEN);
  CHECK_RV(pl_frame_parse(&g, buf, len - 1, &k), PL_ERR_PARSE);
  f.payloadlen = PL_FRAME_MAX_PAYLOAD + PL_FRAME_SEAL_TAG_LEN;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &k), 0);
  CHECK_U64(len, ==, 1250);
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), 0);
  buf[len] = 0;
  CHECK_RV(pl_frame_parse(&g, buf, len + 1, &k), PL_ERR_PARSE);
  buf[1] = 2; /* version */
  CHECK_RV(pl_frame_parse(&g, buf, len, &k), PL_ERR_PARSE);
}

static void test_replay_window(void) {
  pl_replay r;
  memset(&r, 0, sizeof r);
  CHECK_RV(pl_replay_check(&r, 5), 0);
  CHECK_RV(pl_replay_check(&r, 5), PL_ERR_AUTH);
  CHECK_RV(pl_replay_check(&r, 3), 0); /* late but new */
  CHECK_RV(pl_replay_check(&r, 3), PL_ERR_AUTH);
  CHECK_RV(pl_replay_check(&r, 4), 0);
  CHECK_RV(pl_replay_check(&r, 6), 0);
  CHECK_RV(pl_replay_check(&r, 100), 0);
  CHECK_RV(pl_replay_check(&r, 37), 0);           /* 63 behind: inside the window */
  CHECK_RV(pl_replay_check(&r, 36), PL_ERR_AUTH); /* 64 behind: too old */
  CHECK_RV(pl_replay_check(&r, 6), PL_ERR_AUTH);
  CHECK_RV(pl_replay_check(&r, 1000), 0); /* a jump past the whole window */
  CHECK_RV(pl_replay_check(&r, 100), PL_ERR_AUTH);
  CHECK_RV(pl_replay_check(&r, 999), 0);
  CHECK_RV(pl_replay_check(&r, 1000), PL_ERR_AUTH);
  CHECK_RV(pl_replay_check(&r, UINT64_MAX), 0);
  CHECK_RV(pl_replay_check(&r, UINT64_MAX), PL_ERR_AUTH);
  CHECK_RV(pl_replay_check(&r, UINT64_MAX - 1), 0);
  /* Every number in a shuffled burst is taken once. */
  memset(&r, 0, sizeof r);
  int seen[64] = {0};
  CHECK_RV(pl_replay_check(&r, 64), 0);
  for (int i = 0; i < 63; i++) {
    int s = (i * 37) % 63 + 1;
    CHECK_RV(pl_replay_check(&r, (uint64_t)s), seen[s] ? PL_ERR_AUTH : 0);
    seen[s] = 1;
  }
  for (int s = 1; s < 64; s++)
    CHECK_RV(pl_replay_check(&r, (uint64_t)s), PL_ERR_AUTH);
}

int main(void) {
  test_demux();
  test_keys_known_answer();
  test_golden_probe();
  test_roundtrips();
  test_encode_errors();
  test_parse_structure();
  test_data_layout();
  test_replay_window();
  printf("frame_test: ok\n");
  return 0;
}
