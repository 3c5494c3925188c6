/* agent/bench: two sides of a benchmark through an in-memory network with synthetic time: the
 * receiver's own numbers reach the initiator and agree with the sender's (bytes received never
 * exceed bytes sent; loss = sent - received), reverse, byte bounds, the rate, refusals, a peer
 * that never answers or goes silent, cancelling, a replayed START, forged and reordered
 * frames. No sockets, no clocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bench/bench.h"
#include "tests/unit/common/check.h"

#define MS 1000ull
#define S 1000000ull
#define LATENCY (5 * MS)
#define QMAX 200000

typedef struct pkt {
  uint64_t at;
  int to;     /* 0: initiator, 1: responder */
  int stream; /* bytes of a stream transport (len of them), not a frame */
  size_t len;
  uint8_t data[PL_FRAME_MAX_LEN];
} pkt;

typedef struct net {
  uint64_t now;
  pl_bench *side[2];
  pl_bench_ends ends[2];
  uint8_t key[32];
  pkt *q;
  size_t head, tail;
  int cut;                /* drop everything */
  int drop_ctrl_to;       /* drop CTRL frames to this side (-1: none) */
  unsigned data_loss_mod; /* drop every n-th DATA frame (0: none) */
  uint64_t data_frames;   /* DATA frames put on the wire */
  int jitter;             /* vary DATA latency */
  pl_bench_limits lim;
  pl_bench_report reports[256];
  size_t n_reports;
  uint64_t cpu[2];
  int accepted;
} net;

static uint64_t fake_cpu(void *arg) {
  uint64_t *c = arg;
  return *c += 1000; /* a millisecond per call */
}

static void net_init(net *n) {
  memset(n, 0, sizeof *n);
  n->q = calloc(QMAX, sizeof *n->q);
  CHECK(n->q != NULL);
  n->drop_ctrl_to = -1;
  for (int i = 0; i < 32; i++)
    n->key[i] = (uint8_t)(i * 7);
  for (int s = 0; s < 2; s++) {
    pl_bench_ends *e = &n->ends[s];
    memset(e->pairing, 0xab, sizeof e->pairing);
    memset(e->self, s ? 0x22 : 0x11, sizeof e->self);
    memset(e->peer, s ? 0x11 : 0x22, sizeof e->peer);
    e->frame_key = n->key;
  }
  n->lim = (pl_bench_limits){
      .max_chunk = 1400, .xports = 1u << PL_BENCH_XPORT_UDP, .nonce = 0x0123456789abcdefull};
}

static void net_free(net *n) {
  pl_bench_del(n->side[0]);
  pl_bench_del(n->side[1]);
  free(n->q);
}

static void put(net *n, int to, const uint8_t *data, size_t len, uint64_t extra) {
  if (n->cut)
    return;
  CHECK(n->tail < QMAX);
  pkt *k = &n->q[n->tail++];
  k->at = n->now + LATENCY + extra;
  k->to = to;
  k->len = len;
  memcpy(k->data, data, len);
}

static void deliver(net *n, pkt *k) {
  pl_bench_head h;
  if (k->stream) {
    if (n->side[k->to])
      pl_bench_stream_received(n->side[k->to], k->len, 1, n->now);
    return;
  }
  CHECK_RV(pl_bench_peek(k->data, k->len, &h), 0);
  if (h.type == PL_FRAME_BENCH_CTRL && n->drop_ctrl_to == k->to)
    return;
  if (n->side[k->to] == NULL) {
    if (k->to == 1 && h.kind == PL_BENCH_START &&
        pl_bench_accept(&n->side[1], &n->ends[1], &h, k->data, k->len, &n->lim, n->now,
                        &(pl_bench_hooks){fake_cpu, &n->cpu[1]}) == 0)
      n->accepted++;
    return;
  }
  pl_bench_recv(n->side[k->to], &h, k->data, k->len, n->now);
}

