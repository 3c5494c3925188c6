#ifndef PEERLINK_COMMON_SIGNALS_H
#define PEERLINK_COMMON_SIGNALS_H

#include <uv.h>

/* Calls `stop(arg)` on the loop thread at the first SIGINT or SIGTERM; a second one exits at
 * once (a person pressing Ctrl-C twice means it). The signal handles do not keep the loop
 * alive, so the loop ends when the program has closed everything else. */
typedef struct pl_signals {
  uv_signal_t sigint, sigterm;
  void (*stop)(void *arg);
  void *arg;
  int fired;
} pl_signals;

/* Also ignores SIGPIPE for the process (a reset connection is a write error, not a death). */
int pl_signals_start(pl_signals *s, uv_loop_t *loop, void (*stop)(void *arg), void *arg);
/* Closes the handles (call from the stop path). */
void pl_signals_close(pl_signals *s);

#endif
