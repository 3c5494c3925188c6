/* agent/quic: loss. With 10% random loss both ways (seeded) the handshake completes and 4 MiB
 * up plus 1 MiB down arrive intact; with 30% loss a smaller transfer still completes; an outage
 * of several seconds in the middle of a transfer (what a path switch looks like from QUIC's
 * side when the old path dies first) is survived, and the transfer completes afterwards. */
#include "tests/unit/quic/harness.h"

static h_stream *g_up;

static void check_intact(h_pair *p, h_stream *up, uint64_t bytes) {
  h_stream *down = h_find(&p->s, up->sid);
  CHECK(down != NULL);
  CHECK_U64(down->received, ==, bytes);
  CHECK(!down->bad && down->fin);
  CHECK_RV(down->close_err, 0);
  CHECK_RV(up->close_err, 0);
  CHECK_U64(up->acked, ==, bytes);
}

static void lossy(double loss, uint64_t up_bytes, uint64_t down_bytes) {
  h_pair p;
  h_pair_init(&p, 1, 0);
  p.c2s.loss = p.s2c.loss = loss;
  h_start(&p);
  CHECK(h_run(&p, h_both_established, 30000000));
  g_up = h_open(&p.c, PL_QUIC_STREAM_FILE, 0, up_bytes, 1);
  h_stream *down = h_open(&p.s, PL_QUIC_STREAM_BENCH, 0, down_bytes, 1);
  CHECK(h_run(&p, h_all_closed, 600000000));
  check_intact(&p, g_up, up_bytes);
  h_stream *back = h_find(&p.c, down->sid);
  CHECK(back && back->received == down_bytes && !back->bad && back->fin);
  CHECK_U64(p.c2s.dropped_loss, >, 0);
  CHECK_U64(p.s2c.dropped_loss, >, 0);
  printf("  loss %.0f%%: %llu up, %llu down in %.1f s synthetic, %llu+%llu packets dropped\n",
         loss * 100, (unsigned long long)up_bytes, (unsigned long long)down_bytes,
         (double)(p.now - 1000000) / 1e6, (unsigned long long)p.c2s.dropped_loss,
         (unsigned long long)p.s2c.dropped_loss);
  h_pair_free(&p);
}

static int half_way(h_pair *p) {
  (void)p;
  return g_up->acked >= g_up->to_send / 2;
}

static void outage(void) {
  h_pair p;
  h_pair_init(&p, 1, 0);
  p.c.cfg.keepalive_us = p.s.cfg.keepalive_us = 2000000;
  h_start(&p);
  CHECK(h_run(&p, h_both_established, 5000000));
  g_up = h_open(&p.c, PL_QUIC_STREAM_FILE, 1, 8u << 20, 1);
  CHECK(h_run(&p, half_way, 60000000));
  p.c2s.down = p.s2c.down = 1;
  CHECK(!h_run(&p, h_all_closed, 8000000)); /* 8 s without a path */
  p.c2s.down = p.s2c.down = 0;
  h_stream *down = h_find(&p.s, g_up->sid);
  CHECK(down != NULL);
  down->finish = 1; /* answer with an empty FIN so both directions end */
  CHECK(h_run(&p, h_all_closed, 120000000));
  check_intact(&p, g_up, 8u << 20);
  pl_quic_info ci;
  h_info(p.c.q, &ci);
  CHECK(ci.established);
  h_pair_free(&p);
}

int main(void) {
  lossy(0.10, 4u << 20, 1u << 20);
  lossy(0.30, 256u << 10, 64u << 10);
  outage();
  printf("quic_loss_test: ok\n");
  return 0;
}