/* Everything side s has to send now. */
static void emit(net *n, int s) {
  uint8_t buf[64 * 1400];
  size_t len;
  pl_bench *b = n->side[s];
  if (b == NULL)
    return;
  while (pl_bench_poll(b, n->now, buf, sizeof buf, &len))
    put(n, 1 - s, buf, len, 0);
  /* A stream transport: four chunks per round, arriving later than CTRL frames (so FIN
   * overtakes the tail). */
  for (int i = 0;
       i < 4 && pl_bench_sending(b) && pl_bench_params_get(b)->transport != PL_BENCH_XPORT_UDP;
       i++) {
    uint32_t chunk = pl_bench_params_get(b)->chunk;
    pl_bench_stream_sent(b, chunk, 1, n->now);
    CHECK(n->tail < QMAX);
    pkt *k = &n->q[n->tail++];
    *k = (pkt){.at = n->now + 10 * LATENCY, .to = 1 - s, .stream = 1, .len = chunk};
  }
  size_t count;
  for (int rounds = 0; rounds < 1000 && (count = pl_bench_fill(b, n->now, buf, sizeof buf, &len));
       rounds++) {
    size_t chunk = len / count;
    for (size_t i = 0; i < count; i++) {
      n->data_frames++;
      if (n->data_loss_mod && n->data_frames % n->data_loss_mod == 0)
        continue;
      put(n, 1 - s, buf + i * chunk, chunk, n->jitter ? (n->data_frames % 3) * 100 : 0);
    }
    if (count * chunk < sizeof buf - chunk)
      break; /* the rate stopped it */
  }
  pl_bench_report r;
  if (s == 0)
    while (pl_bench_report_next(b, n->now, &r))
      if (n->n_reports < 256)
        n->reports[n->n_reports++] = r;
}

static uint64_t next_time(net *n) {
  uint64_t t = UINT64_MAX;
  for (int s = 0; s < 2; s++)
    if (n->side[s]) {
      uint64_t d = pl_bench_deadline(n->side[s], n->now);
      t = d < t ? d : t;
    }
  for (size_t i = n->head; i < n->tail; i++)
    t = n->q[i].at < t ? n->q[i].at : t;
  return t;
}

/* Runs until `until`, or until both sides are closed. */
static void run(net *n, uint64_t until) {
  while (n->now < until) {
    emit(n, 0);
    emit(n, 1);
    /* Deliver in time order (latencies differ with jitter). */
    int any = 0;
    for (size_t i = n->head; i < n->tail; i++) {
      if (n->q[i].at <= n->now) {
        deliver(n, &n->q[i]);
        n->q[i].at = UINT64_MAX; /* delivered */
        any = 1;
      }
    }
    while (n->head < n->tail && n->q[n->head].at == UINT64_MAX)
      n->head++;
    if (any)
      continue;
    int open = 0;
    for (int s = 0; s < 2; s++)
      open += n->side[s] && pl_bench_get_state(n->side[s]) != PL_BENCH_CLOSED;
    if (!open && n->head == n->tail)
      return;
    uint64_t t = next_time(n);
    if (t == UINT64_MAX)
      return;
    n->now = t > n->now ? (t < until ? t : until) : n->now + MS; /* "now" is the pump's: a tick */
  }
}

static pl_bench_params udp(uint32_t duration_ms, uint64_t rate) {
  return (pl_bench_params){.transport = PL_BENCH_XPORT_UDP,
                           .chunk = 1000,
                           .rate_bps = rate,
                           .duration_ms = duration_ms,
                           .interval_ms = 200};
}

static void start(net *n, const pl_bench_params *p) {
  CHECK_RV(pl_bench_initiate(&n->side[0], &n->ends[0], p, 0x5e55, n->now,
                             &(pl_bench_hooks){fake_cpu, &n->cpu[0]}),
           0);
}

static const pl_bench_report *final_report(net *n) {
  CHECK(n->n_reports > 0);
  const pl_bench_report *r = &n->reports[n->n_reports - 1];
  CHECK_MSG(r->final, "%zu reports, state %d/%d, failure %d/%d", n->n_reports,
            pl_bench_get_state(n->side[0]), n->side[1] ? (int)pl_bench_get_state(n->side[1]) : -1,
            pl_bench_failure(n->side[0], NULL),
            n->side[1] ? (int)pl_bench_failure(n->side[1], NULL) : -1);
  return r;
}

