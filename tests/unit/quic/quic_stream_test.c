/* agent/quic: streams. Data both ways on a bidirectional stream (more than the send buffer, so
 * back-pressure and `writable` are exercised), every byte checked, acked offsets monotonic up to
 * all that was written, both ends closed cleanly; several streams at once; a stream of a kind
 * nobody takes is refused; a reset reaches the peer with its code; manual flow control holds
 * the sender back until the receiver consumes; closing the connection ends open streams. */
#include "tests/unit/quic/harness.h"

static void connect_pair(h_pair *p) {
  h_pair_init(p, 1, 0);
  h_start(p);
  CHECK(h_run(p, h_both_established, 5000000));
}

static h_stream *g_a, *g_b;

static int a_closed(h_pair *p) {
  (void)p;
  return g_a->closed && (g_b == NULL || g_b->closed);
}

static int b_exists(h_pair *p) {
  g_b = h_find(&p->s, g_a->sid);
  return g_b != NULL;
}

static int b_fin(h_pair *p) {
  (void)p;
  return g_b->fin;
}

/* 3 MiB up, then 2 MiB down on the same stream, with a 256 KiB send buffer. */
static void test_bidi(void) {
  h_pair p;
  connect_pair(&p);
  g_b = NULL;
  /* Re-open with a small buffer: the config applies to connections made after it. */
  pl_quic_del(p.c.q);
  pl_quic_del(p.s.q);
  p.c.q = p.s.q = NULL;
  p.c.established = p.s.established = 0;
  p.c.cfg.stream_buffer = p.s.cfg.stream_buffer = 256 * 1024;
  h_start(&p);
  CHECK(h_run(&p, h_both_established, 5000000));

  g_a = h_open(&p.c, PL_QUIC_STREAM_FILE, 1, 3u << 20, 1);
  CHECK_U64(g_a->written, ==, 256 * 1024 - 1); /* the kind byte takes one */
  CHECK(h_run(&p, b_exists, 5000000));
  CHECK_U64(g_b->kind, ==, PL_QUIC_STREAM_FILE);
  /* The server answers on the same stream once the upload is complete. */
  CHECK(h_run(&p, b_fin, 60000000));
  CHECK_U64(g_b->received, ==, 3u << 20);
  CHECK(!g_b->bad);
  g_b->to_send = 2u << 20;
  g_b->finish = 1;
  CHECK(h_run(&p, a_closed, 60000000));
  CHECK_U64(g_a->received, ==, 2u << 20);
  CHECK(!g_a->bad && g_a->fin);
  CHECK_U64(g_a->acked, ==, 3u << 20);
  CHECK_U64(g_b->acked, ==, 2u << 20);
  CHECK(g_a->writable_calls > 0 && g_b->writable_calls > 0);
  CHECK_RV(g_a->close_err, 0);
  CHECK_RV(g_b->close_err, 0);
  pl_quic_info ci;
  h_info(p.c.q, &ci);
  CHECK_U64(ci.streams_open, ==, 0);
  CHECK_RV(pl_quic_stream_write(p.c.q, g_a->sid, (const uint8_t *)"x", 1, NULL), PL_ERR_NOT_FOUND);
  h_pair_free(&p);
}

/* Ten uni streams each way at once, different sizes: all arrive intact. */
static void test_many(void) {
  h_pair p;
  connect_pair(&p);
  for (int i = 0; i < 10; i++) {
    h_open(&p.c, PL_QUIC_STREAM_MESSAGE, 0, 1000u * (uint64_t)(i * i + 1), 1);
    h_open(&p.s, PL_QUIC_STREAM_BENCH, 0, 777u * (uint64_t)(i + 1), 1);
  }
  CHECK(h_run(&p, h_all_closed, 60000000));
  {
    pl_quic_info i1, i2;
    h_info(p.c.q, &i1);
    h_info(p.s.q, &i2);
    fprintf(stderr, "c: %s\ns: %s\n", i1.detail, i2.detail);
  }
  int got_c = 0, got_s = 0;
  for (int i = 0; i < H_STREAMS; i++) {
    h_stream *c = &p.c.streams[i], *s = &p.s.streams[i];
    if (c->used && c->to_send == 0) { /* received by the client */
      if (c->bad || !c->fin || c->close_err)
        fprintf(stderr, "sid %lld bad %d fin %d err %d recv %llu\n", (long long)c->sid, c->bad,
                c->fin, c->close_err, (unsigned long long)c->received);
      CHECK(!c->bad && c->fin && c->close_err == 0);
      got_c++;
    }
    if (s->used && s->to_send == 0) {
      CHECK(!s->bad && s->fin && s->close_err == 0);
      CHECK_U64(s->received, ==, 1000u * (uint64_t)((s->sid >> 2) * (s->sid >> 2) + 1));
      got_s++;
    }
  }
  CHECK_U64(got_c, ==, 10);
  CHECK_U64(got_s, ==, 10);
  h_pair_free(&p);
}

static int refused(h_pair *p) {
  (void)p;
  return g_a->closed;
}

