#ifndef PEERLINK_TESTS_RENDEZVOUS_FIXTURE_H
#define PEERLINK_TESTS_RENDEZVOUS_FIXTURE_H

/* Deterministic randomness and agent IDs for the rendezvous's I/O-free tests. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "control/common/err.h"

static uint64_t fixture_counter;
static int fixture_fail;   /* when set, the random function fails */
static int fixture_repeat; /* when > 0, that many calls return the same bytes as the last one */
static uint8_t fixture_last[64];

/* A counter in every byte position: distinct, reproducible "random" bytes. */
static int fixture_random(void *buf, size_t len) {
  uint8_t *p = buf;
  if (fixture_fail)
    return PL_ERR_IO;
  if (fixture_repeat > 0 && len <= sizeof fixture_last) {
    fixture_repeat--;
    memcpy(p, fixture_last, len);
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    fixture_counter = fixture_counter * 6364136223846793005u + 1442695040888963407u;
    p[i] = (uint8_t)(fixture_counter >> 56);
  }
  if (len <= sizeof fixture_last)
    memcpy(fixture_last, p, len);
  return 0;
}

/* "0000...000n": agent ID number n as 32 lowercase hex characters. */
static const char *fixture_id(char out[33], unsigned n) {
  snprintf(out, 33, "%032x", n);
  return out;
}

#endif