static void check_consistent(const pl_bench_report *r, size_t chunk) {
  CHECK_U64(r->bytes_received, <=, r->bytes_sent);
  CHECK_U64(r->packets_received, <=, r->packets_sent);
  CHECK_U64(r->bytes_sent, ==, r->packets_sent * chunk);
  CHECK_U64(r->bytes_received, ==, r->packets_received * chunk);
  CHECK_U64(r->lost, ==, r->packets_sent - r->packets_received);
  CHECK(r->sender_cpu_seconds > 0 && r->receiver_cpu_seconds > 0);
}

static void test_forward(void) {
  net n;
  net_init(&n);
  pl_bench_params p = udp(1000, 8000000); /* 1 MB/s for 1 s: 1000 datagrams */
  start(&n, &p);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_get_state(n.side[0]), ==, PL_BENCH_CLOSED);
  CHECK_U64(pl_bench_get_state(n.side[1]), ==, PL_BENCH_CLOSED); /* after lingering */
  CHECK_U64(pl_bench_failure(n.side[0], NULL), ==, PL_BENCH_OK);
  const pl_bench_report *r = final_report(&n);
  check_consistent(r, 1000);
  CHECK_U64(r->packets_sent, >=, 995);
  CHECK_U64(r->packets_sent, <=, 1003);
  CHECK_U64(r->lost, ==, 0);
  CHECK(r->receiver_bps > 7.5e6 && r->receiver_bps < 8.5e6);
  /* Interval reports before it: about five of them, each with the receiver's numbers. */
  CHECK_U64(n.n_reports, >=, 4);
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < n.n_reports; i++) {
    CHECK(!n.reports[i].final);
    sum += n.reports[i].bytes_sent;
  }
  CHECK_U64(sum, <=, r->bytes_sent);
  CHECK(n.reports[2].bytes_received > 0);
  net_free(&n);
}

static void test_loss_and_reverse(int reverse) {
  net n;
  net_init(&n);
  n.data_loss_mod = 10;
  n.jitter = 1;
  pl_bench_params p = udp(500, 16000000);
  p.reverse = (uint8_t)reverse;
  start(&n, &p);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_failure(n.side[0], NULL), ==, PL_BENCH_OK);
  const pl_bench_report *r = final_report(&n);
  check_consistent(r, 1000);
  CHECK_U64(r->lost, ==, r->packets_sent / 10);
  CHECK(r->jitter_us > 0);
  CHECK(r->receiver_bps < r->sender_bps);
  net_free(&n);
}

static void test_bytes_bound(void) {
  net n;
  net_init(&n);
  pl_bench_params p = udp(0, 0); /* as fast as it goes, until 50 kB */
  p.bytes = 50000;
  start(&n, &p);
  run(&n, 10 * S);
  const pl_bench_report *r = final_report(&n);
  check_consistent(r, 1000);
  CHECK_U64(r->packets_sent, ==, 50);
  CHECK_U64(r->packets_received, ==, 50);
  net_free(&n);
}

static void test_refused(void) {
  const char *why;
  net n;
  net_init(&n);
  n.lim.max_chunk = 900;
  pl_bench_params p = udp(1000, 0);
  start(&n, &p);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_failure(n.side[0], &why), ==, PL_BENCH_FAIL_REFUSED);
  CHECK_STR_CONTAINS(why, "chunk_size 1000");
  CHECK_U64(n.data_frames, ==, 0);
  net_free(&n);

  net_init(&n);
  n.lim.busy = 1;
  start(&n, &p);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_failure(n.side[0], &why), ==, PL_BENCH_FAIL_REFUSED);
  CHECK_STR_CONTAINS(why, "too many");
  net_free(&n);

  net_init(&n);
  p.transport = PL_BENCH_XPORT_QUIC;
  start(&n, &p);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_failure(n.side[0], &why), ==, PL_BENCH_FAIL_REFUSED);
  CHECK_STR_CONTAINS(why, "no QUIC");
  net_free(&n);

  net_init(&n);
  n.lim.why_not[PL_BENCH_XPORT_QUIC] = "no established QUIC connection";
  start(&n, &p);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_failure(n.side[0], &why), ==, PL_BENCH_FAIL_REFUSED);
  CHECK_STR_CONTAINS(why, "QUIC there: no established QUIC connection");
  net_free(&n);

  /* Refused here already. */
  pl_bench *b;
  p = udp(1000, 0);
  p.chunk = PL_BENCH_DATA_MIN - 1;
  CHECK_RV(pl_bench_initiate(&b, &n.ends[0], &p, 1, 0, NULL), PL_ERR_INVALID);
  p = udp(0, 0);
  CHECK_RV(pl_bench_initiate(&b, &n.ends[0], &p, 1, 0, NULL), PL_ERR_INVALID);
}

