#ifndef PEERLINK_TESTS_CLI_PROC_H
#define PEERLINK_TESTS_CLI_PROC_H

/* Child processes for the CLI tests: spawn with pipes, wait for output or exit with a
 * deadline (never a sleep), collect everything. A child dies with the test, so a check that
 * stops the test leaves no server behind. */

#include <stddef.h>
#include <sys/types.h>

#include "tests/unit/common/check.h"

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

/* CHECK(cond) that prints the child's exit status and output when it fails. */
#define CHECK_PROC(cond, p)                                                                        \
  CHECK_MSG(cond, "exit=%d\n  stdout: %s\n  stderr: %s", (p)->status, (p)->out, (p)->err)

#endif
