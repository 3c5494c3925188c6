#ifndef PEERLINK_TESTS_CLI_PROC_H
#define PEERLINK_TESTS_CLI_PROC_H

/* Child processes for the CLI tests: spawn with pipes, wait for output or exit with a
 * deadline (never a sleep), collect everything. */

#include <stddef.h>
#include <sys/types.h>

typedef struct {
  pid_t pid;
  int out_fd, err_fd; /* -1 once at EOF */
  char out[65536], err[65536];
  size_t out_len, err_len;
  int exited, status; /* exit code, or 128 + signal */
} tproc;

/* Starts argv[0] with stdout/stderr piped and stdin from /dev/null. `env` is a NULL-ended
 * list of "NAME=value" (or "NAME=" to unset) applied on top of ours. Returns 0 or -1. */
int tproc_spawn(tproc *p, char *const argv[], char *const env[]);

/* Reads until stdout holds `needle` (returns 0), or EOF / the deadline (returns -1). */
int tproc_wait_stdout(tproc *p, const char *needle, int timeout_ms);

/* Reads everything until both pipes reach EOF, then reaps the child. On the deadline the
 * child is killed and -1 returned. */
int tproc_finish(tproc *p, int timeout_ms);

/* Spawn + finish. Returns the exit status, or -1. */
int tproc_run(tproc *p, char *const argv[], char *const env[], int timeout_ms);

#endif