static void test_no_answer_and_silence(void) {
  const char *why;
  net n;
  net_init(&n);
  n.cut = 1;
  pl_bench_params p = udp(1000, 0);
  start(&n, &p);
  run(&n, 60 * S);
  CHECK_U64(pl_bench_failure(n.side[0], &why), ==, PL_BENCH_FAIL_NO_ANSWER);
  CHECK_STR_CONTAINS(why, "START");
  CHECK_U64(n.now, <, 10 * S);
  net_free(&n);

  /* The network dies mid-run: both sides stop within the silence timeout. */
  net_init(&n);
  p = udp(30000, 1000000);
  start(&n, &p);
  run(&n, 2 * S);
  CHECK(pl_bench_sending(n.side[0]));
  n.cut = 1;
  run(&n, 60 * S);
  CHECK_U64(pl_bench_failure(n.side[0], NULL), ==, PL_BENCH_FAIL_SILENT);
  CHECK_U64(pl_bench_failure(n.side[1], NULL), ==, PL_BENCH_FAIL_SILENT);
  CHECK_U64(n.now, <, 2 * S + PL_BENCH_SILENCE_US + S);
  net_free(&n);
}

static void test_cancel(int reverse) {
  const char *why;
  net n;
  net_init(&n);
  pl_bench_params p = udp(30000, 1000000);
  p.reverse = (uint8_t)reverse;
  start(&n, &p);
  run(&n, 1 * S);
  CHECK(pl_bench_sending(n.side[reverse ? 1 : 0]));
  uint64_t at = n.now;
  pl_bench_cancel(n.side[0], n.now, "cancelled by the caller");
  run(&n, 30 * S);
  CHECK_U64(pl_bench_get_state(n.side[0]), ==, PL_BENCH_CLOSED);
  CHECK_U64(pl_bench_get_state(n.side[1]), ==, PL_BENCH_CLOSED);
  CHECK_U64(pl_bench_failure(n.side[1], &why), ==, PL_BENCH_FAIL_ABORTED);
  CHECK_STR_CONTAINS(why, "cancelled by the caller");
  CHECK_U64(n.now - at, <, S); /* three ABORTs 200 ms apart, not a timeout */
  net_free(&n);
}

/* A recorded START replayed after the run: the responder answers, under fresh keys, and sends
 * nothing until a GO it will never get. */
static void test_replayed_start(void) {
  net n;
  net_init(&n);
  pl_bench_params p = udp(300, 1000000);
  p.reverse = 1;
  start(&n, &p);
  uint8_t start_frame[PL_BENCH_CTRL_MAX];
  size_t len;
  CHECK(pl_bench_poll(n.side[0], n.now, start_frame, sizeof start_frame, &len));
  put(&n, 1, start_frame, len, 0);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_failure(n.side[0], NULL), ==, PL_BENCH_OK);
  CHECK_U64(n.accepted, ==, 1);
  uint64_t frames = n.data_frames;
  pl_bench_del(n.side[0]);
  pl_bench_del(n.side[1]);
  n.side[0] = n.side[1] = NULL;
  n.lim.nonce++;
  put(&n, 1, start_frame, len, 0); /* the attacker's copy */
  run(&n, 20 * S);
  CHECK_U64(n.accepted, ==, 2);
  CHECK_U64(n.data_frames, ==, frames);
  CHECK_U64(pl_bench_get_state(n.side[1]), ==, PL_BENCH_CLOSED);
  CHECK_U64(pl_bench_failure(n.side[1], NULL), ==, PL_BENCH_FAIL_SILENT);
  net_free(&n);
}

