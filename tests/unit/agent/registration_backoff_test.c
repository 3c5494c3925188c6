/* Two agents that lose their rendezvous at the same moment must not retry in lock-step. Each
 * "agent" is a child process forked from this one (so both start from the same process state,
 * as two copies of one program do), starting registrations whose first attempt fails at once
 * (a target that does not parse), and reporting the retry delays its registrations chose. The
 * two schedules must differ; each delay must be within the first backoff step. With the random
 * source injected, the delay is exactly what it dictates. */

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/registration.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

#define N_REG 10

/* The delay the registration's first retry was scheduled with. */
static uint64_t first_retry_ms(uv_loop_t *loop, pl_registration *reg, pl_random_fn rnd) {
  memset(reg, 0, sizeof *reg);
  reg->target = "not-a-rendezvous-address";
  reg->random = rnd;
  CHECK_RV(pl_registration_start(reg, loop), 0);
  CHECK(reg->state == PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISCONNECTED);
  CHECK(uv_is_active((uv_handle_t *)&reg->retry));
  return uv_timer_get_due_in(&reg->retry);
}

static void schedule(uint64_t out[N_REG]) {
  static pl_registration regs[N_REG];
  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  for (int i = 0; i < N_REG; i++)
    out[i] = first_retry_ms(&loop, &regs[i], NULL);
}

/* One "agent": its schedule, through a pipe. */
static pid_t agent(int fd[2]) {
  CHECK(pipe(fd) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    uint64_t s[N_REG];
    close(fd[0]);
    schedule(s);
    _exit(write(fd[1], s, sizeof s) == (ssize_t)sizeof s ? 0 : 1);
  }
  close(fd[1]);
  return pid;
}

static void collect(pid_t pid, int fd, uint64_t s[N_REG]) {
  int status;
  CHECK(read(fd, s, sizeof(uint64_t) * N_REG) == (ssize_t)(sizeof(uint64_t) * N_REG));
  close(fd);
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int zero_bytes(void *buf, size_t len) {
  memset(buf, 0, len);
  return 0;
}

int main(void) {
  int fa[2], fb[2];
  uint64_t a[N_REG], b[N_REG];
  pid_t pa = agent(fa), pb = agent(fb);
  collect(pa, fa[0], a);
  collect(pb, fb[0], b);
  for (int i = 0; i < N_REG; i++) {
    CHECK_U64(a[i], >=, PL_REGISTRATION_BACKOFF_MIN_MS / 2);
    CHECK_U64(a[i], <=, PL_REGISTRATION_BACKOFF_MIN_MS);
    CHECK_U64(b[i], >=, PL_REGISTRATION_BACKOFF_MIN_MS / 2);
    CHECK_U64(b[i], <=, PL_REGISTRATION_BACKOFF_MIN_MS);
  }
  CHECK_MSG(memcmp(a, b, sizeof a) != 0,
            "two agents chose the same %d retry delays (%llu, %llu, %llu, ...): they would "
            "reconnect in lock-step",
            N_REG, (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2]);

  /* The injected source is the one used. */
  uv_loop_t loop;
  static pl_registration reg;
  CHECK(uv_loop_init(&loop) == 0);
  CHECK_U64(first_retry_ms(&loop, &reg, zero_bytes), ==, PL_REGISTRATION_BACKOFF_MIN_MS / 2);
  pl_registration_stop(&reg, NULL, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  printf("registration_backoff_test: ok\n");
  return 0;
}
