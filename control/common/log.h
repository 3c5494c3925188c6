#ifndef PEERLINK_COMMON_LOG_H
#define PEERLINK_COMMON_LOG_H

/* One structured line per event on stderr: `ts=... level=info prog=agent event=registered k=v`.
 * Callers pass the key=value part as a printf format. */

typedef enum { PL_LOG_DEBUG, PL_LOG_INFO, PL_LOG_WARN, PL_LOG_ERROR } pl_log_level;

void pl_log_init(const char *prog, pl_log_level min_level);
void pl_log(pl_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