static void test_forged_reordered(void) {
  net n;
  net_init(&n);
  pl_bench_params p = udp(2000, 8000000);
  start(&n, &p);
  run(&n, 300 * MS);
  pl_bench *rx = n.side[1];
  CHECK(rx != NULL);
  uint8_t buf[8 * 1000];
  size_t len, k = 0;
  /* Frames made while the network is cut, then delivered 3, 1, 2, 2: one reordered, one
   * duplicate, the rest never. */
  n.cut = 1;
  while (k < 3) {
    n.now += 2 * MS;
    k += pl_bench_fill(n.side[0], n.now, buf + k * 1000, sizeof buf - k * 1000, &len);
  }
  pl_bench_stats st0, st;
  pl_bench_stats_get(rx, &st0);
  int order[4] = {2, 0, 1, 1};
  pl_bench_head h;
  for (int i = 0; i < 4; i++) {
    CHECK_RV(pl_bench_peek(buf + order[i] * 1000, 1000, &h), 0);
    CHECK_RV(pl_bench_recv(rx, &h, buf + order[i] * 1000, 1000, n.now), 0);
  }
  pl_bench_stats_get(rx, &st);
  CHECK_U64(st.duplicates, ==, st0.duplicates + 1);
  /* A changed byte does not open; neither does another session's frame. */
  buf[100] ^= 1;
  CHECK_RV(pl_bench_peek(buf, 1000, &h), 0);
  CHECK_RV(pl_bench_recv(rx, &h, buf, 1000, n.now), PL_ERR_AUTH);
  pl_bench_stats_get(rx, &st);
  CHECK_U64(st.dropped_auth, ==, st0.dropped_auth + 1);
  CHECK_RV(pl_bench_peek(buf, 10, &h), PL_ERR_PARSE);
  n.cut = 0;
  run(&n, 20 * S);
  const pl_bench_report *r = final_report(&n);
  check_consistent(r, 1000);
  CHECK_U64(r->out_of_order, >=, 1);
  /* The frames fill() made beyond the 3 delivered were never sent: lost. */
  CHECK_U64(r->lost, ==, k - 3);
  net_free(&n);
}

/* A stream transport: the receiver answers FIN only once the tail has arrived, so it counts
 * every byte the sender did. */
static void test_stream(int reverse) {
  net n;
  net_init(&n);
  n.lim.xports |= 1u << PL_BENCH_XPORT_TCP;
  pl_bench_params p = udp(300, 0);
  p.transport = PL_BENCH_XPORT_TCP;
  p.chunk = 65536;
  p.reverse = (uint8_t)reverse;
  start(&n, &p);
  run(&n, 10 * S);
  CHECK_U64(pl_bench_failure(n.side[0], NULL), ==, PL_BENCH_OK);
  const pl_bench_report *r = final_report(&n);
  CHECK_U64(r->packets_sent, >, 0);
  CHECK_U64(r->bytes_received, ==, r->bytes_sent);
  CHECK_U64(r->packets_received, ==, r->packets_sent);
  CHECK_U64(r->lost, ==, 0);
  CHECK(r->receiver_bps > 0 && r->receiver_bps <= r->sender_bps);
  net_free(&n);

  /* The tail never comes: after the silence timeout the receiver reports what it has. */
  net_init(&n);
  n.lim.xports |= 1u << PL_BENCH_XPORT_TCP;
  p.reverse = 0;
  start(&n, &p);
  run(&n, 300 * MS - LATENCY);
  for (size_t i = n.head; i < n.tail; i++)
    if (n.q[i].stream && n.q[i].at > n.now + 2 * LATENCY)
      n.q[i].at = UINT64_MAX - 1; /* lost for good */
  run(&n, 30 * S);
  CHECK_U64(pl_bench_failure(n.side[0], NULL), ==, PL_BENCH_OK);
  r = final_report(&n);
  CHECK_U64(r->bytes_received, <, r->bytes_sent);
  net_free(&n);
}

int main(void) {
  test_forward();
  test_loss_and_reverse(0);
  test_loss_and_reverse(1);
  test_bytes_bound();
  test_refused();
  test_no_answer_and_silence();
  test_cancel(0);
  test_cancel(1);
  test_replayed_start();
  test_forged_reordered();
  test_stream(0);
  test_stream(1);
  printf("bench_test: ok\n");
  return 0;
}
