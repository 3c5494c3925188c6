/* The grpc-websockets reader (I/O-free): headers, data split across messages and fragments,
 * several frames in one message, the half-close, and every malformed case with its reason. */

#include <string.h>

#include "control/bridge/wsframe.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

typedef struct rec {
  char headers[256];
  int n_headers, n_messages, n_half_closes;
  size_t total;
  uint8_t last[64];
  size_t last_len;
} rec;

static int on_headers(void *arg, const char *block, size_t len) {
  rec *r = arg;
  CHECK(len < sizeof r->headers);
  memcpy(r->headers, block, len);
  r->headers[len] = '\0';
  r->n_headers++;
  return 0;
}

static int on_message(void *arg, const uint8_t *msg, size_t len) {
  rec *r = arg;
  r->n_messages++;
  r->total += len;
  r->last_len = len < sizeof r->last ? len : sizeof r->last;
  memcpy(r->last, msg, r->last_len);
  return 0;
}

static int on_half_close(void *arg) {
  ((rec *)arg)->n_half_closes++;
  return 0;
}

static const pl_bridge_ws_events ev = {on_headers, on_message, on_half_close};

static int whole(pl_bridge_ws_reader *r, rec *rc, const void *data, size_t len) {
  return pl_bridge_ws_reader_recv(r, data, len, 1, 1, &ev, rc);
}

static void test_call(void) {
  pl_bridge_ws_reader r;
  rec rc = {0};
  pl_bridge_ws_reader_init(&r, 1024, 256);
  static const char hdr[] = "content-type: application/grpc-web+proto\r\n";
  CHECK_RV(whole(&r, &rc, hdr, strlen(hdr)), 0);
  CHECK(rc.n_headers == 1);
  CHECK_STR_EQ(rc.headers, hdr);
  /* Two frames in one message, the second split over a second message. */
  static const uint8_t m1[] = {0x00, 0, 0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0, 3, 'a'};
  static const uint8_t m2[] = {0x00, 'b', 'c'};
  CHECK_RV(whole(&r, &rc, m1, sizeof m1), 0);
  CHECK(rc.n_messages == 1 && rc.last_len == 2 && memcmp(rc.last, "hi", 2) == 0);
  CHECK_RV(whole(&r, &rc, m2, sizeof m2), 0);
  CHECK(rc.n_messages == 2 && rc.last_len == 3 && memcmp(rc.last, "abc", 3) == 0);
  /* An empty message in fragments: the type byte alone in the first. */
  static const uint8_t t[] = {0x00}, f[] = {0, 0, 0, 0, 0};
  CHECK_RV(pl_bridge_ws_reader_recv(&r, t, 1, 1, 0, &ev, &rc), 0);
  CHECK_RV(pl_bridge_ws_reader_recv(&r, f, 3, 0, 0, &ev, &rc), 0);
  CHECK_RV(pl_bridge_ws_reader_recv(&r, f + 3, 2, 0, 1, &ev, &rc), 0);
  CHECK(rc.n_messages == 3 && rc.last_len == 0);
  static const uint8_t hc = 0x01;
  CHECK_RV(whole(&r, &rc, &hc, 1), 0);
  CHECK(rc.n_half_closes == 1);
  CHECK(r.state == PL_BRIDGE_WS_HALF_CLOSED);
  CHECK_RV(whole(&r, &rc, &hc, 1), PL_ERR_PARSE);
  CHECK(r.reason == PL_BRIDGE_R_AFTER_HALF_CLOSE);
  pl_bridge_ws_reader_free(&r);
}

static void test_empty_headers(void) {
  pl_bridge_ws_reader r;
  rec rc = {0};
  pl_bridge_ws_reader_init(&r, 1024, 256);
  CHECK_RV(whole(&r, &rc, "", 0), 0);
  CHECK(rc.n_headers == 1 && rc.headers[0] == '\0');
  pl_bridge_ws_reader_free(&r);
}

