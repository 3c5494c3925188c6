/* Encoders and the responder: exact layouts, round trips, and what the responder drops. */
#include <stdio.h>

#include "agent/wire/stun.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"
#include "tests/unit/common/test_addr.h"

static const pl_stun_txid txid = {
    {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab}};

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* Offset of the first attribute of `type` in a well-formed message, or 0. */
static size_t find_attr(const uint8_t *b, size_t len, uint16_t type) {
  for (size_t off = 20; off + 4 <= len; off += 4 + ((get16(b + off + 2) + 3u) & ~3u))
    if (get16(b + off) == type)
      return off;
  return 0;
}

static void test_request(void) {
  uint8_t b[PL_STUN_BUF_LEN];
  size_t n = 0;
  CHECK(pl_stun_encode_request(b, sizeof b, &n, &txid) == 0);
  /* header, SOFTWARE "peerlink", FINGERPRINT */
  CHECK(n == 40 && get16(b) == 0x0001 && get16(b + 2) == 20);
  CHECK(!memcmp(b + 4, "\x21\x12\xa4\x42", 4) && !memcmp(b + 8, txid.b, 12));
  CHECK(get16(b + 20) == 0x8022 && get16(b + 22) == 8 && !memcmp(b + 24, "peerlink", 8));
  CHECK(get16(b + 32) == 0x8028 && get16(b + 34) == 4);
  pl_stun_msg m;
  CHECK(pl_stun_parse(&m, b, n) == 0);
  CHECK(m.type == PL_STUN_BINDING_REQUEST && m.has_fingerprint && !m.has_mapped);
  CHECK(!memcmp(m.txid.b, txid.b, 12));

  for (size_t cap = 0; cap < 40; cap++)
    CHECK(pl_stun_encode_request(b, cap, &n, &txid) == PL_ERR_TOO_BIG);
  CHECK(pl_stun_encode_request(NULL, 100, &n, &txid) == PL_ERR_TOO_BIG);
  CHECK(pl_stun_encode_request(b, sizeof b, &n, NULL) == PL_ERR_INVALID);
}

static void test_success(void) {
  uint8_t b[PL_STUN_BUF_LEN];
  size_t n;
  pl_stun_msg m;
  const char *cases[][2] = {{"127.0.0.1", "127.0.0.1"},
                            {"::1", "::1"},
                            {"2001:db8::7", "2001:db8::7"},
                            {"::ffff:127.0.0.5", "127.0.0.5"}}; /* dual-stack → IPv4 */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct sockaddr_storage a = pl_test_addr(cases[i][0], 54321);
    CHECK(pl_stun_encode_success(b, sizeof b, &n, &txid, (struct sockaddr *)&a) == 0);
    CHECK(pl_stun_parse(&m, b, n) == 0);
    CHECK(m.type == PL_STUN_BINDING_SUCCESS && m.has_fingerprint && m.has_mapped);
    CHECK(pl_test_addr_is(&m.mapped, cases[i][1], 54321));
    CHECK(n == (m.mapped.ss_family == AF_INET ? 52u : 64u));
  }
  /* The XOR form on the wire (RFC 8489 14.2): port ^ 0x2112, address ^ cookie. */
  struct sockaddr_storage a = pl_test_addr("127.0.0.1", 0x8b56);
  CHECK(pl_stun_encode_success(b, sizeof b, &n, &txid, (struct sockaddr *)&a) == 0);
  CHECK(!memcmp(b + 20, "\x00\x20\x00\x08\x00\x01\xaa\x44\x5e\x12\xa4\x43", 12));

  struct sockaddr un = {.sa_family = AF_UNIX};
  CHECK(pl_stun_encode_success(b, sizeof b, &n, &txid, &un) == PL_ERR_INVALID);
  CHECK(pl_stun_encode_success(b, 51, &n, &txid, (struct sockaddr *)&a) == PL_ERR_TOO_BIG);
}

static void test_error(void) {
  uint8_t b[PL_STUN_BUF_LEN];
  size_t n;
  pl_stun_msg m;
  CHECK(pl_stun_encode_error(b, sizeof b, &n, &txid, 420, NULL) == 0);
  CHECK(pl_stun_parse(&m, b, n) == 0 && m.type == PL_STUN_BINDING_ERROR && m.error_code == 420);
  CHECK(m.has_fingerprint);
  size_t off = find_attr(b, n, 0x0009);
  CHECK(off && get16(b + off + 2) == 4 + strlen("Unknown Attribute"));
  CHECK(!memcmp(b + off + 4, "\x00\x00\x04\x14Unknown Attribute", 21));

  char longreason[300];
  memset(longreason, 'x', sizeof longreason - 1);
  longreason[sizeof longreason - 1] = 0;
  CHECK(pl_stun_encode_error(b, sizeof b, &n, &txid, 599, longreason) == 0);
  CHECK(pl_stun_parse(&m, b, n) == 0 && m.error_code == 599);
  off = find_attr(b, n, 0x0009);
  CHECK(get16(b + off + 2) == 4 + 127);

  CHECK(pl_stun_encode_error(b, sizeof b, &n, &txid, 299, "x") == PL_ERR_INVALID);
  CHECK(pl_stun_encode_error(b, sizeof b, &n, &txid, 700, "x") == PL_ERR_INVALID);
  CHECK(pl_stun_encode_error(b, 30, &n, &txid, 400, NULL) == PL_ERR_TOO_BIG);
}

