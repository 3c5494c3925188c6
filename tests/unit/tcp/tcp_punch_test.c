/* agent/tcp/tcp_punch: the schedule (nothing before the start time, every target at once, a
 * failed connect again after the retry interval, nothing after a win) and what it reports at
 * the deadline: timed out, refused, auth failed. Synthetic time. */
#include <string.h>

#include "agent/tcp/tcp_punch.h"
#include "tests/unit/common/check.h"
#include "tests/unit/common/test_addr.h"

#define START 1000000u
#define TIMEOUT 10000000u
#define RETRY 500000u

static void init(pl_tcp_punch *p, size_t n) {
  struct sockaddr_storage remote[3];
  remote[0] = pl_test_addr("198.18.1.2", 4000);
  remote[1] = pl_test_addr("10.77.2.2", 4000);
  remote[2] = pl_test_addr("10.77.2.3", 4001);
  CHECK_RV(pl_tcp_punch_init(p, remote, n, START, TIMEOUT, RETRY), 0);
}

static void test_schedule(void) {
  pl_tcp_punch p;
  size_t idx, seen = 0;
  init(&p, 3);
  CHECK(p.state == PL_TCP_PUNCH_TRYING);
  CHECK(pl_tcp_punch_deadline(&p) == START);
  CHECK(pl_tcp_punch_poll(&p, START - 1, &idx) == 0);
  while (pl_tcp_punch_poll(&p, START, &idx) == 1)
    seen |= 1u << idx;
  CHECK(seen == 7); /* all three at the start time */
  CHECK(pl_tcp_punch_deadline(&p) == START + TIMEOUT);
  /* The kernel keeps retransmitting SYNs of a connect under way: no second connect. */
  CHECK(pl_tcp_punch_poll(&p, START + 2000000, &idx) == 0);
  /* One failed outright: again after the retry interval, only that one. */
  pl_tcp_punch_failed(&p, 1, "connection refused", 1, START + 100);
  CHECK(pl_tcp_punch_deadline(&p) == START + 100 + RETRY);
  CHECK(pl_tcp_punch_poll(&p, START + 100 + RETRY - 1, &idx) == 0);
  CHECK(pl_tcp_punch_poll(&p, START + 100 + RETRY, &idx) == 1 && idx == 1);
  CHECK(p.t[1].attempts == 2);
  /* A win stops everything. */
  pl_tcp_punch_up(&p);
  pl_tcp_punch_won(&p);
  CHECK(p.state == PL_TCP_PUNCH_CONNECTED);
  CHECK_STR_EQ(p.detail, "connected");
  pl_tcp_punch_failed(&p, 0, "x", 0, START + 200);
  CHECK(pl_tcp_punch_poll(&p, START + 5000000, &idx) == 0);
  CHECK(pl_tcp_punch_deadline(&p) == UINT64_MAX);
  CHECK(pl_tcp_punch_expire(&p, START + TIMEOUT) == 0);
}

static void test_timed_out(void) {
  pl_tcp_punch p;
  size_t idx;
  init(&p, 2);
  while (pl_tcp_punch_poll(&p, START, &idx) == 1)
    ;
  CHECK(pl_tcp_punch_expire(&p, START + TIMEOUT - 1) == 0);
  CHECK(pl_tcp_punch_expire(&p, START + TIMEOUT) == 1);
  CHECK(p.state == PL_TCP_PUNCH_FAILED);
  CHECK_STR_EQ(p.detail, "timed out after 10 s: no answer from 198.18.1.2:4000, 10.77.2.2:4000");
  CHECK(pl_tcp_punch_expire(&p, START + TIMEOUT + 1) == 0); /* once */
  CHECK(pl_tcp_punch_poll(&p, START + TIMEOUT + RETRY, &idx) == 0);

  /* A connection came up but never finished its handshake. */
  init(&p, 1);
  CHECK(pl_tcp_punch_poll(&p, START, &idx) == 1);
  pl_tcp_punch_up(&p);
  CHECK(pl_tcp_punch_expire(&p, START + TIMEOUT) == 1);
  CHECK_STR_CONTAINS(p.detail, "handshake did not complete");
}

static void test_refused(void) {
  pl_tcp_punch p;
  size_t idx;
  init(&p, 2);
  for (uint64_t now = START; now < START + TIMEOUT; now += RETRY) {
    while (pl_tcp_punch_poll(&p, now, &idx) == 1)
      if (idx == 0)
        pl_tcp_punch_failed(&p, idx, "connection refused", 1, now);
  }
  CHECK(pl_tcp_punch_expire(&p, START + TIMEOUT) == 1);
  CHECK_STR_EQ(p.detail, "refused: 198.18.1.2:4000 answered with a reset (20 of 20 attempts)");
}

static void test_auth_failed(void) {
  pl_tcp_punch p;
  size_t idx;
  init(&p, 1);
  CHECK(pl_tcp_punch_poll(&p, START, &idx) == 1);
  pl_tcp_punch_up(&p);
  pl_tcp_punch_auth_failed(&p, "auth failed: wrong AUTH MAC (the peer lacks the pairing's key)");
  pl_tcp_punch_failed(&p, 0, "auth failed", 0, START + 10);
  CHECK(pl_tcp_punch_expire(&p, START + TIMEOUT) == 1);
  CHECK_STR_EQ(p.detail, "auth failed: wrong AUTH MAC (the peer lacks the pairing's key)");
}

static void test_invalid(void) {
  pl_tcp_punch p;
  struct sockaddr_storage none;
  memset(&none, 0, sizeof none);
  CHECK_RV(pl_tcp_punch_init(&p, NULL, 0, START, 0, 0), PL_ERR_INVALID);
  CHECK_RV(pl_tcp_punch_init(&p, &none, 1, START, 0, 0), PL_ERR_INVALID);
  init(&p, 1);
  CHECK(p.deadline_us == START + TIMEOUT);
  struct sockaddr_storage one = pl_test_addr("127.0.0.1", 1);
  CHECK_RV(pl_tcp_punch_init(&p, &one, 1, START, 0, 0), 0); /* defaults */
  CHECK(p.deadline_us == START + PL_TCP_PUNCH_TIMEOUT_US && p.retry_us == PL_TCP_PUNCH_RETRY_US);
}

int main(void) {
  test_schedule();
  test_timed_out();
  test_refused();
  test_auth_failed();
  test_invalid();
  printf("tcp_punch_test: ok\n");
  return 0;
}
