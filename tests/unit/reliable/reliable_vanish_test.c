/* agent/reliable when the peer vanishes: every message not yet acknowledged ends FAILED (none
 * is left hanging, none is reported twice), within give_up of the oldest unacknowledged
 * transmission, and everything ACKED really was delivered; the retry limit fails the channel
 * on its own when it comes first; pl_reliable_close fails what is pending at once. */

#include <stdio.h>
#include <string.h>

#include "agent/reliable/reliable.h"
#include "control/common/err.h"
#include "tests/unit/common/count_check.h"
#include "tests/unit/reliable/sim.h"
#include "tests/unit/reliable/traffic.h"

PL_TEST_COUNTERS;

static size_t mixed_len(uint64_t id) {
  return id % 5 == 0 ? 3000 : (size_t)(id * 17 % 400);
}

/* A's messages have all ended, and A has queued all it will: all of them, or up to the
 * failure (a dead channel takes no more). */
static int a_settled(sim *s, void *user) {
  (void)s;
  const traffic *t = user;
  return traffic_settled(t, 0) && (t->side[0].queued == t->side[0].to_send || t->side[0].failed);
}

/* A sim (cfg NULL: defaults) in which A sends n messages. */
static void start_a(sim *s, traffic *t, const pl_reliable_config *cfg, uint64_t seed, uint64_t n) {
  sim_init(s, cfg, seed);
  memset(t, 0, sizeof *t);
  t->side[0].to_send = n;
  t->side[0].len_of = mixed_len;
  traffic_start(s, t);
}

/* Runs for cut_after, then drops everything both ways; returns the cut time. */
static uint64_t run_and_vanish(sim *s, uint64_t cut_after) {
  uint64_t cut_at = s->now + cut_after;
  while (s->now < cut_at && sim_step(s))
    ;
  s->dir[0].cut = s->dir[1].cut = 1;
  return s->now;
}

static void check_consistent(const traffic *t) {
  CHECK_U64(t->side[0].errors + t->side[1].errors, ==, 0);
  /* ACKED means delivered: the peer has at least every message we count as acknowledged. */
  CHECK_U64(t->side[1].delivered, >=, t->side[0].acked);
  CHECK_U64(t->side[0].acked + t->side[0].failed, ==, t->side[0].queued);
}

static void test_give_up(void) {
  sim s;
  traffic t;
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  start_a(&s, &t, &cfg, 5, 3000);
  uint64_t cut = run_and_vanish(&s, 300000);
  CHECK(t.side[0].acked > 0);
  CHECK(t.side[0].acked < t.side[0].queued);
  CHECK(sim_run(&s, a_settled, cut + 10 * cfg.give_up_us));
  check_consistent(&t);
  CHECK_U64(t.side[0].failed, >, 0);
  CHECK(t.side[0].last_reason == PL_RELIABLE_FAIL_TIMEOUT);
  /* All at once, give_up after the oldest unacknowledged transmission (which was at or before
   * the cut). */
  CHECK_U64(t.side[0].first_failed_at, ==, t.side[0].last_failed_at);
  CHECK_U64(t.side[0].first_failed_at, <=, cut + cfg.give_up_us);
  CHECK_U64(t.side[0].first_failed_at, >=, cut);
  printf("give_up: cut at %.3f s, %llu acked, %llu failed at %.3f s\n", cut / 1e6,
         (unsigned long long)t.side[0].acked, (unsigned long long)t.side[0].failed,
         t.side[0].first_failed_at / 1e6);

  /* Dead: nothing more is sent, taken or scheduled. */
  uint64_t id;
  uint8_t buf[2000];
  size_t len = 1;
  CHECK_RV(pl_reliable_send(s.side[0], buf, 10, s.now, &id), PL_ERR_CLOSED);
  CHECK_RV(pl_reliable_recv(s.side[0], buf, 30, s.now), PL_ERR_CLOSED);
  CHECK_RV(pl_reliable_poll(s.side[0], s.now, buf, sizeof buf, &len), 0);
  CHECK_U64(len, ==, 0);
  CHECK_U64(pl_reliable_deadline(s.side[0]), ==, UINT64_MAX);
  /* Messages that were never queued (the channel refused them once dead) are not counted. */
  CHECK_U64(t.side[0].queued, <=, t.side[0].to_send);
  sim_free(&s);
}

