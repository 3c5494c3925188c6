/* Jittered exponential backoff (agent/backoff.h). */
#include "agent/backoff.h"

#include "control/common/err.h"
#include "control/common/random.h"

void pl_backoff_init(pl_backoff *b, uint64_t min_ms, uint64_t max_ms, pl_random_fn random) {
  b->min_ms = min_ms ? min_ms : 1;
  b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
  b->cur_ms = b->min_ms;
  b->random = random ? random : pl_random_bytes;
}

uint64_t pl_backoff_next(pl_backoff *b) {
  uint32_t r;
  uint64_t half = b->cur_ms / 2, delay = b->cur_ms;
  if (b->random(&r, sizeof r) == 0)
    delay = half + r % (b->cur_ms - half + 1);
  b->cur_ms = b->cur_ms > b->max_ms / 2 ? b->max_ms : b->cur_ms * 2;
  return delay;
}

void pl_backoff_reset(pl_backoff *b) {
  b->cur_ms = b->min_ms;
}
