#ifndef PEERLINK_AGENT_BENCH_H
#define PEERLINK_AGENT_BENCH_H

/* One benchmark between two agents, on either side, I/O-free (ngtcp2 shape): frames and `now`
 * go in (pl_bench_recv), CTRL frames come out of pl_bench_poll and DATA frames out of
 * pl_bench_fill, the glue re-arms its timer from pl_bench_deadline, and the side that started
 * it (the initiator, whose caller streams the reports) takes interval and final reports from
 * pl_bench_report. Times are microseconds on a monotonic clock.
 *
 * The initiator sends START (retransmitted with backoff); the responder answers START_ACK,
 * accepted or refused with a reason. The data sender is the initiator, or the responder when
 * `reverse` (it waits for GO, so a replayed START makes it send nothing). Both sides send
 * PROGRESS (their own cumulative counts) every interval; that is also how each knows the other
 * is alive. When the duration or byte bound is reached the sender sends FIN with its totals
 * (retransmitted until RESULT); the receiver answers RESULT with its own: bytes, datagrams,
 * loss (datagrams the sender sent that it never counted), out-of-order, jitter, CPU time. Each
 * datagram is counted at most once, so bytes received never exceed bytes sent. ABORT (either
 * way, sent three times) stops the other side at once; a side that hears nothing for the
 * silence timeout gives up. A finished side lingers briefly to answer a repeated FIN or START.
 *
 * The transport plugs in below the same control exchange: UDP here (BENCH_DATA frames, loss
 * and jitter); a stream transport (QUIC, TCP) moves its bytes itself and reports them with
 * pl_bench_stream_sent / pl_bench_stream_received. */

#include <stddef.h>
#include <stdint.h>

#include "agent/bench/bench_wire.h"

#define PL_BENCH_RTO_US 200000      /* first retransmission of START, GO, FIN */
#define PL_BENCH_RTO_MAX_US 1000000 /* backing off to this */
#define PL_BENCH_TRIES 8            /* then the peer is not answering (~5 s) */
#define PL_BENCH_ABORT_TRIES 3      /* ABORT is sent this many times, 200 ms apart */
#define PL_BENCH_SILENCE_US 5000000 /* at least; 4 intervals when longer */
#define PL_BENCH_LINGER_US 3000000  /* a finished side answers repeats this long */
#define PL_BENCH_BURST_US 10000     /* a rate-limited sender may catch up this much at once */
#define PL_BENCH_WINDOW 1024        /* datagrams: reordering beyond this counts as lost */

typedef enum {
  PL_BENCH_STARTING = 0, /* initiator: START sent */
  PL_BENCH_WAITING,      /* responder, reverse: accepted, waiting for GO */
  PL_BENCH_RUNNING,      /* data flowing */
  PL_BENCH_FINISHING,    /* data sender: FIN sent, waiting for RESULT */
  PL_BENCH_LINGER,       /* done: answering repeats for a while */
  PL_BENCH_ABORTING,     /* cancelled: sending ABORT */
  PL_BENCH_CLOSED,       /* nothing more to do: free it */
} pl_bench_state;

typedef enum {
  PL_BENCH_OK = 0,
  PL_BENCH_FAIL_REFUSED,   /* START_ACK refused (reason from the peer) */
  PL_BENCH_FAIL_NO_ANSWER, /* START or FIN never answered */
  PL_BENCH_FAIL_SILENT,    /* the peer went quiet mid-run */
  PL_BENCH_FAIL_ABORTED,   /* the peer sent ABORT (reason from the peer) */
  PL_BENCH_FAIL_CANCELLED, /* pl_bench_cancel */
  PL_BENCH_FAIL_LOCAL,     /* sealing failed here (crypto) */
} pl_bench_fail;

/* What the glue provides. */
typedef struct pl_bench_hooks {
  uint64_t (*cpu_us)(void *arg); /* this process's CPU time so far (getrusage) */
  void *arg;
} pl_bench_hooks;

/* An interval report, or the summary (final). Interval figures are for that interval. */
typedef struct pl_bench_report {
  int final;
  uint64_t elapsed_ms;
  uint64_t bytes_sent, bytes_received, packets_sent, packets_received, lost, out_of_order;
  double jitter_us, sender_bps, receiver_bps;
  double sender_cpu_seconds, receiver_cpu_seconds; /* final only */
} pl_bench_report;

typedef struct pl_bench_stats {
  uint64_t dropped_auth;  /* frames that did not open: forged, changed, another session's */
  uint64_t dropped_parse; /* malformed */
  uint64_t duplicates;    /* CTRL replays and DATA seen before */
  uint64_t late;          /* DATA older than the window (counted as lost) */
} pl_bench_stats;

