#ifndef PEERLINK_AGENT_BENCH_IMPL_H
#define PEERLINK_AGENT_BENCH_IMPL_H

/* Internal to the bench module (bench.c: the control exchange; bench_data.c: data, counts,
 * reports). Not for other modules. */

#include "agent/bench/bench.h"
#include "agent/wire/frame.h"

#define PL_BENCH__WORDS (PL_BENCH_WINDOW / 64)

/* The receiver's view of the datagrams. */
typedef struct pl_bench__rx {
  uint64_t max_seq; /* highest seen; 0 before any */
  uint64_t seen[PL_BENCH__WORDS];
  uint64_t bytes, packets, lost, ooo;
  uint64_t first_us, last_us;
  int64_t last_transit;
  double jitter_us;
} pl_bench__rx;

struct pl_bench {
  pl_bench_ends ends;
  uint8_t frame_key[32];
  uint64_t session, nonce;
  int initiator, sender;
  pl_bench_params p;
  pl_bench_keys keys;
  pl_bench_hooks hooks;
  pl_bench_state state;
  pl_bench_fail fail;
  char reason[PL_BENCH_REASON_MAX + 1];
  pl_bench_stats stats;

  uint64_t start_seq, ctrl_seq, data_seq; /* the last numbers we used */
  pl_replay start_replay, ctrl_replay;    /* the peer's START and other CTRL numbers */
  uint64_t progress_seq;                  /* of the newest PROGRESS taken */

  /* The one message retransmitted until answered (START, GO, FIN, ABORT). */
  pl_bench_msg retx;
  int has_retx;
  uint64_t retx_at, rto;
  int tries;
  /* One-shot answers (START_ACK, RESULT) and PROGRESS, sent at the next poll. */
  int send_ack, send_result, send_progress;
  uint8_t ack_status;
  char ack_reason[PL_BENCH_REASON_MAX + 1];

  uint64_t last_heard, silence_us;
  uint64_t progress_at, report_at, linger_until;
  uint64_t run_start, end_at, cpu_start;

  /* Sender. */
  uint64_t sent_bytes, sent_packets;
  uint64_t tokens, tok_at; /* the rate's token bucket (bytes, when last filled) */
  /* Receiver. */
  pl_bench__rx rx;
  /* The peer's latest PROGRESS, and its totals (FIN or RESULT). */
  pl_bench_counts peer, peer_final;
  int have_peer_final;
  pl_bench_counts my_final; /* RESULT we sent (answering a repeated FIN) */
  int have_my_final;
  int fin_waiting; /* stream receiver: FIN came before all its bytes */
  uint64_t fin_at;

  /* What the last report covered (cumulative). */
  uint64_t rep_sent_bytes, rep_sent_packets, rep_recv_bytes, rep_recv_packets, rep_lost, rep_ooo;
  uint64_t rep_at;
  int final_ready, final_taken;
};

/* bench_data.c */
void pl_bench__rx_datagram(pl_bench *b, uint64_t seq, size_t len, uint64_t send_us, uint64_t now);
/* This side's cumulative counts now (sender: what left; receiver: what arrived). */
void pl_bench__my_counts(const pl_bench *b, uint64_t now, pl_bench_counts *c);
/* The run is over on the sending side: queue FIN. */
void pl_bench__finish_sending(pl_bench *b, uint64_t now);
uint64_t pl_bench__rate_deadline(const pl_bench *b, uint64_t now);
/* The receiver's totals are final (FIN came, and every byte for a stream): queue RESULT. */
void pl_bench__receiver_done(pl_bench *b, uint64_t now);
/* Sender totals and receiver totals, whichever side we are. */
void pl_bench__final_report(const pl_bench *b, pl_bench_report *r);

#endif
