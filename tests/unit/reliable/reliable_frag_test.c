/* agent/reliable fragmentation: messages from 0 bytes to the 1 MiB limit, on and around
 * fragment boundaries, are cut into the expected number of fragments and put back together
 * byte for byte, also under loss; larger messages are refused (PL_ERR_TOO_BIG) at the sender,
 * and a receiver with a smaller limit refuses them (PL_ERR_PARSE). */

#include <stdio.h>
#include <stdlib.h>

#include "agent/reliable/reliable.h"
#include "control/common/err.h"
#include "tests/unit/common/count_check.h"
#include "tests/unit/reliable/sim.h"
#include "tests/unit/reliable/traffic.h"

PL_TEST_COUNTERS;

#define CAP (1100 - PL_RELIABLE_FRAG_HEADER) /* data per fragment with the defaults */
#define MIB (1024 * 1024)

static const size_t sizes[] = {0,       1,           CAP - 1, CAP,     CAP + 1,
                               2 * CAP, 2 * CAP + 1, 100000,  MIB - 1, MIB};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static size_t boundary_len(uint64_t id) {
  return sizes[(id - 1) % N_SIZES];
}

static uint64_t fragments_for(size_t len) {
  return len == 0 ? 1 : (len + CAP - 1) / CAP;
}

static void test_sizes(double loss, uint64_t seed) {
  sim s;
  traffic t = {0};
  pl_reliable_stats st;
  sim_init(&s, NULL, seed);
  s.dir[0].loss = s.dir[1].loss = loss;
  t.side[0].to_send = 2 * N_SIZES;
  t.side[0].len_of = boundary_len;
  traffic_start(&s, &t);
  CHECK(sim_run(&s, traffic_done, s.now + 3600ull * 1000000));
  CHECK_U64(t.side[0].errors + t.side[1].errors, ==, 0);
  CHECK_U64(s.dir[0].refused + s.dir[1].refused, ==, 0);
  CHECK_U64(t.side[1].delivered, ==, 2 * N_SIZES);
  CHECK_U64(t.side[0].acked, ==, 2 * N_SIZES);
  uint64_t frags = 0, bytes = 0;
  for (uint64_t id = 1; id <= 2 * N_SIZES; id++) {
    frags += fragments_for(boundary_len(id));
    bytes += boundary_len(id);
  }
  CHECK_U64(t.side[1].delivered_bytes, ==, bytes);
  pl_reliable_stats_get(s.side[0], &st);
  CHECK_U64(st.frags_sent, ==, frags);
  if (loss == 0)
    CHECK_U64(st.retransmits, ==, 0);
  sim_free(&s);
}

static void test_limits(void) {
  pl_reliable *r = NULL;
  uint8_t *big = calloc(1, MIB + 1);
  uint64_t id = 0;
  CHECK_RV(pl_reliable_new(&r, NULL), 0);
  CHECK_RV(pl_reliable_send(r, big, MIB + 1, 0, &id), PL_ERR_TOO_BIG);
  CHECK_RV(pl_reliable_send(r, big, MIB, 0, &id), 0);
  CHECK_U64(id, ==, 1);
  pl_reliable_del(r);

  /* A configured limit. */
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.max_message = 5000;
  CHECK_RV(pl_reliable_new(&r, &cfg), 0);
  CHECK_RV(pl_reliable_send(r, big, 5001, 0, &id), PL_ERR_TOO_BIG);
  CHECK_RV(pl_reliable_send(r, big, 5000, 0, &id), 0);
  /* A refused message takes no ID. */
  CHECK_U64(id, ==, 1);
  pl_reliable_del(r);
  free(big);
}

static size_t len_6000(uint64_t id) {
  (void)id;
  return 6000;
}

/* The sender allows 1 MiB, the receiver 5000 bytes: the receiver refuses every fragment of
 * the big message (not acknowledged), so the sender's message fails instead of arriving. */
static void test_receiver_limit(void) {
  pl_reliable_config small;
  pl_reliable_config_default(&small);
  small.max_message = 5000;
  sim s;
  traffic t = {0};
  sim_init(&s, NULL, 3);
  pl_reliable_del(s.side[1]);
  CHECK_RV(pl_reliable_new(&s.side[1], &small), 0);
  t.side[0].to_send = 1;
  t.side[0].len_of = len_6000;
  traffic_start(&s, &t);
  while (sim_step(&s))
    ;
  pl_reliable_stats st;
  pl_reliable_stats_get(s.side[1], &st);
  CHECK_U64(st.dropped_parse, >, 0);
  CHECK_U64(st.frags_received, ==, 0);
  CHECK_U64(t.side[1].delivered, ==, 0);
  CHECK_U64(t.side[0].failed, ==, 1);
  CHECK_U64(t.side[0].errors + t.side[1].errors, ==, 0);
  uint64_t id;
  CHECK_RV(pl_reliable_send(s.side[0], (const uint8_t *)"x", 1, s.now, &id), PL_ERR_CLOSED);
  sim_free(&s);
}

int main(void) {
  test_sizes(0, 1);
  test_sizes(0.1, 2);
  test_limits();
  test_receiver_limit();
  return pl_test_report("reliable_frag_test");
}
