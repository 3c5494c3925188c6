/* Benchmarks wired into the agent: a timer per run, CTRL frames over the link, the responder
 * side started by a START from a peer (no RPC on this side), the initiator's reports streamed
 * on its Benchmark call (agent/bench_glue.h). */
#include "agent/bench_glue.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/common/log.h"
#include "control/common/random.h"

static uint64_t cpu_us(void *arg) {
  struct rusage ru;
  (void)arg;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static const pl_bench_hooks hooks = {.cpu_us = cpu_us};

const pl_bench_xport_ops *pl_bench__xport(pl_bench_xport x) {
  switch (x) {
  case PL_BENCH_XPORT_UDP: return &pl_bench__udp;
  case PL_BENCH_XPORT_QUIC: return &pl_bench__quic;
  case PL_BENCH_XPORT_TCP: return &pl_bench__tcp;
  default: return NULL;
  }
}

pl_link *pl_bench__link(const pl_bench_run *r) {
  return pl_links_find_pairing(&r->ab->a->links, r->pairing);
}

static void ends_of(const pl_agent *a, const pl_link *l, pl_bench_ends *e) {
  memset(e, 0, sizeof *e);
  memcpy(e->pairing, l->pairing, sizeof e->pairing);
  memcpy(e->self, a->links.self_id, sizeof e->self);
  pl_hex_decode(e->peer, sizeof e->peer, l->peer_id);
  e->frame_key = pl_punch_frame_key(l->punch);
}

/* --- runs ---------------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  pl_bench__service(t->data);
}

static void on_idle(uv_idle_t *h) {
  pl_bench__service(h->data);
}

static void run_freed(uv_handle_t *h) {
  pl_bench_run *r = h->data;
  if (--r->handles > 0)
    return;
  pl_bench_del(r->b);
  free(r->buf);
  free(r);
}

static pl_bench_run *run_new(pl_agent_bench *ab, const pl_link *l, pl_bench *b) {
  pl_bench_run *r = calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->ab = ab;
  r->b = b;
  r->xport = pl_bench__xport(pl_bench_params_get(b)->transport);
  memcpy(r->pairing, l->pairing, sizeof r->pairing);
  memcpy(r->peer_id, l->peer_id, sizeof r->peer_id);
  uv_timer_init(ab->a->loop, &r->timer);
  uv_idle_init(ab->a->loop, &r->idle);
  r->timer.data = r->idle.data = r;
  r->handles = 2;
  r->sid = -1;
  r->next = ab->runs;
  ab->runs = r;
  ab->n_runs++;
  return r;
}

static void run_free(pl_bench_run *r) {
  pl_agent_bench *ab = r->ab;
  if (r->freeing)
    return;
  r->freeing = 1;
  for (pl_bench_run **p = &ab->runs; *p; p = &(*p)->next) {
    if (*p == r) {
      *p = r->next;
      ab->n_runs--;
      break;
    }
  }
  if (r->xport && r->xport->stop)
    r->xport->stop(r);
  if (r->call)
    pl_rpc_call_set_data(r->call, NULL);
  uv_close((uv_handle_t *)&r->timer, run_freed);
  uv_close((uv_handle_t *)&r->idle, run_freed);
}

static pl_bench_run *find_run(pl_agent_bench *ab, const uint8_t *pairing, uint64_t session) {
  for (pl_bench_run *r = ab->runs; r; r = r->next)
    if (pl_bench_session(r->b) == session && memcmp(r->pairing, pairing, sizeof r->pairing) == 0)
      return r;
  return NULL;
}

/* A run whose data may still flow (not lingering, aborting or over). */
static int data_may_flow(const pl_bench_run *r) {
  pl_bench_state st = pl_bench_get_state(r->b);
  return !r->freeing && st != PL_BENCH_LINGER && st != PL_BENCH_ABORTING && st != PL_BENCH_CLOSED;
}

pl_bench_run *pl_bench__find_xport(pl_agent_bench *ab, const uint8_t *pairing, pl_bench_xport x) {
  for (pl_bench_run *r = ab->runs; r; r = r->next)
    if (data_may_flow(r) && pl_bench_params_get(r->b)->transport == x &&
        memcmp(r->pairing, pairing, sizeof r->pairing) == 0)
      return r;
  return NULL;
}

/* --- the initiator's call ------------------------------------------------------------------ */

static void send_report(pl_bench_run *r, const pl_bench_report *rep) {
  Peerlink__V1__BenchmarkResponse resp = PEERLINK__V1__BENCHMARK_RESPONSE__INIT;
  Peerlink__V1__BenchmarkReport m = PEERLINK__V1__BENCHMARK_REPORT__INIT;
  m.final = rep->final;
  m.elapsed_ms = rep->elapsed_ms;
  m.bytes_sent = rep->bytes_sent;
  m.bytes_received = rep->bytes_received;
  m.receiver_bps = rep->receiver_bps;
  m.lost = rep->lost;
  m.jitter_us = rep->jitter_us;
  m.sender_bps = rep->sender_bps;
  m.packets_sent = rep->packets_sent;
  m.packets_received = rep->packets_received;
  m.out_of_order = rep->out_of_order;
  m.sender_cpu_seconds = rep->sender_cpu_seconds;
  m.receiver_cpu_seconds = rep->receiver_cpu_seconds;
  m.transport = (Peerlink__V1__BenchmarkTransport)pl_bench_params_get(r->b)->transport;
  resp.report = &m;
  int rv = pl_rpc_call_send(r->call, &resp.base);
  /* A reader too slow for interval reports misses some; the summary waits for room. */
  if (rv == PL_ERR_FULL && rep->final) {
    pl_rpc_call_discard_queued(r->call);
    rv = pl_rpc_call_send(r->call, &resp.base);
  }
  if (rv != 0 && rv != PL_ERR_FULL)
    pl_log(PL_LOG_DEBUG, "bench_report", "peer=%s error=\"%s\"", r->peer_id, pl_strerror(rv));
}

/* The run is over: the initiator's call gets its status. */
static void finish(pl_bench_run *r) {
  const char *why;
  pl_bench_fail f = pl_bench_failure(r->b, &why);
  pl_log(PL_LOG_INFO, "bench_done", "peer=%s initiator=%d result=%d why=\"%s\"", r->peer_id,
         pl_bench_is_initiator(r->b), (int)f, why);
  if (r->call) {
    switch (f) {
    case PL_BENCH_OK: pl_rpc_call_finish(r->call, PL_RPC_OK, NULL); break;
    case PL_BENCH_FAIL_REFUSED:
      pl_rpc_call_finish(r->call, PL_RPC_FAILED_PRECONDITION, "the peer refused the benchmark: %s",
                         why);
      break;
    case PL_BENCH_FAIL_ABORTED:
      pl_rpc_call_finish(r->call, PL_RPC_ABORTED, "the peer stopped the benchmark: %s", why);
      break;
    case PL_BENCH_FAIL_LOCAL: pl_rpc_call_finish(r->call, PL_RPC_INTERNAL, "%s", why); break;
    default: pl_rpc_call_finish(r->call, PL_RPC_UNAVAILABLE, "%s (peer %s)", why, r->peer_id);
    }
  }
  run_free(r);
}

void pl_bench__service(pl_bench_run *r) {
  uint8_t buf[PL_BENCH_CTRL_MAX];
  size_t len;
  pl_bench_report rep;
  pl_link *l = pl_bench__link(r);
  if (r->freeing)
    return;
  if (l == NULL) {
    if (r->call)
      pl_rpc_call_finish(r->call, PL_RPC_UNAVAILABLE, "the link to %s closed during the benchmark",
                         r->peer_id);
    run_free(r);
    return;
  }
  uint64_t now = pl_clock_now_us();
  /* A refused send is like a lost frame: START, GO, FIN and ABORT are repeated. */
  while (pl_bench_poll(r->b, now, buf, sizeof buf, &len))
    (void)pl_link_send_ext(l, buf, len);
  while (pl_bench_report_next(r->b, now, &rep))
    if (r->call)
      send_report(r, &rep);
  if (pl_bench_get_state(r->b) == PL_BENCH_CLOSED) {
    finish(r);
    return;
  }
  if (pl_bench_sending(r->b) && r->xport)
    r->xport->pump(r, l, now);
  else if (r->was_sending && r->xport && r->xport->finish)
    r->xport->finish(r);
  r->was_sending = pl_bench_sending(r->b);
  uint64_t d = pl_bench_deadline(r->b, now), now2 = pl_clock_now_us();
  if (d < r->hold_until)
    d = r->hold_until;
  /* At least 1 ms: libuv 1.44 runs a 0 ms timer started from its own callback again in the
   * same timers phase, so the loop would never reach I/O. Work due now is the idle pump's. */
  if (d == UINT64_MAX)
    uv_timer_stop(&r->timer);
  else
    uv_timer_start(&r->timer, on_timer, d > now2 + 1000 ? (d - now2 + 999) / 1000 : 1, 0);
}

void pl_bench__poke(pl_bench_run *r) {
  if (!r->freeing)
    uv_timer_start(&r->timer, on_timer, 0, 0);
}

/* From the idle phase the loop polls with no timeout: I/O and gRPC still get their turn every
 * iteration. */
void pl_bench__keep_pumping(pl_bench_run *r, int on) {
  if (on)
    uv_idle_start(&r->idle, on_idle);
  else
    uv_idle_stop(&r->idle);
}

int pl_bench__start(pl_agent *a, pl_rpc_call *call, pl_link *l, const pl_bench_params *p) {
  pl_agent_bench *ab = a->bench;
  pl_bench_ends e;
  pl_bench *b;
  uint64_t session;
  if (ab->n_runs >= PL_BENCH_MAX_RUNS)
    return PL_ERR_FULL;
  if (p->transport != PL_BENCH_XPORT_UDP &&
      pl_bench__find_xport(ab, l->pairing, (pl_bench_xport)p->transport))
    return PL_ERR_STATE;
  if (pl_random_bytes(&session, sizeof session) != 0)
    return PL_ERR_IO;
  if (p->transport == PL_BENCH_XPORT_QUIC)
    pl_bench__quic_attach(ab, 1); /* QUIC comes up after us: take its streams on first use */
  ends_of(a, l, &e);
  int rv = pl_bench_initiate(&b, &e, p, session, pl_clock_now_us(), &hooks);
  if (rv != 0)
    return rv;
  pl_bench_run *r = run_new(ab, l, b);
  if (r == NULL) {
    pl_bench_del(b);
    return PL_ERR_NOMEM;
  }
  r->call = call;
  pl_rpc_call_set_data(call, r);
  pl_log(PL_LOG_INFO, "bench_start", "peer=%s transport=%s reverse=%d chunk=%u rate_bps=%llu",
         r->peer_id, r->xport->name, p->reverse, p->chunk, (unsigned long long)p->rate_bps);
  pl_bench__service(r);
  return 0;
}

void pl_bench__call_done(pl_agent *a, pl_rpc_call *call) {
  pl_bench_run *r = pl_rpc_call_data(call);
  (void)a;
  if (r == NULL)
    return;
  r->call = NULL;
  pl_bench_cancel(r->b, pl_clock_now_us(), "the Benchmark call was cancelled");
  pl_bench__service(r);
}

/* --- frames from peers --------------------------------------------------------------------- */

/* A START from the peer: the responder's side, with no RPC here. */
static void accept_start(pl_agent_bench *ab, pl_link *l, const pl_bench_head *h,
                         const uint8_t *frame, size_t len) {
  pl_bench_limits lim = {.busy = ab->n_runs >= PL_BENCH_MAX_RUNS};
  pl_bench_ends e;
  pl_bench *b;
  for (int x = PL_BENCH_XPORT_UDP; x <= PL_BENCH_XPORT_TCP; x++) {
    const pl_bench_xport_ops *ops = pl_bench__xport((pl_bench_xport)x);
    const char *why = ops ? ops->unavailable(ab->a, l) : "not built into this agent";
    /* A stream carries one benchmark at a time. */
    if (why == NULL && x != PL_BENCH_XPORT_UDP &&
        pl_bench__find_xport(ab, l->pairing, (pl_bench_xport)x))
      why = "a benchmark is running on it already";
    if (why == NULL)
      lim.xports |= 1u << x;
    lim.why_not[x] = why;
  }
  lim.max_chunk = pl_bench__udp.max_chunk(l);
  if (pl_random_bytes(&lim.nonce, sizeof lim.nonce) != 0)
    return;
  ends_of(ab->a, l, &e);
  if (pl_bench_accept(&b, &e, h, frame, len, &lim, pl_clock_now_us(), &hooks) != 0) {
    ab->dropped++;
    return;
  }
  pl_bench_run *r = run_new(ab, l, b);
  if (r == NULL) {
    pl_bench_del(b);
    return;
  }
  if (pl_bench_params_get(b)->transport == PL_BENCH_XPORT_QUIC)
    pl_bench__quic_attach(ab, 1);
  pl_log(PL_LOG_INFO, "bench_accept", "peer=%s transport=%u reverse=%u", r->peer_id,
         pl_bench_params_get(b)->transport, pl_bench_params_get(b)->reverse);
  pl_bench__service(r);
}

static void on_frame(void *arg, pl_link *l, const struct sockaddr *from, const uint8_t *frame,
                     size_t len) {
  pl_agent_bench *ab = arg;
  pl_bench_head h;
  (void)from;
  if (!l->peer_id[0] || pl_bench_peek(frame, len, &h) != 0) {
    ab->dropped++;
    return;
  }
  pl_bench_run *r = find_run(ab, l->pairing, h.session);
  if (r == NULL) {
    if (h.type == PL_FRAME_BENCH_CTRL && h.kind == PL_BENCH_START)
      accept_start(ab, l, &h, frame, len);
    else
      ab->dropped++;
    return;
  }
  if (pl_bench_recv(r->b, &h, frame, len, pl_clock_now_us()) != 0) {
    ab->dropped++;
    return;
  }
  /* DATA changes no deadline that matters now: no service per datagram. */
  if (h.type == PL_FRAME_BENCH_CTRL)
    pl_bench__service(r);
}

uint64_t pl_agent_bench_dropped(const pl_agent *a) {
  return a->bench ? a->bench->dropped : 0;
}

int pl_agent_bench_init(pl_agent *a) {
  pl_agent_bench *ab = calloc(1, sizeof *ab);
  if (ab == NULL)
    return PL_ERR_NOMEM;
  ab->a = a;
  a->bench = ab;
  pl_links_set_ext(&a->links, PL_FRAME_BENCH_CTRL, on_frame, ab);
  pl_links_set_ext(&a->links, PL_FRAME_BENCH_DATA, on_frame, ab);
  pl_bench__tcp_attach(ab, 1);
  return 0;
}

void pl_agent_bench_close(pl_agent *a) {
  pl_agent_bench *ab = a->bench;
  if (ab == NULL)
    return;
  /* Tell each peer now (one ABORT: the loop is stopping), then free. */
  while (ab->runs) {
    pl_bench_run *r = ab->runs;
    uint8_t buf[PL_BENCH_CTRL_MAX];
    size_t len;
    pl_link *l = pl_bench__link(r);
    pl_bench_cancel(r->b, pl_clock_now_us(), "the agent is stopping");
    if (l && pl_bench_poll(r->b, pl_clock_now_us(), buf, sizeof buf, &len))
      (void)pl_link_send_ext(l, buf, len);
    if (r->call)
      pl_rpc_call_finish(r->call, PL_RPC_UNAVAILABLE, "the agent is stopping");
    run_free(r);
  }
  pl_links_set_ext(&a->links, PL_FRAME_BENCH_CTRL, NULL, NULL);
  pl_links_set_ext(&a->links, PL_FRAME_BENCH_DATA, NULL, NULL);
  pl_bench__tcp_attach(ab, 0);
  pl_bench__quic_attach(ab, 0);
  a->bench = NULL;
  free(ab); /* the runs' close callbacks do not need it */
}
