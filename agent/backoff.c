/* Jittered exponential backoff (agent/backoff.h). */
#include "agent/backoff.h"

#include <sys/random.h>

#include "control/common/err.h"

int pl_backoff_random_system(void *buf, size_t len) {
  /* Requests of up to 256 bytes are never cut short once the pool is initialised. */
  return len <= 256 && getrandom(buf, len, 0) == (ssize_t)len ? 0 : PL_ERR_IO;
}

void pl_backoff_init(pl_backoff *b, uint64_t min_ms, uint64_t max_ms, pl_backoff_random_fn random) {
  b->min_ms = min_ms ? min_ms : 1;
  b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
  b->cur_ms = b->min_ms;
  b->random = random ? random : pl_backoff_random_system;
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
