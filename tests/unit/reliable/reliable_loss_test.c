/* agent/reliable under loss: 10,000 messages (and 2,000 the other way) through a link whose
 * loss hook drops 20% of all payloads, data and ACKs alike (seeded), arrive exactly once and in
 * order and are all acknowledged; so do messages across an outage shorter than give_up. */

#include <stdio.h>

#include "agent/reliable/reliable.h"
#include "control/common/err.h"
#include "tests/unit/common/count_check.h"
#include "tests/unit/reliable/sim.h"
#include "tests/unit/reliable/traffic.h"

PL_TEST_COUNTERS;

/* Mostly small; every tenth message takes 2 to 5 fragments. */
static size_t mixed_len(uint64_t id) {
  return id % 10 == 0 ? 1000 + (size_t)(id * 37 % 4000) : (size_t)(id * 13 % 300);
}

typedef struct loss {
  double rate;
  uint64_t outage_from, outage_to; /* everything dropped in [from, to) */
  uint64_t seen, dropped;
} loss;

static int loss_hook(sim *s, int from, const uint8_t *data, size_t len, void *user) {
  loss *l = user;
  (void)from, (void)data, (void)len;
  l->seen++;
  int drop = sim_rand01(s) < l->rate || (s->now >= l->outage_from && s->now < l->outage_to);
  l->dropped += (uint64_t)drop;
  return drop;
}

static void run(const char *name, loss *l, uint64_t n_ab, uint64_t n_ba, uint64_t seed) {
  sim s;
  traffic t = {0};
  pl_reliable_stats sa, sb;
  sim_init(&s, NULL, seed);
  s.hook = loss_hook;
  s.hook_user = l;
  t.side[0].to_send = n_ab;
  t.side[0].len_of = mixed_len;
  t.side[1].to_send = n_ba;
  t.side[1].len_of = mixed_len;
  traffic_start(&s, &t);
  /* A generous synthetic bound: the run ends long before unless something is stuck. */
  CHECK(sim_run(&s, traffic_done, s.now + 3600ull * 1000000));

  pl_reliable_stats_get(s.side[0], &sa);
  pl_reliable_stats_get(s.side[1], &sb);
  printf("%s: %llu payloads, %llu dropped; A sent %llu fragments, %llu retransmits (%llu fast), "
         "B saw %llu duplicates; srtt %llu us rttvar %llu rto %llu; %.1f s simulated\n",
         name, (unsigned long long)l->seen, (unsigned long long)l->dropped,
         (unsigned long long)sa.frags_sent, (unsigned long long)sa.retransmits,
         (unsigned long long)sa.fast_retransmits, (unsigned long long)sb.duplicates,
         (unsigned long long)sa.srtt_us, (unsigned long long)sa.rttvar_us,
         (unsigned long long)sa.rto_us, (double)(s.now - 1000000) / 1e6);
  for (int i = 0; i < 2; i++) {
    CHECK_U64(t.side[i].errors, ==, 0);
    CHECK_U64(t.side[i].failed, ==, 0);
    CHECK_U64(t.side[i].acked, ==, t.side[i].to_send);
    CHECK_U64(t.side[1 - i].delivered, ==, t.side[i].to_send);
  }
  CHECK_U64(sa.dropped_parse + sb.dropped_parse, ==, 0);
  CHECK_U64(s.dir[0].refused + s.dir[1].refused, ==, 0);
  CHECK_U64(sa.retransmits, >, 0);
  /* Nothing left behind: idle, and no deadline. */
  CHECK_U64(pl_reliable_deadline(s.side[0]), ==, UINT64_MAX);
  CHECK_U64(pl_reliable_deadline(s.side[1]), ==, UINT64_MAX);
  CHECK_U64(sa.in_flight, ==, 0);
  sim_free(&s);
}

int main(void) {
  loss twenty = {.rate = 0.20};
  run("20% loss", &twenty, 10000, 2000, 42);
  /* The hook really dropped about a fifth of everything, ACKs included. */
  CHECK_U64(twenty.dropped * 100, >=, twenty.seen * 18);
  CHECK_U64(twenty.dropped * 100, <=, twenty.seen * 22);

  /* 5 s of total silence from the 1.5 s mark, with 5% loss around it: backoff, then recovery. */
  loss outage = {.rate = 0.05, .outage_from = 1500000, .outage_to = 6500000};
  run("outage", &outage, 3000, 300, 7);
  return pl_test_report("reliable_loss_test");
}
