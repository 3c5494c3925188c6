#ifndef PEERLINK_AGENT_BACKOFF_H
#define PEERLINK_AGENT_BACKOFF_H

/* Jittered exponential backoff for reconnect attempts. I/O-free: the randomness comes from a
 * function the owner passes in (NULL: the kernel's getrandom), so a fleet of agents that lost
 * their rendezvous together spreads its retries instead of retrying in lock-step, and tests can
 * make a schedule deterministic. */

#include <stddef.h>
#include <stdint.h>
#include "control/common/random.h"

typedef struct pl_backoff {
  uint64_t min_ms, max_ms;
  uint64_t cur_ms; /* the upper bound of the next delay */
  pl_random_fn random;
} pl_backoff;

/* min_ms >= 1, max_ms >= min_ms. `random` may be NULL (getrandom). */
void pl_backoff_init(pl_backoff *b, uint64_t min_ms, uint64_t max_ms, pl_random_fn random);

/* The delay before the next attempt, uniform in [cur/2, cur]; then cur doubles, up to max. When
 * the random source fails the delay is cur (later, never sooner). */
uint64_t pl_backoff_next(pl_backoff *b);

/* After a success: the next failure starts again from min_ms. */
void pl_backoff_reset(pl_backoff *b);

#endif
