#ifndef PEERLINK_TESTS_PUNCH_CHECK_H
#define PEERLINK_TESTS_PUNCH_CHECK_H

#include <stdio.h>

#include "control/common/err.h"

extern int pl_test_failures, pl_test_checks;

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
