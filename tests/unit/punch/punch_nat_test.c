/* agent/punch through simulated NATs: which pairs go direct, which need the relay, loss, path
 * death and recovery, relay-to-direct upgrade. Synthetic time only; assertions on synthetic
 * time are about the schedule, never about the machine's speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/punch/punch.h"
#include "tests/unit/common/check.h"
#include "tests/unit/punch/sim.h"

#define S (1000000ull) /* one second of synthetic time */

static int same_addr(const struct sockaddr_storage *ss, const struct sockaddr_in *b) {
  const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
  return ss->ss_family == AF_INET && a->sin_addr.s_addr == b->sin_addr.s_addr &&
         a->sin_port == b->sin_port;
}

static void check_data_both_ways(sim *s) {
  uint64_t before[2] = {s->h[0].data_received, s->h[1].data_received};
  CHECK_RV(sim_send_data(s, 0, "hello from a", 12), 0);
  CHECK_RV(sim_send_data(s, 1, "hello from b", 12), 0);
  sim_run_until(s, s->now + 200000);
  CHECK_U64(s->h[1].data_received, ==, before[1] + 1);
  CHECK_U64(s->h[0].data_received, ==, before[0] + 1);
  CHECK(s->h[1].last_datalen == 12 && memcmp(s->h[1].last_data, "hello from a", 12) == 0);
  CHECK(s->h[0].last_datalen == 12 && memcmp(s->h[0].last_data, "hello from b", 12) == 0);
}

static void no_relay(int i, pl_punch_config *cfg, void *arg) {
  (void)i;
  (void)arg;
  cfg->has_relay = 0;
  cfg->relay_tcp = 0;
}

static void test_open_open(void) {
  sim s;
  sim_init(&s, SIM_OPEN, SIM_OPEN, 1);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 2 * S));
  CHECK(same_addr(&s.h[0].path.remote, &s.h[1].inside));
  CHECK(same_addr(&s.h[1].path.remote, &s.h[0].inside));
  /* Within a few probe rounds of the start, not after the relay timer. */
  CHECK_U64(s.h[0].path.connected_after_us, <, 500000);
  CHECK_U64(s.h[0].path.rtt_us, >=, 2 * SIM_LATENCY_US);
  check_data_both_ways(&s);
  /* Stable: no flapping over a long quiet time, keep-alives hold the path. */
  sim_run_until(&s, s.now + 60 * S);
  CHECK(s.h[0].path.kind == PL_PATH_DIRECT && s.h[1].path.kind == PL_PATH_DIRECT);
  CHECK_U64(s.h[0].path_changes, ==, 1);
  CHECK_U64(s.h[1].path_changes, ==, 1);
  CHECK_U64(s.relay_forwarded, ==, 0);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

static void test_home_home(void) {
  sim s;
  sim_init(&s, SIM_HOME, SIM_HOME, 2);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 3 * S));
  struct sockaddr_in b_out = sim_outside_addr(&s, 1, &s.relay); /* EIM: same port for all */
  struct sockaddr_in a_out = sim_outside_addr(&s, 0, &s.relay);
  CHECK(same_addr(&s.h[0].path.remote, &b_out));
  CHECK(same_addr(&s.h[1].path.remote, &a_out));
  check_data_both_ways(&s);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

static void test_full_cone_home(void) {
  sim s;
  sim_init(&s, SIM_FULL_CONE, SIM_HOME, 3);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 3 * S));
  check_data_both_ways(&s);
  sim_free(&s);
}

/* The open side only learns where the symmetric side really is from its probes
 * (peer-reflexive): the STUN-reported port belongs to the mapping toward the STUN server. */
static void test_symmetric_open(void) {
  sim s;
  sim_init(&s, SIM_SYMMETRIC, SIM_OPEN, 4);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 3 * S));
  struct sockaddr_in a_toward_b = sim_outside_addr(&s, 0, &s.h[1].inside);
  struct sockaddr_in a_srflx = sim_outside_addr(&s, 0, &s.stun);
  CHECK(a_toward_b.sin_port != a_srflx.sin_port);
  CHECK(same_addr(&s.h[1].path.remote, &a_toward_b));
  CHECK(same_addr(&s.h[0].path.remote, &s.h[1].inside));
  check_data_both_ways(&s);
  char why[1024];
  pl_punch_describe(s.h[1].p, why, sizeof why);
  CHECK(strstr(why, "peer-reflexive") != NULL);
  sim_free(&s);
}

