#ifndef PEERLINK_TESTS_CHECK_H
#define PEERLINK_TESTS_CHECK_H

/* The assertions of every C test: on failure, print file:line, the expression and the values
 * involved, then exit 1. Stopping at the first failure (as libuv's ASSERT does) means a test
 * never goes on with state a failed check has shown to be wrong (a NULL pointer, a short
 * buffer). A test ends main with `printf("name: ok\n"); return 0;`.
 *
 *   CHECK(cond)                    any condition
 *   CHECK_MSG(cond, fmt, ...)      the same, with context printed on failure (a child's output)
 *   CHECK_RV(got, want)            PL_ERR_* results, printed with pl_strerror
 *   CHECK_U64(got, op, want)       unsigned comparison (==, <=, ...), both values printed
 *   CHECK_STR_EQ(got, want)        strings equal (a NULL got fails)
 *   CHECK_STR_CONTAINS(hay, needle)
 *   CHECK_MEM_EQ(got, want, len)   bytes equal, both printed in hex on failure
 *
 * and, for test vectors, pl_test_unhex (hex text → bytes through control/common/hex). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/hex.h"

#define CHECK_FAIL_(...)                                                                           \
  do {                                                                                             \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                                \
    fprintf(stderr, __VA_ARGS__);                                                                  \
    fputc('\n', stderr);                                                                           \
    exit(1);                                                                                       \
  } while (0)

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      CHECK_FAIL_("CHECK failed: %s", #cond);                                                      \
  } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n  ", __FILE__, __LINE__, #cond);                   \
      CHECK_FAIL_(__VA_ARGS__);                                                                    \
    }                                                                                              \
  } while (0)

#define CHECK_RV(got, want)                                                                        \
  do {                                                                                             \
    int got_ = (got), want_ = (want);                                                              \
    if (got_ != want_)                                                                             \
      CHECK_FAIL_("%s = %d (%s), want %d (%s)", #got, got_, pl_strerror(got_), want_,              \
                  pl_strerror(want_));                                                             \
  } while (0)

#define CHECK_U64(got, op, want)                                                                   \
  do {                                                                                             \
    unsigned long long got_ = (got), want_ = (want);                                               \
    if (!(got_ op want_))                                                                          \
      CHECK_FAIL_("%s = %llu, want %s %llu", #got, got_, #op, want_);                              \
  } while (0)

#define CHECK_STR_EQ(got, want)                                                                    \
  do {                                                                                             \
    const char *got_ = (got), *want_ = (want);                                                     \
    if (got_ == NULL || strcmp(got_, want_) != 0)                                                  \
      CHECK_FAIL_("%s:\n  got:  %s\n  want: %s", #got, got_ ? got_ : "(null)", want_);             \
  } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                                       \
  do {                                                                                             \
    const char *hay_ = (haystack), *needle_ = (needle);                                            \
    if (hay_ == NULL || strstr(hay_, needle_) == NULL)                                             \
      CHECK_FAIL_("\"%s\" does not contain \"%s\"", hay_ ? hay_ : "(null)", needle_);              \
  } while (0)

static inline void check_hex_line_(const char *what, const void *p, size_t len) {
  char *hex = malloc(2 * len + 1);
  if (hex != NULL)
    pl_hex_encode(hex, p, len);
  fprintf(stderr, "  %s: %s\n", what, hex ? hex : "(no memory)");
  free(hex);
}

#define CHECK_MEM_EQ(got, want, len)                                                               \
  do {                                                                                             \
    size_t len_ = (len);                                                                           \
    if (memcmp((got), (want), len_) != 0) {                                                        \
      check_hex_line_("got", (got), len_);                                                         \
      check_hex_line_("want", (want), len_);                                                       \
      CHECK_FAIL_("%s differs from %s (%zu bytes)", #got, #want, len_);                            \
    }                                                                                              \
  } while (0)

/* Decodes the hex literal `hex` into out (at most cap bytes) and returns the byte count; text
 * that is not whole hex bytes, or too long, stops the test. */
static inline size_t pl_test_unhex(uint8_t *out, size_t cap, const char *hex) {
  size_t n = strlen(hex) / 2;
  CHECK_MSG(n <= cap && pl_hex_decode(out, n, hex) == 0, "bad hex test data: %s", hex);
  return n;
}

#endif
