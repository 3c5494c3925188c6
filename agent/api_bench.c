/* peerlink.v1.Agent/Benchmark: checks the request, then runs the benchmark with the peer's
 * agent (which takes part on its own: agent/bench_glue.c). Interval reports and the summary
 * stream back; cancelling the call stops both sides. */
#include <string.h>

#include "agent/bench_glue.h"
#include "control/common/err.h"
#include "control/common/hex.h"

#define DEFAULT_DURATION_MS 10000 /* iperf3's default too */
#define DEFAULT_INTERVAL_MS 1000
#define MAX_DURATION_MS 3600000
#define MIN_INTERVAL_MS 10
#define MAX_INTERVAL_MS 60000
#define MAX_STREAM_CHUNK (1u << 20)
/* Measured best for the TCP path (docs/performance.md). */
#define DEFAULT_STREAM_CHUNK (256u << 10)

static const char *xport_name(Peerlink__V1__BenchmarkTransport t) {
  switch (t) {
  case PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_QUIC: return "QUIC";
  case PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_TCP: return "TCP";
  default: return "UDP";
  }
}

/* The request's sizes and bounds; 0 or -1 with the call finished (INVALID_ARGUMENT naming the
 * field). */
static int check_sizes(pl_rpc_call *call, const Peerlink__V1__BenchmarkRequest *req,
                       pl_bench_params *p, uint32_t max_chunk, uint32_t default_chunk) {
  if (req->duration_ms > MAX_DURATION_MS) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "duration_ms: at most %d (an hour)",
                       MAX_DURATION_MS);
    return -1;
  }
  if (req->interval_ms != 0 &&
      (req->interval_ms < MIN_INTERVAL_MS || req->interval_ms > MAX_INTERVAL_MS)) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "interval_ms: %d to %d (0: %d)",
                       MIN_INTERVAL_MS, MAX_INTERVAL_MS, DEFAULT_INTERVAL_MS);
    return -1;
  }
  uint32_t chunk = req->chunk_size ? req->chunk_size : default_chunk;
  /* A stream is written in chunks: datagram-sized ones would only measure the call overhead. */
  if (req->chunk_size == 0 && p->transport != PL_BENCH_XPORT_UDP && chunk < DEFAULT_STREAM_CHUNK)
    chunk = DEFAULT_STREAM_CHUNK;
  if (chunk > max_chunk)
    chunk = req->chunk_size ? chunk : max_chunk; /* the default adapts to the path */
  if (chunk < PL_BENCH_DATA_MIN || chunk > max_chunk) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "chunk_size: %u bytes does not fit: %s on this path takes %d to %u", chunk,
                       xport_name(req->transport), PL_BENCH_DATA_MIN, max_chunk);
    return -1;
  }
  p->chunk = chunk;
  p->rate_bps = req->rate_bps;
  p->bytes = req->bytes;
  p->duration_ms = req->duration_ms;
  if (p->duration_ms == 0 && p->bytes == 0)
    p->duration_ms = DEFAULT_DURATION_MS;
  p->interval_ms = req->interval_ms ? req->interval_ms : DEFAULT_INTERVAL_MS;
  p->reverse = req->reverse ? 1 : 0;
  return 0;
}

void pl_api_benchmark(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  const Peerlink__V1__BenchmarkRequest *req = (const Peerlink__V1__BenchmarkRequest *)msg;
  uint8_t raw[PL_FRAME_ID_LEN];
  pl_bench_params p = {0};
  if (a->bench == NULL) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  if (req->peer_id == NULL || *req->peer_id == '\0') {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "peer_id: required");
    return;
  }
  if (pl_hex_decode(raw, sizeof raw, req->peer_id) != 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "peer_id: 32 hex characters expected");
    return;
  }
  p.transport = req->transport == PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_UNSPECIFIED
                    ? PL_BENCH_XPORT_UDP
                    : (uint8_t)req->transport;
  const pl_bench_xport_ops *ops = pl_bench__xport((pl_bench_xport)p.transport);
  if (p.transport > PL_BENCH_XPORT_TCP) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "transport: unknown value %d",
                       (int)req->transport);
    return;
  }
  if (ops == NULL) {
    pl_rpc_call_finish(call, PL_RPC_UNIMPLEMENTED,
                       "transport: the %s benchmark is not built into this agent yet (it needs "
                       "the %s); BENCHMARK_TRANSPORT_UDP works",
                       xport_name(req->transport),
                       p.transport == PL_BENCH_XPORT_QUIC ? "QUIC tunnel's streams"
                                                          : "punched TCP connection");
    return;
  }
  pl_link *l = pl_links_find_peer(&a->links, req->peer_id);
  if (l == NULL) {
    pl_rpc_call_finish(call, PL_RPC_NOT_FOUND, "peer_id: not connected to %s (call Connect)",
                       req->peer_id);
    return;
  }
  const char *why = ops->unavailable(a, l);
  if (why) {
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "cannot benchmark %s with %s: %s",
                       xport_name(req->transport), req->peer_id, why);
    return;
  }
  uint32_t max_chunk = ops->max_chunk(l);
  if (max_chunk > MAX_STREAM_CHUNK)
    max_chunk = MAX_STREAM_CHUNK;
  if (check_sizes(call, req, &p, max_chunk, a->bench_chunk) != 0)
    return;
  int rv = pl_bench__start(a, call, l, &p);
  if (rv == PL_ERR_STATE)
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION,
                       "a %s benchmark with %s is running already (one at a time per link)",
                       xport_name(req->transport), req->peer_id);
  else if (rv == PL_ERR_FULL)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "%d benchmarks are running in this agent already (its limit)",
                       PL_BENCH_MAX_RUNS);
  else if (rv != 0)
    pl_rpc_call_finish(call, PL_RPC_INTERNAL, "cannot start the benchmark: %s", pl_strerror(rv));
}

void pl_api_benchmark_done(pl_rpc_call *call, int cancelled, void *data) {
  (void)cancelled;
  pl_bench__call_done(data, call);
}
