#ifndef PEERLINK_COMMON_CLOCK_H
#define PEERLINK_COMMON_CLOCK_H

/* The two clocks every program needs. Protocol state machines never read them: their glue
 * passes `now` in, so tests can use synthetic time. */

#include <stdint.h>

/* Monotonic microseconds (for timers and RTTs; never jumps). */
uint64_t pl_clock_now_us(void);
/* Wall-clock Unix milliseconds (for times that cross machines, e.g. an offer's start time). */
int64_t pl_clock_unix_ms(void);

#endif
