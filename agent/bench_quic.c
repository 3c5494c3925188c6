/* The QUIC benchmark's data path: one one-way BENCH stream (agent/quic/quic.h) on the link's
 * QUIC connection, opened by the data sender once the run starts; the sender writes chunks as
 * the stream's send buffer takes them (its `writable` callback resumes a full buffer) and
 * finishes the stream at the end; the receiver counts what the stream delivers. One QUIC
 * benchmark per link at a time: the stream names no session, the link does. The connection is
 * asked for afresh each time (pl_agent_quic_get): a stream's `closed` callback says when it
 * went away. */
#include <stdlib.h>

#include "agent/bench_glue.h"
#include "control/common/clock.h"
#include "control/common/err.h"

#define QUIC_BUDGET (1u << 20) /* bytes offered per pump call before the loop gets a turn */
#define WRITABLE_WAIT_US 50000 /* the stream's writable callback normally comes first */

static const char *quic_unavailable(pl_agent *a, const pl_link *l) {
  if (l->path.kind == PL_PATH_NONE)
    return "no path to the peer";
  return pl_agent_quic_get(a, l) ? NULL : "no established QUIC connection to the peer (yet)";
}

static uint32_t quic_max_chunk(const pl_link *l) {
  (void)l;
  return 1u << 20;
}

/* Full chunks in [0, n): what both sides count as packets. */
static uint64_t chunks_in(uint64_t before, uint64_t n, uint32_t chunk) {
  return (before + n) / chunk - before / chunk;
}

static void on_writable(void *sarg, pl_quic *q, int64_t sid) {
  pl_bench_run *r = sarg;
  (void)q;
  (void)sid;
  r->hold_until = 0;
  pl_bench__keep_pumping(r, 1);
}

static void on_recv(void *sarg, pl_quic *q, int64_t sid, const uint8_t *data, size_t len, int fin) {
  pl_bench_run *r = sarg;
  (void)q;
  (void)sid;
  (void)data;
  (void)fin;
  uint32_t chunk = pl_bench_params_get(r->b)->chunk;
  pl_bench_state before = pl_bench_get_state(r->b);
  pl_bench_stream_received(r->b, len, chunks_in(r->stream_bytes, len, chunk), pl_clock_now_us());
  r->stream_bytes += len;
  if (pl_bench_get_state(r->b) != before)
    pl_bench__poke(r); /* the tail completed the run: RESULT goes out from the loop */
}

static void on_closed(void *sarg, pl_quic *q, int64_t sid, int err, uint64_t app_error) {
  pl_bench_run *r = sarg;
  (void)q;
  (void)sid;
  (void)err;
  (void)app_error;
  r->sid = -1; /* gone: a sender stops sending; FIN and the tail timeout end the run */
  r->stream_done = 1;
}

/* Progress is counted where it is written and where it arrives; the acknowledgements matter to
 * the stream's send buffer only. */
static void on_acked(void *sarg, pl_quic *q, int64_t sid, uint64_t acked) {
  (void)sarg;
  (void)q;
  (void)sid;
  (void)acked;
}

/* Every callback set: the QUIC wrapper calls them without checking. */
static const pl_quic_stream_cb stream_cb = {
    .recv = on_recv, .acked = on_acked, .writable = on_writable, .closed = on_closed};

static void quic_pump(pl_bench_run *r, pl_link *l, uint64_t now) {
  pl_quic *q = pl_agent_quic_get(r->ab->a, l);
  uint32_t chunk = pl_bench_params_get(r->b)->chunk;
  if (q == NULL || r->stream_done) {
    pl_bench__keep_pumping(r, 0);
    return;
  }
  if (r->sid < 0) {
    int rv = pl_quic_stream_open(q, PL_QUIC_STREAM_BENCH, 0, &stream_cb, r, &r->sid);
    if (rv != 0) {
      r->sid = -1;
      r->hold_until = now + WRITABLE_WAIT_US; /* PL_ERR_FULL: a stream slot frees up later */
      pl_bench__keep_pumping(r, 0);
      return;
    }
  }
  if (r->buf == NULL && (r->buf = calloc(1, chunk)) == NULL)
    return;
  for (size_t offered = 0; offered < QUIC_BUDGET;) {
    uint64_t room = pl_bench_stream_room(r->b);
    /* From where the last chunk stopped, so chunks stay whole on both sides' counts. */
    size_t len = chunk - (size_t)(r->stream_bytes % chunk);
    if (room < len)
      len = (size_t)room;
    if (len == 0)
      break;
    size_t acc = 0;
    if (pl_quic_stream_write(q, r->sid, r->buf, len, &acc) != 0)
      break;
    pl_bench_stream_sent(r->b, acc, chunks_in(r->stream_bytes, acc, chunk), now);
    r->stream_bytes += acc;
    offered += acc;
    if (acc < len) { /* full: `writable` resumes us */
      r->hold_until = now + WRITABLE_WAIT_US;
      pl_bench__keep_pumping(r, 0);
      return;
    }
  }
  r->hold_until = 0;
  pl_bench__keep_pumping(r, pl_bench_stream_room(r->b) > 0);
}

/* The run ends, or its sending part: FIN after what is written (the receiver keeps counting
 * until it arrives), or a reset when the run is going away. */
static void quic_stop(pl_bench_run *r) {
  pl_link *l = pl_bench__link(r);
  pl_quic *q = l ? pl_agent_quic_get(r->ab->a, l) : NULL;
  if (r->sid >= 0 && q)
    pl_quic_stream_reset(q, r->sid, PL_QUIC_APP_CANCELLED);
  r->sid = -1;
}

static void quic_finish(pl_bench_run *r) {
  pl_link *l = pl_bench__link(r);
  pl_quic *q = l ? pl_agent_quic_get(r->ab->a, l) : NULL;
  if (r->sid >= 0 && q && !r->stream_done)
    pl_quic_stream_finish(q, r->sid);
}

/* The peer opened a BENCH stream: it belongs to the link's QUIC run, which receives. */
static int on_open(void *arg, pl_link *l, pl_quic *q, int64_t sid, const pl_quic_stream_cb **pcb,
                   void **psarg) {
  pl_bench_run *r = pl_bench__find_xport(arg, l->pairing, PL_BENCH_XPORT_QUIC);
  (void)q;
  if (r == NULL || pl_bench_sending(r->b) || r->sid >= 0)
    return PL_ERR_STATE; /* refused: no run here wants it */
  r->sid = sid;
  *pcb = &stream_cb;
  *psarg = r;
  return 0;
}

void pl_bench__quic_attach(pl_agent_bench *ab, int on) {
  pl_agent_quic_set_handler(ab->a, PL_QUIC_STREAM_BENCH, on ? on_open : NULL, on ? ab : NULL);
}

const pl_bench_xport_ops pl_bench__quic = {
    .name = "quic",
    .unavailable = quic_unavailable,
    .max_chunk = quic_max_chunk,
    .pump = quic_pump,
    .stop = quic_stop,
    .finish = quic_finish,
};
