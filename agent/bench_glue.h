#ifndef PEERLINK_AGENT_BENCH_GLUE_H
#define PEERLINK_AGENT_BENCH_GLUE_H

/* The benchmarks running in this agent (both roles), between agent/bench's I/O-free sessions
 * and the agent: a libuv timer per run from pl_bench_deadline, CTRL frames through the link,
 * the initiator's reports on its Benchmark call. How the data moves is the transport's part,
 * behind pl_bench_xport_ops: bench_udp.c (BENCH_DATA frames on the UDP socket, batched),
 * bench_quic.c (a BENCH stream on the link's QUIC connection) and bench_tcp.c (BULK records on
 * the punched TCP connection). Internal to bench_glue.c, the
 * transports' files and api_bench.c. */

#include <stdint.h>
#include <uv.h>

#include "agent/agent.h"
#include "agent/bench/bench.h"

#define PL_BENCH_MAX_RUNS 8 /* both roles together: more START gets "busy" */
#define PL_BENCH_SLOTS 64   /* UDP frames sealed per batch */

typedef struct pl_bench_run pl_bench_run;

/* One transport's data path. */
typedef struct pl_bench_xport_ops {
  const char *name;
  /* NULL when `l` can carry this transport now, else why not (for FAILED_PRECONDITION). */
  const char *(*unavailable)(pl_agent *a, const pl_link *l);
  /* The largest chunk on `l` (UDP: a frame that fits the path). */
  uint32_t (*max_chunk)(const pl_link *l);
  /* Moves data while the run sends; called from the loop (timer, idle, writable). */
  void (*pump)(pl_bench_run *r, pl_link *l, uint64_t now);
  /* The run ends: release what the transport holds for it. */
  void (*stop)(pl_bench_run *r);
  /* This side stopped sending (FIN is on its way): end the stream after its data. Optional. */
  void (*finish)(pl_bench_run *r);
} pl_bench_xport_ops;

struct pl_bench_run {
  struct pl_agent_bench *ab;
  pl_bench *b;
  const pl_bench_xport_ops *xport;
  uint8_t pairing[PL_FRAME_PAIRING_LEN];
  char peer_id[PL_LINK_PEER_HEX + 1];
  uv_timer_t timer;
  uv_idle_t idle;    /* keeps the pump going while the sender can send */
  pl_rpc_call *call; /* the initiator's Benchmark call; NULL once it is over */
  int freeing;
  int handles; /* timer and idle, until closed */
  /* UDP: sealed frames not sent yet (the socket was full). */
  uint8_t *buf;
  size_t pend_off, pend_len, stride;
  struct sockaddr_storage dst;
  int via_tcp;
  uint64_t hold_until; /* the data waits for room until then (the timer does not spin) */
  int was_sending;     /* for xport->finish */
  /* QUIC: the BENCH stream (-1: none), its bytes so far, and whether it has ended. */
  int64_t sid;
  uint64_t stream_bytes;
  int stream_done;
  pl_bench_run *next;
};

typedef struct pl_agent_bench {
  pl_agent *a;
  pl_bench_run *runs;
  size_t n_runs;
  uint64_t dropped; /* benchmark frames for no run here, or that did not open */
} pl_agent_bench;

extern const pl_bench_xport_ops pl_bench__udp;
extern const pl_bench_xport_ops pl_bench__tcp;
extern const pl_bench_xport_ops pl_bench__quic;

/* bench_quic.c: takes (on) or gives back the BENCH streams peers open. */
void pl_bench__quic_attach(pl_agent_bench *ab, int on);

/* bench_tcp.c: takes (on) or gives back the TCP node's bulk handler. */
void pl_bench__tcp_attach(pl_agent_bench *ab, int on);

/* The run on this pairing that uses stream transport x (one at a time per link), or NULL. */
pl_bench_run *pl_bench__find_xport(pl_agent_bench *ab, const uint8_t *pairing, pl_bench_xport x);

/* The transport's ops, or NULL when it is unknown here. */
const pl_bench_xport_ops *pl_bench__xport(pl_bench_xport x);

/* Starts an initiator run on `l` for `call` (the caller checked the request). Returns 0,
 * PL_ERR_FULL (PL_BENCH_MAX_RUNS running), PL_ERR_STATE (a stream benchmark on this link is
 * running already), PL_ERR_NOMEM, PL_ERR_CRYPTO, PL_ERR_IO (no random session ID). */
int pl_bench__start(pl_agent *a, pl_rpc_call *call, pl_link *l, const pl_bench_params *p);

/* The call is over (finished, or cancelled by its client): the run stops (ABORT to the peer)
 * and forgets it. */
void pl_bench__call_done(pl_agent *a, pl_rpc_call *call);

/* Runs what is due: CTRL frames, reports, the pump, the end; re-arms the timer. May free r. */
void pl_bench__service(pl_bench_run *r);

/* Keeps the pump running from the loop's idle phase (on) or lets the timer decide (off). */
void pl_bench__keep_pumping(pl_bench_run *r, int on);
/* Something changed outside the run's own calls (a stream's data finished it): service it from
 * the loop soon. */
void pl_bench__poke(pl_bench_run *r);

/* The run's link, or NULL when it has gone. */
pl_link *pl_bench__link(const pl_bench_run *r);

#endif
