/* The gRPC-Web request body (I/O-free): content types, messages in chunks of every size, the
 * end of the body inside a message, flags and the size limit. */

#include <string.h>

#include "control/bridge/gwbody.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

static int n_messages;
static size_t total;

static int on_message(void *arg, const uint8_t *msg, size_t len) {
  (void)arg;
  (void)msg;
  n_messages++;
  total += len;
  return 0;
}

static void test_content_types(void) {
  CHECK(pl_bridge_gw_content_type_ok("application/grpc-web+proto"));
  CHECK(pl_bridge_gw_content_type_ok("application/grpc-web"));
  CHECK(pl_bridge_gw_content_type_ok("Application/GRPC-Web+proto; charset=utf-8"));
  CHECK(!pl_bridge_gw_content_type_ok("application/grpc-web-text"));
  CHECK(!pl_bridge_gw_content_type_ok("application/grpc-web+json"));
  CHECK(!pl_bridge_gw_content_type_ok("application/grpc"));
  CHECK(!pl_bridge_gw_content_type_ok(""));
  CHECK(!pl_bridge_gw_content_type_ok(NULL));
}

/* Three messages (0, 3 and 200 bytes), fed in chunks of every size from 1 to the whole body. */
static void test_chunks(void) {
  uint8_t body[5 + 5 + 3 + 5 + 200] = {0};
  body[9] = 3;
  memcpy(body + 10, "abc", 3);
  body[13 + 4] = 200;
  for (size_t chunk = 1; chunk <= sizeof body; chunk++) {
    pl_bridge_gw_body b;
    pl_bridge_gw_body_init(&b, 1024);
    n_messages = 0;
    total = 0;
    for (size_t off = 0; off < sizeof body; off += chunk) {
      size_t n = sizeof body - off < chunk ? sizeof body - off : chunk;
      CHECK_RV(pl_bridge_gw_body_feed(&b, body + off, n, on_message, NULL), 0);
    }
    CHECK_RV(pl_bridge_gw_body_end(&b), 0);
    CHECK_MSG(n_messages == 3 && total == 203, "chunk %zu: %d messages", chunk, n_messages);
    pl_bridge_gw_body_free(&b);
  }
}

static void test_refused(void) {
  pl_bridge_gw_body b;
  static const uint8_t half[] = {0, 0, 0, 0, 9, 'x'};
  pl_bridge_gw_body_init(&b, 8);
  CHECK_RV(pl_bridge_gw_body_feed(&b, half, 5, on_message, NULL), PL_ERR_TOO_BIG);
  CHECK(b.reason == PL_BRIDGE_R_TOO_BIG && b.lpm.too_big_len == 9);
  pl_bridge_gw_body_free(&b);

  pl_bridge_gw_body_init(&b, 64);
  CHECK_RV(pl_bridge_gw_body_feed(&b, half, sizeof half, on_message, NULL), 0);
  CHECK_RV(pl_bridge_gw_body_end(&b), PL_ERR_PARSE);
  CHECK(b.reason == PL_BRIDGE_R_TRUNCATED);
  pl_bridge_gw_body_free(&b);

  static const uint8_t trailer[] = {0x80, 0, 0, 0, 0};
  pl_bridge_gw_body_init(&b, 64);
  CHECK_RV(pl_bridge_gw_body_feed(&b, trailer, sizeof trailer, on_message, NULL), PL_ERR_PARSE);
  CHECK(b.reason == PL_BRIDGE_R_CLIENT_TRAILER);
  pl_bridge_gw_body_free(&b);

  /* An empty body is no message at all, which the agent judges (a unary call needs one). */
  pl_bridge_gw_body_init(&b, 64);
  CHECK_RV(pl_bridge_gw_body_end(&b), 0);
  pl_bridge_gw_body_free(&b);
}

int main(void) {
  test_content_types();
  test_chunks();
  test_refused();
  printf("gwbody_test: ok\n");
  return 0;
}
