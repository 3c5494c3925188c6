#ifndef PEERLINK_TESTS_CHECK_H
#define PEERLINK_TESTS_CHECK_H

/* Minimal assertions for unit tests: report file:line and the expression, then exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                                       \
  do {                                                                                             \
    if (strstr((haystack), (needle)) == NULL) {                                                    \
      fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, (haystack),   \
              (needle));                                                                           \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

#endif
