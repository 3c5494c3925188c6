#include "control/common/signals.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void on_signal(uv_signal_t *h, int signum) {
  pl_signals *s = h->data;
  if (s->fired) {
    fprintf(stderr, "second signal %d: exiting now\n", signum);
    _exit(128 + signum);
  }
  s->fired = 1;
  s->stop(s->arg);
}

int pl_signals_start(pl_signals *s, uv_loop_t *loop, void (*stop)(void *arg), void *arg) {
  s->stop = stop;
  s->arg = arg;
  s->fired = 0;
  /* A peer that resets a TCP connection (punched TCP, STUN over TCP, HTTP/WebSocket) must cost
   * a write error, not the process: every program writes to sockets peers can close. */
  signal(SIGPIPE, SIG_IGN);
  uv_signal_init(loop, &s->sigint);
  uv_signal_init(loop, &s->sigterm);
  s->sigint.data = s->sigterm.data = s;
  uv_signal_start(&s->sigint, on_signal, SIGINT);
  uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  uv_unref((uv_handle_t *)&s->sigint);
  uv_unref((uv_handle_t *)&s->sigterm);
  return 0;
}

void pl_signals_close(pl_signals *s) {
  /* Stop instead of close: a second signal during shutdown must still reach on_signal. */
  (void)s;
}
