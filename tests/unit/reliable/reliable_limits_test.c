/* agent/reliable's bounds: the send window (never more than `window` fragments in flight), the
 * send queue and buffer (PL_ERR_FULL, nothing queued), the receiver's undrained limits
 * (PL_ERR_FULL, then recovery once drained), poll's capacity, and configurations refused. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/reliable/reliable.h"
#include "control/common/err.h"
#include "tests/unit/common/count_check.h"

PL_TEST_COUNTERS;

static uint8_t buf[2000];

/* Payloads a channel makes at `now` without anything coming back. */
static size_t drain_polls(pl_reliable *r, uint64_t now) {
  size_t n = 0, len;
  while (pl_reliable_poll(r, now, buf, sizeof buf, &len) == 0 && len > 0)
    n++;
  return n;
}

static void test_window(void) {
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.window = 8;
  pl_reliable *r = NULL;
  CHECK_RV(pl_reliable_new(&r, &cfg), 0);
  uint64_t id;
  for (int i = 0; i < 20; i++)
    CHECK_RV(pl_reliable_send(r, buf, 100, 1000, &id), 0);
  CHECK_U64(drain_polls(r, 1000), ==, 8);
  pl_reliable_stats st;
  pl_reliable_stats_get(r, &st);
  CHECK_U64(st.in_flight, ==, 8);
  /* Nothing new while nothing is acknowledged; only the oldest is retransmitted at its
   * timeout (1 s before any RTT sample). */
  CHECK_U64(pl_reliable_deadline(r), ==, 1000 + cfg.rto_initial_us);
  CHECK_U64(drain_polls(r, 1000 + cfg.rto_initial_us - 1), ==, 0);
  CHECK_U64(drain_polls(r, 1000 + cfg.rto_initial_us), ==, 1);
  pl_reliable_stats_get(r, &st);
  CHECK_U64(st.in_flight, ==, 8);
  CHECK_U64(st.frags_sent, ==, 8);
  CHECK_U64(st.retransmits, ==, 1);
  pl_reliable_del(r);
}

static void test_send_limits(void) {
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.send_queue = 4;
  pl_reliable *r = NULL;
  uint64_t id = 0;
  CHECK_RV(pl_reliable_new(&r, &cfg), 0);
  for (int i = 0; i < 4; i++)
    CHECK_RV(pl_reliable_send(r, buf, 10, 0, &id), 0);
  CHECK_RV(pl_reliable_send(r, buf, 10, 0, &id), PL_ERR_FULL);
  CHECK_U64(id, ==, 4);
  pl_reliable_del(r);

  /* Bytes: a buffer of exactly one maximum message. */
  pl_reliable_config_default(&cfg);
  cfg.max_message = 10000;
  cfg.send_buffer = 10000;
  CHECK_RV(pl_reliable_new(&r, &cfg), 0);
  uint8_t *big = calloc(1, 10000);
  CHECK_RV(pl_reliable_send(r, big, 6000, 0, &id), 0);
  CHECK_RV(pl_reliable_send(r, big, 5000, 0, &id), PL_ERR_FULL);
  CHECK_RV(pl_reliable_send(r, big, 4000, 0, &id), 0);
  CHECK_RV(pl_reliable_send(r, big, 1, 0, &id), PL_ERR_FULL);
  CHECK_U64(id, ==, 2);
  CHECK_RV(pl_reliable_send(r, big, 10001, 0, &id), PL_ERR_TOO_BIG);
  CHECK_RV(pl_reliable_send(r, NULL, 1, 0, &id), PL_ERR_INVALID);
  /* The empty message is a message. */
  pl_reliable_del(r);
  CHECK_RV(pl_reliable_new(&r, &cfg), 0);
  CHECK_RV(pl_reliable_send(r, NULL, 0, 0, &id), 0);
  free(big);
  pl_reliable_del(r);
}

/* A receiver whose events are not drained refuses new fragments with PL_ERR_FULL (they count
 * as lost, so nothing is acknowledged) and takes them once drained. */