static void test_refused_kind(void) {
  h_pair p;
  connect_pair(&p);
  p.s.refuse_kind = PL_QUIC_STREAM_BENCH;
  g_a = h_open(&p.c, PL_QUIC_STREAM_BENCH, 1, 100000, 1);
  CHECK(h_run(&p, refused, 10000000));
  CHECK_RV(g_a->close_err, PL_ERR_STATE);
  CHECK_U64(g_a->close_code, ==, PL_QUIC_APP_REFUSED);
  /* The connection is fine: another kind goes through. */
  g_a = h_open(&p.c, PL_QUIC_STREAM_MESSAGE, 0, 5000, 1);
  CHECK(h_run(&p, h_all_closed, 10000000));
  CHECK(h_find(&p.s, g_a->sid) && !h_find(&p.s, g_a->sid)->bad);
  h_pair_free(&p);
}

static int b_has_data(h_pair *p) {
  (void)p;
  return g_b && g_b->received > 0;
}

static int b_closed(h_pair *p) {
  (void)p;
  return g_b->closed;
}

static void test_reset(void) {
  h_pair p;
  connect_pair(&p);
  g_b = NULL;
  g_a = h_open(&p.c, PL_QUIC_STREAM_FILE, 1, 10u << 20, 0);
  CHECK(h_run(&p, b_exists, 5000000));
  CHECK(h_run(&p, b_has_data, 5000000));
  CHECK_RV(pl_quic_stream_reset(p.c.q, g_a->sid, 0x1234), 0);
  g_a->closed = 1; /* its callback does not run after a reset */
  CHECK(h_run(&p, b_closed, 5000000));
  CHECK_RV(g_b->close_err, PL_ERR_STATE);
  CHECK_U64(g_b->close_code, ==, 0x1234);
  CHECK_RV(pl_quic_stream_write(p.c.q, g_a->sid, (const uint8_t *)"x", 1, NULL), PL_ERR_NOT_FOUND);
  CHECK(h_run(&p, NULL, 1000000) == 0);
  pl_quic_info ci, si;
  h_info(p.c.q, &ci);
  h_info(p.s.q, &si);
  CHECK_MSG(ci.established && si.established, "c: %s / s: %s", ci.detail, si.detail);
  CHECK_U64(ci.streams_open, ==, 0);
  CHECK_U64(si.streams_open, ==, 0);
  h_pair_free(&p);
}

static uint64_t g_mark;

static int sender_stalled(h_pair *p) {
  /* Nothing more acked for a while: a full window that nobody reopens. */
  (void)p;
  return g_a->acked == g_mark;
}

static void test_manual_consume(void) {
  h_pair p;
  connect_pair(&p);
  p.s.manual = 1;
  p.s.hold_consume = 1;
  g_b = NULL;
  g_a = h_open(&p.c, PL_QUIC_STREAM_FILE, 0, 8u << 20, 1);
  CHECK(h_run(&p, b_exists, 5000000));
  h_run(&p, NULL, 5000000);
  /* Without consumption the receiver holds at most the initial stream window. */
  CHECK_U64(g_b->received, <=, (1u << 20));
  CHECK_U64(g_b->received, >, 0);
  g_mark = g_a->acked;
  h_run(&p, NULL, 3000000);
  CHECK(sender_stalled(&p));
  p.s.hold_consume = 0;
  CHECK(h_run(&p, h_all_closed, 60000000));
  CHECK_U64(g_b->received, ==, 8u << 20);
  CHECK(!g_b->bad && g_b->close_err == 0);
  h_pair_free(&p);
}

static void test_close_ends_streams(void) {
  h_pair p;
  connect_pair(&p);
  g_b = NULL;
  g_a = h_open(&p.c, PL_QUIC_STREAM_FILE, 1, 50u << 20, 1);
  CHECK(h_run(&p, b_exists, 5000000));
  CHECK_RV(pl_quic_close(p.c.q, 7, "agent stopping", p.now), 0);
  CHECK(g_a->closed); /* at once, from inside pl_quic_close */
  CHECK_RV(g_a->close_err, PL_ERR_CLOSED);
  CHECK_U64(p.c.closed, ==, 1);
  CHECK_RV(pl_quic_close(p.c.q, 7, "again", p.now), PL_ERR_CLOSED);
  CHECK(h_run(&p, b_closed, 5000000));
  CHECK_RV(g_b->close_err, PL_ERR_CLOSED);
  pl_quic_info si;
  h_info(p.s.q, &si);
  CHECK_STR_CONTAINS(si.detail, "closed by the peer (code 7): agent stopping");
  CHECK_RV(pl_quic_stream_open(p.c.q, PL_QUIC_STREAM_MESSAGE, 0, &p.c.scb, NULL, &g_a->sid),
           PL_ERR_STATE);
  h_pair_free(&p);
}

int main(void) {
  test_bidi();
  test_many();
  test_refused_kind();
  test_reset();
  test_manual_consume();
  test_close_ends_streams();
  printf("quic_stream_test: ok\n");
  return 0;
}
