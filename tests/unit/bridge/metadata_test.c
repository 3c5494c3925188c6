/* Header blocks, grpc-timeout and the percent-encoded grpc-message (I/O-free). */

#include <string.h>

#include "control/bridge/metadata.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

typedef struct seen {
  char text[512];
} seen;

static int collect(void *arg, const char *key, const char *value) {
  seen *s = arg;
  size_t n = strlen(s->text);
  snprintf(s->text + n, sizeof s->text - n, "[%s=%s]", key, value);
  return 0;
}

static void check_block(const char *block, int want_rv, const char *want) {
  seen s = {{0}};
  CHECK_RV(pl_bridge_headers_parse(block, strlen(block), collect, &s), want_rv);
  if (want)
    CHECK_STR_EQ(s.text, want);
}

static void test_headers(void) {
  check_block("", 0, "");
  check_block("Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n", 0,
              "[content-type=application/grpc-web+proto][x-grpc-web=1]");
  check_block("a:b\nc:  spaced  \r\n\r\n", 0, "[a=b][c=spaced]");
  check_block("grpc-timeout: 5S", 0, "[grpc-timeout=5S]");
  check_block("no colon\r\n", PL_ERR_PARSE, NULL);
  check_block(": empty key\r\n", PL_ERR_PARSE, NULL);
  check_block("bad key: x\r\n", PL_ERR_PARSE, NULL);
  check_block("k: \x01\r\n", PL_ERR_PARSE, NULL);
  check_block("k: caf\xc3\xa9\r\n", PL_ERR_PARSE, NULL);
  static const char nul[] = "a: b\0c\r\n";
  seen s = {{0}};
  CHECK_RV(pl_bridge_headers_parse(nul, sizeof nul - 1, collect, &s), PL_ERR_PARSE);
  char big[5000];
  memset(big, 'x', sizeof big);
  big[0] = 'k';
  big[1] = ':';
  CHECK_RV(pl_bridge_headers_parse(big, sizeof big, collect, &s), PL_ERR_TOO_BIG);
}

static void test_timeout(void) {
  static const struct {
    const char *in;
    uint64_t ms;
  } ok[] = {{"1S", 1000},   {"250m", 250},
            {"2M", 120000}, {"1H", 3600000},
            {"1500u", 2},   {"1n", 1},
            {"0m", 1},      {"99999999H", 99999999ull * 3600000},
            {"999999n", 1}, {"12345678m", 12345678}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint64_t ms = 0;
    CHECK_RV(pl_bridge_timeout_parse(ok[i].in, &ms), 0);
    CHECK_MSG(ms == ok[i].ms, "%s: %llu", ok[i].in, (unsigned long long)ms);
  }
  static const char *bad[] = {"", "S", "5", "5s", "-1S", "123456789S", "1.5S", "1 S"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t ms;
    CHECK_MSG(pl_bridge_timeout_parse(bad[i], &ms) == PL_ERR_PARSE, "%s", bad[i]);
  }
}

static void test_encoding(void) {
  char out[64];
  CHECK(pl_bridge_percent_encode("plain text", out, sizeof out) == 10);
  CHECK_STR_EQ(out, "plain text");
  pl_bridge_percent_encode("100% caf\xc3\xa9\r\n", out, sizeof out);
  CHECK_STR_EQ(out, "100%25 caf%C3%A9%0D%0A");
  /* Cut between characters, never inside an escape. */
  pl_bridge_percent_encode("ab\n", out, 5);
  CHECK_STR_EQ(out, "ab");
  char block[256];
  size_t n = pl_bridge_trailers_block(8, "too big: 5%", block, sizeof block);
  CHECK_STR_EQ(block, "grpc-status: 8\r\ngrpc-message: too big: 5%25\r\n");
  CHECK(n == strlen(block));
  pl_bridge_trailers_block(0, "", block, sizeof block);
  CHECK_STR_EQ(block, "grpc-status: 0\r\n");
}

int main(void) {
  test_headers();
  test_timeout();
  test_encoding();
  printf("metadata_test: ok\n");
  return 0;
}
