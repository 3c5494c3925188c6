/* Jittered exponential backoff with a scripted random source: every delay within
 * [cur/2, cur], cur doubling to the cap, reset after success, no jitter (never sooner) when
 * the source fails. */

#include <stdio.h>
#include <string.h>

#include "agent/backoff.h"
#include "control/common/err.h"
#include "control/common/random.h"
#include "tests/unit/common/check.h"

static uint32_t next_value;
static int fail_source;

static int scripted(void *buf, size_t len) {
  if (fail_source)
    return PL_ERR_IO;
  CHECK(len == sizeof next_value);
  memcpy(buf, &next_value, len);
  return 0;
}

int main(void) {
  pl_backoff b;
  pl_backoff_init(&b, 200, 5000, scripted);
  /* r = 0 picks the lower bound, r = cur/2 the upper. */
  next_value = 0;
  CHECK_U64(pl_backoff_next(&b), ==, 100);
  next_value = 200;
  CHECK_U64(pl_backoff_next(&b), ==, 400); /* cur 400: 200 + 200 % 201 */
  uint64_t cur = 800;
  for (int i = 0; i<10; i++, cur = cur * 2> 5000 ? 5000 : cur * 2) {
    next_value = 0xffffffffu - (uint32_t)i;
    uint64_t d = pl_backoff_next(&b);
    CHECK_U64(d, >=, cur / 2);
    CHECK_U64(d, <=, cur);
  }
  CHECK_U64(b.cur_ms, ==, 5000);
  fail_source = 1;
  CHECK_U64(pl_backoff_next(&b), ==, 5000);
  fail_source = 0;
  pl_backoff_reset(&b);
  next_value = 0;
  CHECK_U64(pl_backoff_next(&b), ==, 100);

  /* The system source fills what it is asked for. */
  uint8_t buf[32] = {0}, zero[32] = {0};
  CHECK_RV(pl_random_bytes(buf, sizeof buf), 0);
  CHECK(memcmp(buf, zero, sizeof buf) != 0);
  printf("backoff_test: ok\n");
  return 0;
}