static void test_symmetric_symmetric_relay(void) {
  sim s;
  sim_init(&s, SIM_SYMMETRIC, SIM_SYMMETRIC, 5);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_RELAY_UDP, 10 * S));
  /* Not before the relay timer (3 s default from a start at 1 s). */
  CHECK_U64(s.h[0].path.connected_after_us, >=, 3 * S);
  CHECK(same_addr(&s.h[0].path.remote, &s.relay));
  CHECK(s.relay_bound[0] && s.relay_bound[1]);
  check_data_both_ways(&s);
  CHECK_U64(s.relay_forwarded, >, 0);
  /* Direct probing goes on, slower, and never succeeds here: the path stays on the relay. */
  pl_punch_stats st0;
  pl_punch_stats_get(s.h[0].p, &st0);
  sim_run_until(&s, s.now + 30 * S);
  pl_punch_stats st1;
  pl_punch_stats_get(s.h[0].p, &st1);
  CHECK_U64(st1.probes_sent, >, st0.probes_sent + 10);
  CHECK(s.h[0].path.kind == PL_PATH_RELAY_UDP && s.h[1].path.kind == PL_PATH_RELAY_UDP);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

static void test_udp_blocked_tcp_relay(void) {
  sim s;
  sim_init(&s, SIM_HOME, SIM_OPEN, 6);
  s.h[0].udp_blocked = 1;
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  int ok = 0;
  for (uint64_t t = s.now; t < 15 * S && !ok; t += 1000) {
    sim_run_until(&s, t);
    ok = s.h[0].path.kind == PL_PATH_RELAY_TCP && s.h[1].path.kind == PL_PATH_RELAY_UDP;
  }
  CHECK(ok);
  check_data_both_ways(&s);
  char why[1024];
  pl_punch_describe(s.h[0].p, why, sizeof why);
  CHECK(strstr(why, "0 answered") != NULL);
  CHECK(strstr(why, "rendezvous stream") != NULL);
  sim_free(&s);
}

/* Neither UDP nor a relay: nothing works, and the description says what was tried. */
static void test_nothing_works(void) {
  sim s;
  sim_init(&s, SIM_SYMMETRIC, SIM_SYMMETRIC, 7);
  CHECK_RV(sim_start(&s, no_relay, NULL), 0);
  sim_run_until(&s, 20 * S);
  CHECK(s.h[0].path.kind == PL_PATH_NONE && s.h[1].path.kind == PL_PATH_NONE);
  CHECK_RV(sim_send_data(&s, 0, "x", 1), PL_ERR_STATE);
  char why[1024];
  pl_punch_describe(s.h[0].p, why, sizeof why);
  CHECK(strstr(why, "2 peer candidates") != NULL);
  CHECK(strstr(why, "no relay") != NULL);
  CHECK(strstr(why, "path none") != NULL);
  /* Still probing, at the slow end of the backoff (about one round a second). */
  pl_punch_stats st;
  pl_punch_stats_get(s.h[0].p, &st);
  CHECK_U64(st.probes_sent, >=, 2 * 15);
  CHECK_U64(st.probes_sent, <=, 2 * 40);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

static void test_loss(void) {
  for (uint32_t seed = 100; seed < 110; seed++) {
    sim s;
    sim_init(&s, SIM_HOME, SIM_HOME, seed);
    s.loss_pct = 10;
    CHECK_RV(sim_start(&s, NULL, NULL), 0);
    /* Direct before the relay timer gives up on it. */
    CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 4 * S));
    sim_run_until(&s, s.now + 30 * S);
    CHECK(s.h[0].path.kind == PL_PATH_DIRECT && s.h[1].path.kind == PL_PATH_DIRECT);
    CHECK_U64(s.deadline_bugs, ==, 0);
    sim_free(&s);
  }
}