static void test_recv_limits(void) {
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.recv_queue = 2;
  pl_reliable *a = NULL, *b = NULL;
  CHECK_RV(pl_reliable_new(&a, NULL), 0);
  CHECK_RV(pl_reliable_new(&b, &cfg), 0);
  uint8_t frags[3][1100];
  size_t lens[3];
  uint64_t id;
  for (int i = 0; i < 3; i++) {
    CHECK_RV(pl_reliable_send(a, (const uint8_t *)"msg", 3, 0, &id), 0);
    CHECK_RV(pl_reliable_poll(a, 0, frags[i], sizeof frags[i], &lens[i]), 0);
  }
  CHECK_RV(pl_reliable_recv(b, frags[0], lens[0], 0), 0);
  CHECK_RV(pl_reliable_recv(b, frags[1], lens[1], 0), 0);
  CHECK_RV(pl_reliable_recv(b, frags[2], lens[2], 0), PL_ERR_FULL);
  pl_reliable_event ev;
  int delivered = 0;
  while (pl_reliable_next_event(b, &ev))
    delivered += ev.type == PL_RELIABLE_EV_DELIVERED;
  CHECK(delivered == 2);
  CHECK_RV(pl_reliable_recv(b, frags[2], lens[2], 0), 0);
  CHECK(pl_reliable_next_event(b, &ev) && ev.msg_id == 3);
  pl_reliable_stats st;
  pl_reliable_stats_get(b, &st);
  CHECK_U64(st.dropped_full, ==, 1);
  CHECK_U64(st.frags_received, ==, 3);
  pl_reliable_del(a);
  pl_reliable_del(b);
}

static void test_poll_cap(void) {
  pl_reliable *r = NULL;
  size_t len = 5;
  CHECK_RV(pl_reliable_new(&r, NULL), 0);
  CHECK_RV(pl_reliable_poll(r, 0, buf, 1099, &len), PL_ERR_TOO_BIG);
  CHECK_RV(pl_reliable_poll(r, 0, buf, 1100, &len), 0);
  CHECK_U64(len, ==, 0);
  CHECK_U64(pl_reliable_deadline(r), ==, UINT64_MAX); /* idle */
  pl_reliable_del(r);
}

/* Each case changes one field of the defaults. */
#define CONFIG_CASE(expr, want)                                                                    \
  do {                                                                                             \
    pl_reliable_config c_;                                                                         \
    pl_reliable *r_ = NULL;                                                                        \
    pl_reliable_config_default(&c_);                                                               \
    c_.expr;                                                                                       \
    int rv_ = pl_reliable_new(&r_, &c_);                                                           \
    CHECK_RV(rv_, want);                                                                           \
    if (rv_ != (want))                                                                             \
      fprintf(stderr, "  config: %s\n", #expr);                                                    \
    pl_reliable_del(r_);                                                                           \
  } while (0)

static void test_configs(void) {
  CONFIG_CASE(max_payload = 63, PL_ERR_INVALID);
  CONFIG_CASE(max_payload = 65536, PL_ERR_INVALID);
  CONFIG_CASE(window = 0, PL_ERR_INVALID);
  CONFIG_CASE(window = 16385, PL_ERR_INVALID);
  CONFIG_CASE(send_buffer = c_.max_message - 1, PL_ERR_INVALID);
  CONFIG_CASE(recv_buffer = c_.max_message - 1, PL_ERR_INVALID);
  CONFIG_CASE(rto_min_us = c_.rto_initial_us + 1, PL_ERR_INVALID);
  CONFIG_CASE(rto_max_us = c_.rto_initial_us - 1, PL_ERR_INVALID);
  CONFIG_CASE(ack_delay_us = c_.rto_min_us, PL_ERR_INVALID);
  CONFIG_CASE(give_up_us = 0, PL_ERR_INVALID);
  CONFIG_CASE(max_retransmits = 0, PL_ERR_INVALID);
  CONFIG_CASE(send_queue = 0, PL_ERR_INVALID);
  CONFIG_CASE(recv_queue = 0, PL_ERR_INVALID);
  CONFIG_CASE(window = 16384, 0);
  CONFIG_CASE(max_payload = 64, 0);
  CHECK_RV(pl_reliable_new(NULL, NULL), PL_ERR_INVALID);
  pl_reliable_del(NULL);
}

int main(void) {
  test_window();
  test_send_limits();
  test_recv_limits();
  test_poll_cap();
  test_configs();
  return pl_test_report("reliable_limits_test");
}
