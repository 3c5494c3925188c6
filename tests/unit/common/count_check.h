#ifndef PEERLINK_TESTS_COUNT_CHECK_H
#define PEERLINK_TESTS_COUNT_CHECK_H

#include <stdio.h>

#include "control/common/err.h"

/* Being retired: every test uses tests/unit/common/check.h (one assertion style, stopping at
 * the first failure); tests/unit/punch still includes this until it is converted.
 *
 * Checks that count and go on, so one run reports every failure. Each test file defines the
 * counters once: PL_TEST_COUNTERS; and ends main with `return pl_test_report("name");`. */
extern int pl_test_failures, pl_test_checks;

#define PL_TEST_COUNTERS int pl_test_failures, pl_test_checks

static inline int pl_test_report(const char *name) {
  printf("%s: %d checks, %d failures\n", name, pl_test_checks, pl_test_failures);
  return pl_test_failures ? 1 : 0;
}

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    pl_test_checks++;                                                                              \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      pl_test_failures++;                                                                          \
    }                                                                                              \
  } while (0)

#define CHECK_RV(got, want)                                                                        \
  do {                                                                                             \
    int got_ = (got), want_ = (want);                                                              \
    pl_test_checks++;                                                                              \
    if (got_ != want_) {                                                                           \
      fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s)\n", __FILE__, __LINE__, #got, got_,       \
              pl_strerror(got_), want_, pl_strerror(want_));                                       \
      pl_test_failures++;                                                                          \
    }                                                                                              \
  } while (0)

#define CHECK_U64(got, op, want)                                                                   \
  do {                                                                                             \
    unsigned long long got_ = (got), want_ = (want);                                               \
    pl_test_checks++;                                                                              \
    if (!(got_ op want_)) {                                                                        \
      fprintf(stderr, "%s:%d: %s = %llu, want %s %llu\n", __FILE__, __LINE__, #got, got_, #op,     \
              want_);                                                                              \
      pl_test_failures++;                                                                          \
    }                                                                                              \
  } while (0)

#endif
