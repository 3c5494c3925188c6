/* pl_stun_parse: a real coturn answer, hand-built messages, and every way of breaking them. */
#include <arpa/inet.h>
#include <stdio.h>

#include "agent/wire/stun.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"
#include "tests/unit/common/test_addr.h"

/* coturn 4.6.1's answer to a Binding request from 127.0.0.1:35670 (captured on loopback):
 * XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN, SOFTWARE, FINGERPRINT. */
static const char coturn_answer[] =
    "010100442112a442b2dc5f328e0e8eebf5f851d4002000080001aa445e12a4430001000800018b567f000001"
    "802b0008000187dd7f00000180220014436f7475726e2d342e362e312027476f72737427802800040fce50eb";

typedef struct msg {
  uint8_t b[512];
  size_t len;
} msg;

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void m_begin(msg *m, uint16_t type) {
  memset(m, 0, sizeof *m);
  put16(m->b, type);
  m->b[4] = 0x21, m->b[5] = 0x12, m->b[6] = 0xA4, m->b[7] = 0x42;
  for (int i = 0; i < 12; i++)
    m->b[8 + i] = (uint8_t)(i + 1);
  m->len = 20;
}

static void m_attr(msg *m, uint16_t type, const void *v, size_t vlen) {
  put16(m->b + m->len, type);
  put16(m->b + m->len + 2, (uint16_t)vlen);
  memcpy(m->b + m->len + 4, v, vlen);
  m->len += 4 + ((vlen + 3) & ~(size_t)3);
  put16(m->b + 2, (uint16_t)(m->len - 20));
}

