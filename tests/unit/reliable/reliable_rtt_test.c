/* agent/reliable's RTT estimate and RTO (RFC 6298): the first sample sets SRTT = R and
 * RTTVAR = R/2, later ones smooth with 1/8 and 1/4, RTO = SRTT + max(G, 4 RTTVAR) within
 * [rto_min, rto_max]; the receiver's ACK delay is taken out; a timed-out fragment's RTO doubles
 * on each expiry up to rto_max. Synthetic time: these are exact. */

#include <stdio.h>

#include "agent/reliable/reliable.h"
#include "control/common/err.h"
#include "tests/unit/common/count_check.h"
#include "tests/unit/reliable/sim.h"
#include "tests/unit/reliable/traffic.h"

PL_TEST_COUNTERS;

static size_t small_len(uint64_t id) {
  return (size_t)(id % 50);
}

static int a_acked(sim *s, void *user) {
  (void)s;
  const traffic *t = user;
  return t->side[0].acked == t->side[0].to_send;
}

/* One more message, and wait for its ACK. */
static void one_round(sim *s, traffic *t) {
  t->side[0].to_send++;
  traffic_pump(s, t, 0);
  CHECK(sim_run(s, a_acked, s->now + 10000000));
}

static void test_samples(void) {
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.rto_min_us = 1000; /* so that the RTO shows the formula, not the floor */
  cfg.ack_delay_us = 999;
  sim s;
  traffic t = {0};
  pl_reliable_stats st;
  sim_init(&s, &cfg, 1);
  /* 10 ms each way; a single in-order fragment waits ack_delay for a second one. */
  t.side[0].to_send = 1;
  t.side[0].len_of = small_len;
  traffic_start(&s, &t);
  CHECK(sim_run(&s, a_acked, s.now + 10000000));
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.srtt_us, ==, 20000); /* 20,999 us measured, less the 999 us the ACK waited */
  CHECK_U64(st.rttvar_us, ==, 10000);
  CHECK_U64(st.rto_us, ==, 20000 + 4 * 10000);

  /* A second sample at 20 ms: RTTVAR = 3/4 * 10000, SRTT unchanged. */
  t.side[0].to_send = 2;
  traffic_pump(&s, &t, 0);
  CHECK(sim_run(&s, a_acked, s.now + 10000000));
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.srtt_us, ==, 20000);
  CHECK_U64(st.rttvar_us, ==, 7500);
  CHECK_U64(st.rto_us, ==, 20000 + 4 * 7500);

  /* One sample per round trip (one message at a time): RTTVAR decays, and the RTO bottoms
   * out at SRTT + G (1 ms). */
  for (int i = 0; i < 40; i++)
    one_round(&s, &t);
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.srtt_us, ==, 20000);
  CHECK_U64(st.rto_us, ==, 21000);

  /* A longer path (40 ms each way). The 21 ms RTO is too short now: the first message times
   * out twice (RTO 21, then 42 ms) and its ACK, answering a retransmitted fragment, gives no
   * sample (Karn); the doubled RTO (84 ms) is kept for the next message, which is not
   * retransmitted and gives the first sample: SRTT moves 1/8 of the way to 80 ms. */
  s.dir[0].delay_us = s.dir[1].delay_us = 40000;
  uint64_t timeouts = st.timeouts;
  one_round(&s, &t);
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.srtt_us, ==, 20000);
  CHECK_U64(st.timeouts - timeouts, ==, 2);
  CHECK_U64(st.rto_us, ==, 84000);
  one_round(&s, &t);
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.srtt_us, ==, 20000 + 60000 / 8);
  CHECK_U64(st.timeouts - timeouts, ==, 2);
  for (int i = 0; i < 40; i++)
    one_round(&s, &t);
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.srtt_us, >=, 79000);
  CHECK_U64(st.srtt_us, <=, 80000);
  sim_free(&s);

  /* The defaults' floor: 200 ms. */
  sim_init(&s, NULL, 2);
  traffic t2 = {0};
  t2.side[0].to_send = 50;
  t2.side[0].len_of = small_len;
  traffic_start(&s, &t2);
  CHECK(sim_run(&s, a_acked, s.now + 10000000));
  pl_reliable_stats_get(s.side[0], &st);
  /* A burst queues on the link (10 us a payload), so a little above 20 ms. */
  CHECK_U64(st.srtt_us, >=, 20000);
  CHECK_U64(st.srtt_us, <=, 21000);
  CHECK_U64(st.rto_us, ==, 200000);
  sim_free(&s);
}

typedef struct times {
  uint64_t at[32];
  size_t n;
} times;

static int record(sim *s, int from, const uint8_t *data, size_t len, void *user) {
  times *t = user;
  (void)data, (void)len;
  if (from == 0 && t->n < 32)
    t->at[t->n++] = s->now;
  return 1; /* the peer is gone: drop everything */
}

static void test_backoff(void) {
  sim s;
  traffic t = {0};
  times tx = {0};
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.give_up_us = 9000000;
  sim_init(&s, &cfg, 3);
  /* An RTT first (the RTO falls to its 200 ms floor), then the peer vanishes. */
  t.side[0].to_send = 10;
  t.side[0].len_of = small_len;
  traffic_start(&s, &t);
  CHECK(sim_run(&s, a_acked, s.now + 10000000));
  s.hook = record;
  s.hook_user = &tx;
  t.side[0].to_send = 11;
  traffic_pump(&s, &t, 0);
  while (sim_step(&s))
    ;
  /* Sent at 0, then after 0.2, 0.4, 0.8, 1.6 s, then every 2 s (rto_max), until give_up
   * (9 s) fails it: transmissions at 0, 0.2, 0.6, 1.4, 3.0, 5.0, 7.0. */
  static const uint64_t want[] = {0, 200000, 600000, 1400000, 3000000, 5000000, 7000000};
  CHECK_U64(tx.n, ==, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < tx.n && i < sizeof want / sizeof want[0]; i++)
    CHECK_U64(tx.at[i] - tx.at[0], ==, want[i]);
  CHECK_U64(t.side[0].failed, ==, 1);
  CHECK_U64(t.side[0].first_failed_at - tx.at[0], ==, 9000000);
  CHECK(t.side[0].last_reason == PL_RELIABLE_FAIL_TIMEOUT);
  sim_free(&s);
}

int main(void) {
  test_samples();
  test_backoff();
  return pl_test_report("reliable_rtt_test");
}