/* Each malformed case after a good headers message. */
static void expect(const uint8_t *data, size_t len, int want_rv, pl_bridge_reason want) {
  pl_bridge_ws_reader r;
  rec rc = {0};
  pl_bridge_ws_reader_init(&r, 16, 8);
  CHECK_RV(whole(&r, &rc, "", 0), 0);
  int rv = whole(&r, &rc, data, len);
  if (rv == 0) {
    static const uint8_t hc = 0x01;
    rv = whole(&r, &rc, &hc, 1);
  }
  CHECK_RV(rv, want_rv);
  CHECK_MSG(r.reason == want, "reason %s, want %s", pl_bridge_reason_name(r.reason),
            pl_bridge_reason_name(want));
  /* A failed reader stays failed. */
  CHECK_RV(whole(&r, &rc, data, len), PL_ERR_PARSE);
  pl_bridge_ws_reader_free(&r);
}

static void test_malformed(void) {
  static const uint8_t bad_type[] = {0x02, 0};
  static const uint8_t half_close_extra[] = {0x01, 0};
  static const uint8_t trailer[] = {0x00, 0x80, 0, 0, 0, 0};
  static const uint8_t compressed[] = {0x00, 0x01, 0, 0, 0, 0};
  static const uint8_t flags[] = {0x00, 0x04, 0, 0, 0, 0};
  static const uint8_t truncated[] = {0x00, 0, 0, 0, 0, 5, 'a'};
  static const uint8_t too_big[] = {0x00, 0, 0, 0, 0, 17};
  expect(bad_type, sizeof bad_type, PL_ERR_PARSE, PL_BRIDGE_R_BAD_TYPE);
  expect(NULL, 0, PL_ERR_PARSE, PL_BRIDGE_R_BAD_TYPE); /* an empty message */
  expect(half_close_extra, sizeof half_close_extra, PL_ERR_PARSE, PL_BRIDGE_R_BAD_HALF_CLOSE);
  expect(trailer, sizeof trailer, PL_ERR_PARSE, PL_BRIDGE_R_CLIENT_TRAILER);
  expect(compressed, sizeof compressed, PL_ERR_PARSE, PL_BRIDGE_R_COMPRESSED);
  expect(flags, sizeof flags, PL_ERR_PARSE, PL_BRIDGE_R_BAD_FLAGS);
  expect(truncated, sizeof truncated, PL_ERR_PARSE, PL_BRIDGE_R_TRUNCATED);
  expect(too_big, sizeof too_big, PL_ERR_TOO_BIG, PL_BRIDGE_R_TOO_BIG);

  pl_bridge_ws_reader r;
  rec rc = {0};
  pl_bridge_ws_reader_init(&r, 16, 8);
  CHECK_RV(pl_bridge_ws_reader_recv(&r, (const uint8_t *)"a: 12", 5, 1, 0, &ev, &rc), 0);
  CHECK_RV(pl_bridge_ws_reader_recv(&r, (const uint8_t *)"3456", 4, 0, 1, &ev, &rc), PL_ERR_PARSE);
  CHECK(r.reason == PL_BRIDGE_R_HEADERS_TOO_BIG && rc.n_headers == 0);
  pl_bridge_ws_reader_free(&r);
}

/* A message exactly at the limit is fine; one byte more is not. */
static void test_limit(void) {
  pl_bridge_ws_reader r;
  rec rc = {0};
  uint8_t m[6 + 16] = {0x00, 0, 0, 0, 0, 16};
  pl_bridge_ws_reader_init(&r, 16, 8);
  CHECK_RV(whole(&r, &rc, "", 0), 0);
  CHECK_RV(whole(&r, &rc, m, sizeof m), 0);
  CHECK(rc.n_messages == 1 && rc.total == 16);
  m[5] = 17;
  CHECK_RV(whole(&r, &rc, m, 6), PL_ERR_TOO_BIG);
  CHECK(r.lpm.too_big_len == 17);
  pl_bridge_ws_reader_free(&r);
}

int main(void) {
  test_call();
  test_empty_headers();
  test_malformed();
  test_limit();
  printf("wsframe_test: ok\n");
  return 0;
}
