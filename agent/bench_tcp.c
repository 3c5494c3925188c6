/* The TCP benchmark's data path: BULK records on the link's punched, authenticated TCP
 * connection (agent/tcp/tcp.h). The sender writes chunk-sized records until the connection's
 * write queue is at its high mark, then waits for on_writable; the receiver counts what the
 * node's bulk handler delivers. One TCP benchmark per link at a time (the records carry no
 * session). */
#include <stdlib.h>

#include "agent/bench_glue.h"
#include "control/common/clock.h"
#include "control/common/err.h"

#define TCP_BUDGET (1u << 20)  /* bytes written per pump call before the loop gets a turn */
#define WRITABLE_WAIT_US 50000 /* on_writable normally comes first */

static pl_tcp_link *tcp_of(pl_agent *a, const pl_link *l) {
  return a->tcp.open ? pl_tcp_find(&a->tcp, l->pairing) : NULL;
}

static const char *tcp_unavailable(pl_agent *a, const pl_link *l) {
  pl_tcp_link *t = tcp_of(a, l);
  if (!a->tcp.open)
    return "TCP punching is off in this agent (--tcp-port off)";
  if (t == NULL)
    return "no TCP link to the peer (it needs the rendezvous's offer with TCP candidates)";
  if (t->state != PL_TCP_LINK_CONNECTED)
    return t->detail[0] ? t->detail : "no TCP connection to the peer yet";
  return NULL;
}

static uint32_t tcp_max_chunk(const pl_link *l) {
  (void)l;
  return PL_TCP_MAX_RECORD;
}

static void tcp_pump(pl_bench_run *r, pl_link *l, uint64_t now) {
  pl_tcp_link *t = tcp_of(r->ab->a, l);
  size_t chunk = pl_bench_params_get(r->b)->chunk;
  if (t == NULL || t->state != PL_TCP_LINK_CONNECTED) {
    pl_bench__keep_pumping(r, 0); /* the peer's silence, or the link's end, decides */
    return;
  }
  if (r->buf == NULL && (r->buf = calloc(1, chunk)) == NULL)
    return;
  for (size_t sent = 0; sent < TCP_BUDGET;) {
    uint64_t room = pl_bench_stream_room(r->b);
    size_t len = room < chunk ? (size_t)room : chunk;
    if (len == 0)
      break;
    int rv = pl_tcp_link_bulk(t, r->buf, len);
    if (rv == PL_ERR_FULL) {
      pl_bench__keep_pumping(r, 0);
      r->hold_until = now + WRITABLE_WAIT_US;
      return;
    }
    if (rv != 0)
      break; /* the connection is lost: the peer's silence ends the run */
    pl_bench_stream_sent(r->b, len, 1, now);
    sent += len;
  }
  r->hold_until = 0;
  pl_bench__keep_pumping(r, pl_bench_stream_room(r->b) > 0);
}

static void tcp_stop(pl_bench_run *r) {
  (void)r;
}

static void on_bulk(void *arg, pl_tcp_link *t, const uint8_t *data, size_t len, size_t offset,
                    size_t total) {
  pl_bench_run *r = pl_bench__find_xport(arg, t->pairing, PL_BENCH_XPORT_TCP);
  (void)data;
  (void)total;
  if (r == NULL)
    return;
  pl_bench_state before = pl_bench_get_state(r->b);
  pl_bench_stream_received(r->b, len, offset == 0, pl_clock_now_us());
  if (pl_bench_get_state(r->b) != before)
    pl_bench__poke(r); /* the tail completed the run: RESULT goes out from the loop */
}

static void on_writable(void *arg, pl_tcp_link *t) {
  pl_bench_run *r = pl_bench__find_xport(arg, t->pairing, PL_BENCH_XPORT_TCP);
  if (r) {
    r->hold_until = 0;
    pl_bench__service(r);
  }
}

void pl_bench__tcp_attach(pl_agent_bench *ab, int on) {
  ab->a->tcp.bulk =
      on ? (pl_tcp_bulk_handler){.on_bulk = on_bulk, .on_writable = on_writable, .arg = ab}
         : (pl_tcp_bulk_handler){0};
}

const pl_bench_xport_ops pl_bench__tcp = {
    .name = "tcp",
    .unavailable = tcp_unavailable,
    .max_chunk = tcp_max_chunk,
    .pump = tcp_pump,
    .stop = tcp_stop,
};