/* With a small retry limit and a long give-up time, the retry limit decides: the oldest
 * fragment's timer expires max_retransmits times (1, 2, 4 ... times the RTO), then the
 * channel fails. */
static void test_retries(void) {
  sim s;
  traffic t;
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.max_retransmits = 4;
  cfg.give_up_us = 600000000;
  cfg.rto_max_us = 60000000;
  start_a(&s, &t, &cfg, 6, 5000);
  uint64_t cut = run_and_vanish(&s, 300000);
  CHECK(sim_run(&s, a_settled, cut + 600000000));
  check_consistent(&t);
  CHECK_U64(t.side[0].failed, >, 0);
  CHECK(t.side[0].last_reason == PL_RELIABLE_FAIL_RETRIES);
  /* RTO 200 ms (the minimum, with a 20 ms RTT), timer restarted by the last ACK (at most a
   * round trip after the cut): timeouts after 0.2, 0.4, 0.8, 1.6 s, then the fifth expiry
   * (3.2 s later) gives up, 6.2 s after that ACK. */
  CHECK_U64(t.side[0].first_failed_at, <=, cut + 6200000 + 30000);
  CHECK_U64(t.side[0].first_failed_at, >=, cut + 6200000);
  pl_reliable_stats st;
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.rto_us, ==, cfg.rto_min_us << 4);
  CHECK_U64(st.timeouts, ==, 4);
  printf("retries: failed %.3f s after the cut, %llu timeouts\n",
         (t.side[0].first_failed_at - cut) / 1e6, (unsigned long long)st.timeouts);
  sim_free(&s);
}

/* Only B → A is cut: A's messages still arrive, but B's ACKs do not reach A, so A fails them
 * all although B delivered some (a FAILED message may have arrived; an ACKED one always
 * has). */
static void test_one_way(void) {
  sim s;
  traffic t;
  start_a(&s, &t, NULL, 8, 200);
  s.dir[1].cut = 1;
  CHECK(sim_run(&s, a_settled, s.now + 60000000));
  check_consistent(&t);
  CHECK_U64(t.side[0].acked, ==, 0);
  CHECK_U64(t.side[0].failed, ==, t.side[0].queued);
  CHECK_U64(t.side[1].delivered, >, 0);
  sim_free(&s);
}

static void test_close(void) {
  sim s;
  traffic t;
  start_a(&s, &t, NULL, 9, 3000);
  uint64_t until = s.now + 100000;
  while (s.now < until)
    sim_step(&s);
  uint64_t queued = t.side[0].queued;
  CHECK(queued > t.side[0].acked);
  pl_reliable_close(s.side[0]);
  pl_reliable_close(s.side[0]); /* again: nothing more */
  sim_step(&s);                 /* drains the events (ACKED ones from before the close too) */
  CHECK_U64(t.side[0].queued, ==, queued);
  CHECK_U64(t.side[0].failed, >, 0);
  CHECK(t.side[0].last_reason == PL_RELIABLE_FAIL_CLOSED);
  CHECK_U64(t.side[0].first_failed_at, ==, t.side[0].last_failed_at);
  check_consistent(&t);
  CHECK_U64(pl_reliable_deadline(s.side[0]), ==, UINT64_MAX);

  /* Deleting a channel with undrained events and queued messages frees everything (ASan). */
  uint64_t id;
  CHECK_RV(pl_reliable_send(s.side[1], (const uint8_t *)"bye", 3, s.now, &id), 0);
  pl_reliable_close(s.side[1]);
  sim_free(&s);
}

int main(void) {
  test_give_up();
  test_retries();
  test_one_way();
  test_close();
  return pl_test_report("reliable_vanish_test");
}
