/* The strict wire-type pass in front of protobuf-c (no sockets). */

#include <string.h>

#include "control/common/err.h"
#include "control/rpc/rpc_testing.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define WER &peerlink__v1__watch_events_request__descriptor
#define GSR &peerlink__v1__get_status_response__descriptor
#define DP &google__protobuf__descriptor_proto__descriptor

static int chk(const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t n) {
  return pl_rpc__pbcheck_message(b, n, d);
}

static void test_scalars(void) {
  /* include_current = true, as any encoder writes it. */
  static const uint8_t good[] = {0x08, 0x01};
  CHECK(chk(WER, good, sizeof(good)) == 0);
  CHECK(chk(WER, NULL, 0) == 0); /* the empty message */
  /* Field 1 as a string: protobuf-c alone would read it as true. */
  static const uint8_t str[] = {0x0a, 0x03, 'a', 'b', 'c'};
  CHECK(chk(WER, str, sizeof(str)) == PL_ERR_PARSE);
  /* Field 1 as fixed32 / fixed64. */
  static const uint8_t f32[] = {0x0d, 1, 0, 0, 0};
  static const uint8_t f64[] = {0x09, 1, 0, 0, 0, 0, 0, 0, 0};
  CHECK(chk(WER, f32, sizeof(f32)) == PL_ERR_PARSE);
  CHECK(chk(WER, f64, sizeof(f64)) == PL_ERR_PARSE);
  /* A string field sent as a varint. */
  static const uint8_t name_varint[] = {0x10, 0x05};
  CHECK(chk(GSR, name_varint, sizeof(name_varint)) == PL_ERR_PARSE);
}

static void test_unknown_fields_skipped(void) {
  /* Fields 100 (varint), 101 (len), 102 (fixed64), 103 (fixed32), then a valid field 1. */
  static const uint8_t b[] = {0xa0, 0x06, 0x7f,                          /* 100: varint */
                              0xaa, 0x06, 0x02, 'h', 'i',                /* 101: len */
                              0xb1, 0x06, 1,    2,   3,   4, 5, 6, 7, 8, /* 102: 64-bit */
                              0xbd, 0x06, 1,    2,   3,   4,             /* 103: 32-bit */
                              0x08, 0x00};
  CHECK(chk(WER, b, sizeof(b)) == 0);
}

static void test_malformed(void) {
  static const uint8_t truncated_len[] = {0x0a, 0x05, 'a'};
  static const uint8_t endless_varint[] = {0x08, 0xff, 0xff};
  static const uint8_t field_zero[] = {0x00, 0x01};
  static const uint8_t group[] = {0xa3, 0x06};  /* field 100, start group */
  static const uint8_t bad_wt[] = {0xa6, 0x06}; /* field 100, wire type 6 */
  static const uint8_t short_fixed[] = {0xbd, 0x06, 1, 2};
  static const uint8_t eleven_byte_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  CHECK(chk(GSR, truncated_len, sizeof(truncated_len)) == PL_ERR_PARSE);
  CHECK(chk(WER, endless_varint, sizeof(endless_varint)) == PL_ERR_PARSE);
  CHECK(chk(WER, field_zero, sizeof(field_zero)) == PL_ERR_PARSE);
  CHECK(chk(WER, group, sizeof(group)) == PL_ERR_PARSE);
  CHECK(chk(WER, bad_wt, sizeof(bad_wt)) == PL_ERR_PARSE);
  CHECK(chk(WER, short_fixed, sizeof(short_fixed)) == PL_ERR_PARSE);
  CHECK(chk(WER, eleven_byte_varint, sizeof(eleven_byte_varint)) == PL_ERR_PARSE);
}

static void test_nested_and_packed(void) {
  /* GetStatusResponse.public_endpoint (9) = Endpoint{ip (1): "1.2.3.4", port (2): 80}. */
  static const uint8_t ok[] = {0x4a, 0x0b, 0x0a, 0x07, '1',  '.', '2',
                               '.',  '3',  '.',  '4',  0x10, 0x50};
  CHECK(chk(GSR, ok, sizeof(ok)) == 0);
  /* ...with port as a string, one level down. */
  static const uint8_t bad[] = {0x4a, 0x0b, 0x0a, 0x07, '1',  '.', '2',
                                '.',  '3',  '.',  '4',  0x12, 0x00};
  CHECK(chk(GSR, bad, sizeof(bad)) == PL_ERR_PARSE);

  /* FileDescriptorProto.public_dependency (10) is repeated int32: packed or not. */
  const ProtobufCMessageDescriptor *fdp = &google__protobuf__file_descriptor_proto__descriptor;
  static const uint8_t packed[] = {0x52, 0x02, 0x01, 0x02};
  static const uint8_t unpacked[] = {0x50, 0x01, 0x50, 0x02};
  static const uint8_t fixed[] = {0x55, 1, 0, 0, 0};
  CHECK(chk(fdp, packed, sizeof(packed)) == 0);
  CHECK(chk(fdp, unpacked, sizeof(unpacked)) == 0);
  CHECK(chk(fdp, fixed, sizeof(fixed)) == PL_ERR_PARSE);
}

/* DescriptorProto.nested_type (3) nested `depth` times into `buf`; returns the length. */
static size_t nest(uint8_t *buf, size_t cap, int depth) {
  size_t len = 0;
  for (int i = 0; i < depth; i++) {
    uint8_t hdr[3];
    size_t h = 0;
    hdr[h++] = 0x1a;
    if (len < 128) {
      hdr[h++] = (uint8_t)len;
    } else {
      hdr[h++] = (uint8_t)(0x80 | (len & 0x7f));
      hdr[h++] = (uint8_t)(len >> 7);
    }
    CHECK(len + h <= cap && len < 16384);
    memmove(buf + h, buf, len);
    memcpy(buf, hdr, h);
    len += h;
  }
  return len;
}

static void test_depth(void) {
  uint8_t buf[1024];
  size_t n = nest(buf, sizeof(buf), 10);
  CHECK(chk(DP, buf, n) == 0);
  /* Far past any real message: refused instead of recursing on. */
  n = nest(buf, sizeof(buf), 100);
  CHECK(chk(DP, buf, n) == PL_ERR_PARSE);
}

int main(void) {
  test_scalars();
  test_unknown_fields_skipped();
  test_malformed();
  test_nested_and_packed();
  test_depth();
  printf("ok\n");
  return 0;
}