static void test_death_and_recovery(void) {
  sim s;
  sim_init(&s, SIM_HOME, SIM_OPEN, 8);
  CHECK_RV(sim_start(&s, no_relay, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 3 * S));
  sim_run_until(&s, 10 * S);
  uint64_t cut = s.now;
  s.block_direct = 1;
  uint64_t died = 0;
  while (s.now < cut + 20 * S && !died) {
    sim_run_until(&s, s.now + 1000);
    if (s.h[0].path.kind == PL_PATH_NONE)
      died = s.now;
  }
  /* Declared dead after dead_after (8 s) without a frame, within a keep-alive interval. */
  CHECK(died != 0);
  CHECK_U64(died - cut, >=, 8 * S - 2 * S);
  CHECK_U64(died - cut, <=, 8 * S + 2 * S);
  CHECK_RV(sim_send_data(&s, 0, "x", 1), PL_ERR_STATE);
  sim_run_until(&s, s.now + 5 * S);
  CHECK(s.h[0].path.kind == PL_PATH_NONE && s.h[1].path.kind == PL_PATH_NONE);
  s.block_direct = 0;
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, s.now + 3 * S));
  check_data_both_ways(&s);
  char why[1024];
  pl_punch_describe(s.h[0].p, why, sizeof why);
  CHECK(strstr(why, "restarts 1") != NULL);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

static void test_relay_upgrade(void) {
  sim s;
  sim_init(&s, SIM_HOME, SIM_HOME, 9);
  s.block_direct = 1;
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_RELAY_UDP, 10 * S));
  check_data_both_ways(&s);
  sim_run_until(&s, s.now + 20 * S);
  CHECK(s.h[0].path.kind == PL_PATH_RELAY_UDP && s.h[1].path.kind == PL_PATH_RELAY_UDP);
  s.block_direct = 0;
  uint64_t opened = s.now;
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, s.now + 10 * S));
  /* The slow direct rounds on the relay run every 2 s: the upgrade comes within a few. */
  CHECK_U64(s.now - opened, <=, 5 * S);
  check_data_both_ways(&s);
  uint64_t fwd = s.relay_forwarded;
  sim_run_until(&s, s.now + 30 * S);
  CHECK(s.h[0].path.kind == PL_PATH_DIRECT && s.h[1].path.kind == PL_PATH_DIRECT);
  CHECK_U64(s.relay_forwarded, ==, fwd); /* nothing goes through the relay any more */

  /* The direct path dies again: back to the relay after dead_after + relay_after. */
  s.block_direct = 1;
  CHECK(sim_run_until_path(&s, PL_PATH_RELAY_UDP, s.now + 20 * S));
  check_data_both_ways(&s);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

/* Host 0's offer carried only host 1's private address: host 1's STUN answered after the
 * pairing was made (the lab's home x home race under loss). */
static void late_srflx(int i, pl_punch_config *cfg, void *arg) {
  (void)arg;
  if (i == 0)
    cfg->n_remote = 1; /* remote[0] is the peer's inside address, remote[1] its mapping */
}

static void test_candidate_learned_late(void) {
  sim s;
  sim_init(&s, SIM_HOME, SIM_HOME, 11);
  CHECK_RV(sim_start(&s, late_srflx, NULL), 0);
  /* Two port-restricted NATs: host 1's probes reach a mapping host 0 never sent to, so they
   * are dropped; only the relay works. */
  CHECK(sim_run_until_path(&s, PL_PATH_RELAY_UDP, 10 * S));
  sim_run_until(&s, s.now + 20 * S);
  CHECK(s.h[0].path.kind == PL_PATH_RELAY_UDP);
  struct sockaddr_in b_out = sim_outside_addr(&s, 1, &s.relay);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  memcpy(&ss, &b_out, sizeof b_out);
  CHECK_RV(pl_punch_add_remote(s.h[0].p, &ss, s.now), 1);
  CHECK_RV(pl_punch_add_remote(s.h[0].p, &ss, s.now), 0); /* known now */
  uint64_t learned = s.now;
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, s.now + 10 * S));
  CHECK_U64(s.now - learned, <=, 2 * S); /* probed at once, not at the next slow round */
  CHECK(same_addr(&s.h[0].path.remote, &b_out));
  check_data_both_ways(&s);
  struct sockaddr_storage bad;
  memset(&bad, 0, sizeof bad);
  bad.ss_family = AF_UNIX;
  CHECK_RV(pl_punch_add_remote(s.h[0].p, &bad, s.now), PL_ERR_INVALID);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