/* A correct FINGERPRINT at the end. */
static void m_fingerprint(msg *m) {
  put16(m->b + 2, (uint16_t)(m->len + 8 - 20));
  uint32_t crc = pl_stun_crc32(m->b, m->len) ^ 0x5354554eu;
  uint8_t v[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
  m_attr(m, 0x8028, v, 4);
}

static int parse(pl_stun_msg *pm, const msg *m) {
  return pl_stun_parse(pm, m->b, m->len);
}

static void test_crc(void) {
  CHECK(pl_stun_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u); /* the check value */
  CHECK(pl_stun_crc32(NULL, 0) == 0);
}

static void test_coturn_answer(void) {
  uint8_t b[256];
  size_t n = pl_test_unhex(b, sizeof b, coturn_answer);
  CHECK(n == 88);
  CHECK(pl_stun_is_stun(b, n));
  pl_stun_msg m;
  CHECK(pl_stun_parse(&m, b, n) == 0);
  CHECK(m.type == PL_STUN_BINDING_SUCCESS);
  CHECK(m.has_fingerprint && m.has_mapped && !m.unknown_required && m.error_code == 0);
  CHECK(pl_test_addr_is(&m.mapped, "127.0.0.1", 35670));
  CHECK(!memcmp(m.txid.b, b + 8, 12));

  /* CRC-32 catches every single-bit error in what it covers. A flip can still hide the
   * FINGERPRINT itself (its type becomes an unknown optional attribute, or a length grows to
   * swallow it), leaving a valid message without one — never a wrong message with one. */
  for (size_t bit = 0; bit < n * 8; bit++) {
    b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    int rv = pl_stun_parse(&m, b, n);
    CHECK(rv == PL_ERR_PARSE || (rv == 0 && !m.has_fingerprint));
    b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  for (size_t len = 0; len < n; len++)
    CHECK(pl_stun_parse(&m, b, len) == PL_ERR_PARSE);
  CHECK(pl_stun_parse(&m, b, n) == 0);
}

static void test_header(void) {
  msg m;
  pl_stun_msg pm;
  m_begin(&m, PL_STUN_BINDING_REQUEST);
  CHECK(parse(&pm, &m) == 0 && pm.type == PL_STUN_BINDING_REQUEST && !pm.has_fingerprint);
  CHECK(pl_stun_is_stun(m.b, m.len));
  CHECK(!pl_stun_is_stun(m.b, 19));
  CHECK(!pl_stun_is_stun(NULL, 20));

  m.b[0] = 0x40; /* top bits: QUIC short header */
  CHECK(!pl_stun_is_stun(m.b, m.len) && parse(&pm, &m) == PL_ERR_PARSE);
  m.b[0] = 0;
  m.b[7] = 0x43; /* cookie */
  CHECK(!pl_stun_is_stun(m.b, m.len) && parse(&pm, &m) == PL_ERR_PARSE);
  m.b[7] = 0x42;
  m.b[3] = 2; /* length not a multiple of 4 */
  CHECK(!pl_stun_is_stun(m.b, m.len) && parse(&pm, &m) == PL_ERR_PARSE);
  m.b[3] = 4; /* length past the datagram */
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
  m.b[3] = 0;
  m.len = 24; /* trailing bytes the length does not cover */
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
  CHECK(pl_stun_parse(NULL, m.b, 20) == PL_ERR_INVALID);
}

static void test_addresses(void) {
  msg m;
  pl_stun_msg pm;
  /* MAPPED-ADDRESS alone (RFC 3489 servers): 127.0.0.9:4660 */
  const uint8_t plain[8] = {0, 1, 0x12, 0x34, 127, 0, 0, 9};
  m_begin(&m, PL_STUN_BINDING_SUCCESS);
  m_attr(&m, 0x0001, plain, 8);
  CHECK(parse(&pm, &m) == 0 && pm.has_mapped && pl_test_addr_is(&pm.mapped, "127.0.0.9", 0x1234));

  /* XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS, in either order; the first XOR one counts. */
  const uint8_t x1[8] = {0, 1, 0x12 ^ 0x21, 0x35 ^ 0x12, 127 ^ 0x21, 0 ^ 0x12, 0 ^ 0xA4, 7 ^ 0x42};
  const uint8_t x2[8] = {0, 1, 0, 0, 0, 0, 0, 0};
  m_attr(&m, 0x0020, x1, 8);
  m_attr(&m, 0x0020, x2, 8);
  CHECK(parse(&pm, &m) == 0 && pl_test_addr_is(&pm.mapped, "127.0.0.7", 0x1235));

  /* IPv6: XOR with the cookie and the txid (01..0c from m_begin). */
  uint8_t x6[20] = {0, 2, 0x12 ^ 0x21, 0x34 ^ 0x12};
  struct in6_addr a6;
  inet_pton(AF_INET6, "::1", &a6);
  const uint8_t key[16] = {0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (int i = 0; i < 16; i++)
    x6[4 + i] = a6.s6_addr[i] ^ key[i];
  m_begin(&m, PL_STUN_BINDING_SUCCESS);
  m_attr(&m, 0x0020, x6, 20);
  CHECK(parse(&pm, &m) == 0 && pl_test_addr_is(&pm.mapped, "::1", 0x1234));

  /* Malformed addresses fail the whole message. */
  m_begin(&m, PL_STUN_BINDING_SUCCESS);
  m_attr(&m, 0x0020, x6, 8); /* IPv6 family, IPv4 length */
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
  uint8_t bad[8] = {0, 3, 0, 0, 1, 2, 3, 4};
  m_begin(&m, PL_STUN_BINDING_SUCCESS);
  m_attr(&m, 0x0001, bad, 8); /* family 3 */
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
  m_begin(&m, PL_STUN_BINDING_SUCCESS);
  m_attr(&m, 0x0020, x1, 3);
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
}

static void test_attributes(void) {
  msg m;
  pl_stun_msg pm;
  /* Padding: a 1-byte SOFTWARE takes 8 bytes on the wire. */
  m_begin(&m, PL_STUN_BINDING_REQUEST);
  m_attr(&m, 0x8022, "a", 1);
  CHECK(m.len == 28 && parse(&pm, &m) == 0);
  m.b[23] = 8; /* its length now runs past the end */
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
  m.b[23] = 4; /* exactly to the end is fine */
  CHECK(parse(&pm, &m) == 0);

  /* Unknown comprehension-optional attributes are skipped, required ones flagged. */
  m_begin(&m, PL_STUN_BINDING_REQUEST);
  m_attr(&m, 0x8029, "12345678", 8); /* ICE-CONTROLLED */
  CHECK(parse(&pm, &m) == 0 && !pm.unknown_required);
  m_attr(&m, 0x0024, "1234", 4); /* PRIORITY */
  CHECK(parse(&pm, &m) == 0 && pm.unknown_required);

  /* ERROR-CODE: class and number, in error responses only. */
  const uint8_t e420[8] = {0, 0, 4, 20, 'n', 'o', 'p', 'e'};
  m_begin(&m, PL_STUN_BINDING_ERROR);
  m_attr(&m, 0x0009, e420, 8);
  CHECK(parse(&pm, &m) == 0 && pm.error_code == 420);
  m_begin(&m, PL_STUN_BINDING_SUCCESS);
  m_attr(&m, 0x0009, e420, 8);
  CHECK(parse(&pm, &m) == 0 && pm.error_code == 0);
  const uint8_t e720[4] = {0, 0, 7, 20}, e4100[4] = {0, 0, 4, 100};
  m_begin(&m, PL_STUN_BINDING_ERROR);
  m_attr(&m, 0x0009, e720, 4);
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
  m_begin(&m, PL_STUN_BINDING_ERROR);
  m_attr(&m, 0x0009, e4100, 4);
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
  m_begin(&m, PL_STUN_BINDING_ERROR);
  m_attr(&m, 0x0009, e420, 3);
  CHECK(parse(&pm, &m) == PL_ERR_PARSE);
}

static void test_fingerprint(void) {
  msg m;
  pl_stun_msg pm;
  m_begin(&m, PL_STUN_BINDING_REQUEST);
  m_attr(&m, 0x8022, "peerlink", 8);
  m_fingerprint(&m);
  CHECK(parse(&pm, &m) == 0 && pm.has_fingerprint);

  msg bad = m;
  bad.b[bad.len - 1] ^= 1; /* wrong value */
  CHECK(parse(&pm, &bad) == PL_ERR_PARSE);

  /* A correct FINGERPRINT followed by anything is not last: rejected. */
  bad = m;
  m_attr(&bad, 0x8022, "x", 1);
  CHECK(parse(&pm, &bad) == PL_ERR_PARSE);
  msg two;
  m_begin(&two, PL_STUN_BINDING_REQUEST);
  m_fingerprint(&two);
  m_fingerprint(&two); /* the second is right for its prefix, the first is not last */
  CHECK(parse(&pm, &two) == PL_ERR_PARSE);

  /* Wrong length. */
  m_begin(&bad, PL_STUN_BINDING_REQUEST);
  m_attr(&bad, 0x8028, "12345678", 8);
  CHECK(parse(&pm, &bad) == PL_ERR_PARSE);
}

int main(void) {
  test_crc();
  test_coturn_answer();
  test_header();
  test_addresses();
  test_attributes();
  test_fingerprint();
  printf("stun_parse_test: ok\n");
  return 0;
}