/* A request with the given extra attributes (no FINGERPRINT). */
static size_t request_with(uint8_t *b, const uint16_t *types, size_t ntypes) {
  size_t n = 20;
  memset(b, 0, 20);
  b[1] = 0x01;
  memcpy(b + 4, "\x21\x12\xa4\x42", 4);
  memcpy(b + 8, txid.b, 12);
  for (size_t i = 0; i < ntypes; i++) {
    b[n] = (uint8_t)(types[i] >> 8), b[n + 1] = (uint8_t)types[i];
    b[n + 2] = 0, b[n + 3] = 4;
    memset(b + n + 4, 0x55, 4);
    n += 8;
  }
  b[2] = (uint8_t)((n - 20) >> 8), b[3] = (uint8_t)(n - 20);
  return n;
}

static void test_respond(void) {
  uint8_t req[PL_STUN_BUF_LEN], b[PL_STUN_BUF_LEN];
  size_t reqlen, n;
  pl_stun_msg m;
  struct sockaddr_storage from4 = pl_test_addr("127.0.0.1", 40001),
                          from6 = pl_test_addr("::1", 40002);

  CHECK(pl_stun_encode_request(req, sizeof req, &reqlen, &txid) == 0);
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from4) == 0);
  CHECK(pl_stun_parse(&m, b, n) == 0 && m.type == PL_STUN_BINDING_SUCCESS);
  CHECK(m.has_fingerprint && !memcmp(m.txid.b, txid.b, 12) &&
        pl_test_addr_is(&m.mapped, "127.0.0.1", 40001));
  CHECK(find_attr(b, n, 0x8022) != 0); /* SOFTWARE */
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from6) == 0);
  CHECK(pl_stun_parse(&m, b, n) == 0 && pl_test_addr_is(&m.mapped, "::1", 40002));

  /* A bare 20-byte request (no attributes at all) is answered too. */
  reqlen = request_with(req, NULL, 0);
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from4) == 0);

  /* Unknown comprehension-required attributes: 420 listing them (optional ones not). */
  const uint16_t unk[] = {0x0024, 0x8029, 0x0006};
  reqlen = request_with(req, unk, 3);
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from4) == 0);
  CHECK(pl_stun_parse(&m, b, n) == 0 && m.type == PL_STUN_BINDING_ERROR && m.error_code == 420);
  CHECK(!m.has_mapped && m.has_fingerprint);
  size_t off = find_attr(b, n, 0x000A);
  CHECK(off && get16(b + off + 2) == 4 && !memcmp(b + off + 4, "\x00\x24\x00\x06", 4));
  /* More than fit in the list: still a 420, the list capped. */
  const uint16_t many[] = {1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009};
  reqlen = request_with(req, many, 10);
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from6) == 0);
  off = find_attr(b, n, 0x000A);
  CHECK(pl_stun_parse(&m, b, n) == 0 && m.error_code == 420 && get16(b + off + 2) == 16);

  /* Dropped: responses, indications, other methods, garbage, bad FINGERPRINT. */
  reqlen = request_with(req, NULL, 0);
  const uint16_t not_requests[] = {0x0101, 0x0111, 0x0011, 0x0003, 0x0004};
  for (size_t i = 0; i < sizeof not_requests / sizeof not_requests[0]; i++) {
    req[0] = (uint8_t)(not_requests[i] >> 8), req[1] = (uint8_t)not_requests[i];
    CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from4) ==
          PL_ERR_INVALID);
  }
  CHECK(pl_stun_respond(b, sizeof b, &n, (const uint8_t *)"hello world, not stun", 21,
                        (struct sockaddr *)&from4) == PL_ERR_PARSE);
  CHECK(pl_stun_encode_request(req, sizeof req, &reqlen, &txid) == 0);
  req[reqlen - 1] ^= 0x80;
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from4) == PL_ERR_PARSE);
  req[reqlen - 1] ^= 0x80;
  req[4] = 0; /* RFC 3489 request without the magic cookie */
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, (struct sockaddr *)&from4) == PL_ERR_PARSE);
  req[4] = 0x21;
  CHECK(pl_stun_respond(b, sizeof b, &n, req, reqlen, NULL) == PL_ERR_INVALID);
  CHECK(pl_stun_respond(b, 40, &n, req, reqlen, (struct sockaddr *)&from4) == PL_ERR_TOO_BIG);
}

int main(void) {
  test_request();
  test_success();
  test_error();
  test_respond();
  printf("stun_encode_test: ok\n");
  return 0;
}