/* No peer ID configured: it is learned from the first frame. Without it there are no
 * end-to-end keys (the ID vouches for the key), so that side cannot send or open DATA. */
static void unknown_peer(int i, pl_punch_config *cfg, void *arg) {
  (void)arg;
  if (i == 1) {
    memset(cfg->peer_id, 0, sizeof cfg->peer_id);
    CHECK_RV(pl_punch_new(&(pl_punch *){NULL}, cfg), PL_ERR_INVALID); /* keys need the ID */
    cfg->self_key_der = cfg->peer_key_der = NULL;
  }
  cfg->has_relay = 0;
  cfg->relay_tcp = 0;
}

static void test_learns_peer_id(void) {
  sim s;
  sim_init(&s, SIM_OPEN, SIM_HOME, 10);
  CHECK_RV(sim_start(&s, unknown_peer, NULL), 0);
  uint8_t id[PL_FRAME_ID_LEN];
  CHECK_RV(pl_punch_peer_id(s.h[1].p, id), PL_ERR_NOT_FOUND);
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 3 * S));
  CHECK_RV(pl_punch_peer_id(s.h[1].p, id), 0);
  CHECK(memcmp(id, s.id[0], sizeof id) == 0);
  CHECK_RV(sim_send_data(&s, 1, "x", 1), PL_ERR_STATE);
  pl_punch_stats st;
  CHECK_RV(sim_send_data(&s, 0, "x", 1), 0);
  sim_run_until(&s, s.now + S);
  pl_punch_stats_get(s.h[1].p, &st);
  CHECK_U64(s.h[1].data_received, ==, 0);
  CHECK_U64(st.dropped_data, ==, 1);
  sim_free(&s);
}

static void late_start(int i, pl_punch_config *cfg, void *arg) {
  (void)arg;
  if (i == 1)
    cfg->start_us += 2 * S;
}

/* The offer reached one side much later: the early side's probes get answered (and trigger
 * probes back) before the late side's own start, and that path is kept when it starts. */
static void test_skewed_start(void) {
  sim s;
  sim_init(&s, SIM_HOME, SIM_OPEN, 12);
  CHECK_RV(sim_start(&s, late_start, NULL), 0);
  sim_run_until(&s, 1 * S + 500000);
  CHECK(s.h[0].path.kind == PL_PATH_DIRECT);
  CHECK(s.h[1].path.kind == PL_PATH_DIRECT);
  sim_run_until(&s, 10 * S);
  CHECK(s.h[0].path.kind == PL_PATH_DIRECT && s.h[1].path.kind == PL_PATH_DIRECT);
  CHECK_U64(s.h[0].path_changes, ==, 1);
  CHECK_U64(s.h[1].path_changes, ==, 1);
  check_data_both_ways(&s);
  CHECK_U64(s.deadline_bugs, ==, 0);
  sim_free(&s);
}

static void test_close(void) {
  sim s;
  sim_init(&s, SIM_OPEN, SIM_OPEN, 11);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 2 * S));
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  CHECK_RV(pl_punch_close(s.h[0].p, s.now, buf, sizeof buf, &len, &dst, &via_tcp), 0);
  CHECK(same_addr(&dst, &s.h[1].inside) && !via_tcp);
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, buf, len), 0);
  sim_run_until(&s, s.now + 10 * S);
  for (int i = 0; i < 2; i++) {
    CHECK(s.h[i].path.kind == PL_PATH_NONE && s.h[i].path.closed);
    CHECK(pl_punch_deadline(s.h[i].p) == UINT64_MAX);
  }
  CHECK_RV(pl_punch_close(s.h[0].p, s.now, buf, sizeof buf, &len, &dst, &via_tcp), PL_ERR_STATE);
  sim_free(&s);
}

int main(void) {
  test_open_open();
  test_home_home();
  test_full_cone_home();
  test_symmetric_open();
  test_symmetric_symmetric_relay();
  test_udp_blocked_tcp_relay();
  test_nothing_works();
  test_loss();
  test_death_and_recovery();
  test_relay_upgrade();
  test_candidate_learned_late();
  test_learns_peer_id();
  test_skewed_start();
  test_close();
  printf("punch_nat_test: ok\n");
  return 0;
}
