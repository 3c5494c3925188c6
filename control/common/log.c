#include "control/common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *log_prog = "peerlink";
static pl_log_level log_min = PL_LOG_INFO;

void pl_log_init(const char *prog, pl_log_level min_level) {
  log_prog = prog;
  log_min = min_level;
}

void pl_log(pl_log_level level, const char *event, const char *fmt, ...) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (level < log_min)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char line[1024];
  int n = snprintf(line, sizeof line, "ts=%lld.%03ld level=%s prog=%s event=%s ",
                   (long long)ts.tv_sec, ts.tv_nsec / 1000000, names[level], log_prog, event);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof line)
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  /* One fputs per line so lines from one process never interleave. */
  fprintf(stderr, "%s\n", line);
}
