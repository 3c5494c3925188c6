/* --rendezvous A,B,...: the list is parsed and checked (each entry named when it is wrong, at
 * most PL_REGISTRATION_TARGETS_MAX), and the registration dials the next instance after every
 * failed attempt, round robin. The attempts fail at once (targets that do not make a channel),
 * so no socket is involved; the retry delays are the backoff's, made short and exact by an
 * all-zero random source. */

#include <stdio.h>
#include <string.h>

#include "agent/registration.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

#define DEADLINE_MS 10000

static void parses(void) {
  static pl_registration reg;
  char err[256] = "";

  CHECK_RV(pl_registration_set_targets(&reg, "127.0.0.1:7800", err, sizeof err), 0);
  CHECK_U64(reg.n_targets, ==, 1);
  CHECK_STR_EQ(reg.target, "127.0.0.1:7800");

  /* A scheme per entry is dropped, as the flag layer drops it for one address. */
  CHECK_RV(pl_registration_set_targets(&reg, "grpc://rdv-a.example:1,[::1]:2,10.0.0.3:3", err,
                                       sizeof err),
           0);
  CHECK_U64(reg.n_targets, ==, 3);
  CHECK_STR_EQ(reg.targets[0], "rdv-a.example:1");
  CHECK_STR_EQ(reg.targets[1], "[::1]:2");
  CHECK_STR_EQ(reg.targets[2], "10.0.0.3:3");
  CHECK(reg.target == reg.targets[0]);

  char eight[256] = "", nine[512];
  for (int i = 0; i < PL_REGISTRATION_TARGETS_MAX; i++)
    snprintf(eight + strlen(eight), sizeof eight - strlen(eight), "%s127.0.0.1:%d", i ? "," : "",
             7800 + i);
  CHECK_RV(pl_registration_set_targets(&reg, eight, err, sizeof err), 0);
  CHECK_U64(reg.n_targets, ==, PL_REGISTRATION_TARGETS_MAX);
  snprintf(nine, sizeof nine, "%s,127.0.0.1:9999", eight);
  CHECK_RV(pl_registration_set_targets(&reg, nine, err, sizeof err), PL_ERR_TOO_BIG);
  CHECK_STR_CONTAINS(err, "at most 8");
}

/* Each wrong list is refused with a message naming what is wrong. */
static void refuses(const char *list, const char *says) {
  static pl_registration reg;
  char err[256] = "";
  CHECK_RV(pl_registration_set_targets(&reg, list, err, sizeof err), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--rendezvous: ");
  CHECK_STR_CONTAINS(err, says);
}

/* --- failing over ------------------------------------------------------------------------ */

typedef struct dialled {
  pl_registration reg;
  const char *seen[16];
  size_t n;
  uv_timer_t check, deadline;
  int stopped;
} dialled;

static void on_target(void *arg, const char *target) {
  dialled *d = arg;
  CHECK(target == d->reg.target);
  if (d->n < sizeof d->seen / sizeof d->seen[0])
    d->seen[d->n] = target;
  d->n++;
}

static void on_stopped(void *arg) {
  dialled *d = arg;
  d->stopped = 1;
  uv_close((uv_handle_t *)&d->check, NULL);
  uv_close((uv_handle_t *)&d->deadline, NULL);
}

/* Outside the registration's callbacks: stopping from inside one would race its retry. */
static void on_check(uv_timer_t *t) {
  dialled *d = t->data;
  if (d->n >= 5 && !d->reg.stopping)
    pl_registration_stop(&d->reg, on_stopped, d);
}

static void on_deadline(uv_timer_t *t) {
  dialled *d = t->data;
  CHECK_MSG(0, "only %zu attempts within %d ms", d->n, DEADLINE_MS);
}

static int zero_bytes(void *buf, size_t len) {
  memset(buf, 0, len);
  return 0;
}

/* Five attempts against `n` targets that cannot be dialled; returns how many were seen. */
static size_t fail_over(dialled *d, const char *const *targets, size_t n) {
  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  memset(d, 0, sizeof *d);
  for (size_t i = 0; i < n; i++)
    snprintf(d->reg.targets[i], sizeof d->reg.targets[i], "%s", targets[i]);
  d->reg.n_targets = n;
  d->reg.cb = (pl_registration_callbacks){.on_target = on_target};
  d->reg.arg = d;
  d->reg.random = zero_bytes;
  CHECK(uv_timer_init(&loop, &d->check) == 0);
  CHECK(uv_timer_init(&loop, &d->deadline) == 0);
  d->check.data = d->deadline.data = d;
  CHECK(uv_timer_start(&d->check, on_check, 5, 5) == 0);
  CHECK(uv_timer_start(&d->deadline, on_deadline, DEADLINE_MS, 0) == 0);
  CHECK_RV(pl_registration_start(&d->reg, &loop), 0);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(d->stopped);
  CHECK(uv_loop_close(&loop) == 0);
  return d->n;
}

int main(void) {
  parses();
  refuses("", "empty address");
  refuses("127.0.0.1:1,,127.0.0.1:2", "empty address");
  refuses("127.0.0.1:1,", "empty address");
  refuses("127.0.0.1:1,127.0.0.1", "\"127.0.0.1\" is not HOST:PORT");
  refuses("127.0.0.1:99999,127.0.0.1:2", "\"127.0.0.1:99999\" is not HOST:PORT");
  refuses("127.0.0.1:1,no_such host:2", "\"no_such host:2\" is not HOST:PORT");

  static dialled d;
  const char *three[] = {"no-port-a", "no-port-b", "no-port-c"};
  size_t n = fail_over(&d, three, 3);
  CHECK_U64(n, >=, 5);
  /* Round robin, starting with the first; no attempt after the stop. */
  for (size_t i = 0; i < 5; i++)
    CHECK_STR_EQ(d.seen[i], three[i % 3]);
  CHECK_U64(d.n, ==, n);

  /* One address: every attempt dials it, as before there could be several. */
  const char *one[] = {"no-port-a"};
  fail_over(&d, one, 1);
  for (size_t i = 0; i < 5; i++)
    CHECK_STR_EQ(d.seen[i], "no-port-a");

  printf("registration_targets_test: ok\n");
  return 0;
}