typedef struct pl_bench pl_bench;

/* The initiator's side: queues START. `session` must be random (pl_random_bytes). Returns 0,
 * PL_ERR_INVALID (chunk under PL_BENCH_DATA_MIN for UDP, interval 0, no bound at all),
 * PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_bench_initiate(pl_bench **pb, const pl_bench_ends *e, const pl_bench_params *p,
                      uint64_t session, uint64_t now, const pl_bench_hooks *hooks);

/* What a responder takes. */
typedef struct pl_bench_limits {
  uint16_t max_chunk; /* UDP: the largest frame the path carries */
  unsigned xports;    /* bit (1 << pl_bench_xport) per transport available */
  const char *why_not[PL_BENCH_XPORT_TCP + 1]; /* by transport: why it is not (may be NULL) */
  int busy;                                    /* refuse: too many benchmarks running */
  uint64_t nonce;                              /* random: mixed into the session keys */
} pl_bench_limits;

/* The responder's side, from a START frame (peeked into h) from the peer: opens it, checks the
 * parameters against `lim` and queues START_ACK (accepted, or refused with a reason: the
 * session then only lingers to repeat the refusal). Returns 0, PL_ERR_AUTH / PL_ERR_PARSE
 * (not a START that opens: nothing is created), PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_bench_accept(pl_bench **pb, const pl_bench_ends *e, const pl_bench_head *h,
                    const uint8_t *frame, size_t len, const pl_bench_limits *lim, uint64_t now,
                    const pl_bench_hooks *hooks);

/* A frame of this session from the peer. Returns 0 (taken, or a harmless duplicate),
 * PL_ERR_AUTH / PL_ERR_PARSE (dropped and counted). */
int pl_bench_recv(pl_bench *b, const pl_bench_head *h, const uint8_t *frame, size_t len,
                  uint64_t now);

/* The next CTRL frame to send now: 1 with buf/plen filled (cap ≥ PL_BENCH_CTRL_MAX), 0 when
 * nothing is due. Call until it returns 0. */
int pl_bench_poll(pl_bench *b, uint64_t now, uint8_t *buf, size_t cap, size_t *plen);

/* DATA frames (UDP sender, running): as many chunk-sized frames as fit in cap and the rate
 * allows, back to back in buf. Returns how many (*plen = that times the chunk size); 0 when
 * none are due now (see pl_bench_deadline). */
size_t pl_bench_fill(pl_bench *b, uint64_t now, uint8_t *buf, size_t cap, size_t *plen);

/* Stream transports: `n` bytes in `chunks` chunks were written (taken by the stream) /
 * received now. A stream receiver answers FIN once it has every byte the sender counted (the
 * rest was still in flight), or, when they stop coming, after the silence timeout with what it
 * has. */
void pl_bench_stream_sent(pl_bench *b, uint64_t n, uint64_t chunks, uint64_t now);
/* How many more bytes a stream sender may write now: 0 when it is not sending, the rest of the
 * byte bound, or UINT64_MAX with a duration only. */
uint64_t pl_bench_stream_room(const pl_bench *b);
void pl_bench_stream_received(pl_bench *b, uint64_t n, uint64_t chunks, uint64_t now);

/* When something is next due (retransmission, PROGRESS, a report, the end, rate credit, the
 * silence or linger timeout); UINT64_MAX when closed. A running unlimited sender is always due:
 * the glue keeps filling while it can send. */
uint64_t pl_bench_deadline(const pl_bench *b, uint64_t now);

/* Initiator: 1 with *r filled when an interval report or (once) the summary is due, else 0. */
int pl_bench_report_next(pl_bench *b, uint64_t now, pl_bench_report *r);

/* Stops: queues ABORT (sent PL_BENCH_ABORT_TRIES times), then CLOSED. */
void pl_bench_cancel(pl_bench *b, uint64_t now, const char *reason);

pl_bench_state pl_bench_get_state(const pl_bench *b);
/* Why it failed (PL_BENCH_OK while it has not); *reason (may be NULL) gets the detail. */
pl_bench_fail pl_bench_failure(const pl_bench *b, const char **reason);
/* 1 when this side sends the data and the run is on (the glue keeps pl_bench_fill going). */
int pl_bench_sending(const pl_bench *b);
uint64_t pl_bench_session(const pl_bench *b);
int pl_bench_is_initiator(const pl_bench *b);
const pl_bench_params *pl_bench_params_get(const pl_bench *b);
void pl_bench_stats_get(const pl_bench *b, pl_bench_stats *s);

void pl_bench_del(pl_bench *b);

#endif
