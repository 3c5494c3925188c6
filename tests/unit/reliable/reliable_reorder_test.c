/* agent/reliable with reordering and duplication: a link whose delay varies by up to 5 times
 * the base delay, and that delivers 30% of payloads twice, still gives every message exactly
 * once and in order; hand-fed fragments in reverse and repeated are delivered once, when the
 * first one arrives. */

#include <stdio.h>
#include <string.h>

#include "agent/reliable/reliable.h"
#include "control/common/err.h"
#include "tests/unit/common/count_check.h"
#include "tests/unit/reliable/sim.h"
#include "tests/unit/reliable/traffic.h"

PL_TEST_COUNTERS;

static size_t mixed_len(uint64_t id) {
  return id % 7 == 0 ? 2500 + (size_t)(id % 1000) : (size_t)(id * 11 % 200);
}

static void test_link(double loss, uint64_t seed) {
  sim s;
  traffic t = {0};
  pl_reliable_stats sa, sb;
  sim_init(&s, NULL, seed);
  for (int i = 0; i < 2; i++) {
    s.dir[i].delay_us = 10000;
    s.dir[i].jitter_us = 50000;
    s.dir[i].dup = 0.3;
    s.dir[i].loss = loss;
  }
  t.side[0].to_send = 5000;
  t.side[0].len_of = mixed_len;
  t.side[1].to_send = 1000;
  t.side[1].len_of = mixed_len;
  traffic_start(&s, &t);
  CHECK(sim_run(&s, traffic_done, s.now + 3600ull * 1000000));
  for (int i = 0; i < 2; i++) {
    CHECK_U64(t.side[i].errors, ==, 0);
    CHECK_U64(t.side[i].failed, ==, 0);
    CHECK_U64(t.side[1 - i].delivered, ==, t.side[i].to_send);
  }
  CHECK_U64(s.dir[0].refused + s.dir[1].refused, ==, 0);
  pl_reliable_stats_get(s.side[0], &sa);
  pl_reliable_stats_get(s.side[1], &sb);
  /* The link's copies reached the receiver and were recognised as such. */
  CHECK_U64(sb.duplicates, >, 0);
  CHECK_U64(sb.frags_received, ==, sa.frags_sent);
  printf("reorder+dup (loss %.0f%%): A %llu fragments, %llu retransmits (%llu fast), srtt %llu "
         "rttvar %llu; B %llu duplicates\n",
         loss * 100, (unsigned long long)sa.frags_sent, (unsigned long long)sa.retransmits,
         (unsigned long long)sa.fast_retransmits, (unsigned long long)sa.srtt_us,
         (unsigned long long)sa.rttvar_us, (unsigned long long)sb.duplicates);
  sim_free(&s);
}

static void test_by_hand(void) {
  pl_reliable *a = NULL, *b = NULL;
  CHECK_RV(pl_reliable_new(&a, NULL), 0);
  CHECK_RV(pl_reliable_new(&b, NULL), 0);
  static uint8_t msg[5000], frags[8][1100];
  size_t lens[8];
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)(i * 13);
  uint64_t id, now = 1000;
  CHECK_RV(pl_reliable_send(a, msg, sizeof msg, now, &id), 0);
  CHECK_RV(pl_reliable_send(a, msg, 10, now, &id), 0);
  size_t n = 0, len;
  while (n < 8 && pl_reliable_poll(a, now, frags[n], sizeof frags[n], &len) == 0 && len > 0)
    lens[n++] = len;
  CHECK_U64(n, ==, 6); /* 5 for 5000 bytes, 1 for 10 */

  /* Last to first, each twice: nothing is delivered until the first fragment arrives. */
  pl_reliable_event ev;
  for (size_t i = n; i-- > 1;) {
    CHECK_RV(pl_reliable_recv(b, frags[i], lens[i], now), 0);
    CHECK_RV(pl_reliable_recv(b, frags[i], lens[i], now), 0);
    CHECK(!pl_reliable_next_event(b, &ev));
  }
  CHECK_RV(pl_reliable_recv(b, frags[0], lens[0], now), 0);
  CHECK(pl_reliable_next_event(b, &ev));
  CHECK(ev.type == PL_RELIABLE_EV_DELIVERED && ev.msg_id == 1 && ev.len == sizeof msg &&
        memcmp(ev.data, msg, sizeof msg) == 0);
  CHECK(pl_reliable_next_event(b, &ev));
  CHECK(ev.type == PL_RELIABLE_EV_DELIVERED && ev.msg_id == 2 && ev.len == 10 &&
        memcmp(ev.data, msg, 10) == 0);
  CHECK(!pl_reliable_next_event(b, &ev));
  /* Everything again, after delivery: still nothing new. */
  for (size_t i = 0; i < n; i++)
    CHECK_RV(pl_reliable_recv(b, frags[i], lens[i], now), 0);
  CHECK(!pl_reliable_next_event(b, &ev));
  pl_reliable_stats st;
  pl_reliable_stats_get(b, &st);
  CHECK_U64(st.frags_received, ==, n);
  CHECK_U64(st.duplicates, ==, (n - 1) + n); /* the repeats before delivery, all after */
  pl_reliable_del(a);
  pl_reliable_del(b);
}

int main(void) {
  test_link(0, 11);
  test_link(0.1, 12);
  test_by_hand();
  return pl_test_report("reliable_reorder_test");
}
