#ifndef PEERLINK_AGENT_BENCH_WIRE_H
#define PEERLINK_AGENT_BENCH_WIRE_H

/* The benchmark's frames between two agents, I/O-free: BENCH_CTRL (0x27: start, answers,
 * progress, end, abort) and BENCH_DATA (0x26: the UDP blast). docs/protocol.md ("The
 * benchmark") has the layout and the exchange; this header is the contract.
 *
 *   0  type        0x26 / 0x27
 *   1  version     1
 *   2  pairing     8 bytes (an extension frame's prefix: agent/wire/frame.h)
 *   10 session     8 bytes, chosen at random by the agent that starts the benchmark
 *   18 seq         8 bytes: the sender's number for this frame, per session, kind and direction
 *   26 CTRL only:  kind (1), and for START_ACK the answering side's nonce (8)
 *   .. body        sealed (AES-256-GCM, agent/wire/seal.h) with everything before it as AAD
 *   .. tag         16 bytes
 *
 * Keys, all HKDF-SHA256 from the pairing's frame key (pl_punch_frame_key) with the salt
 * "peerlink bench v1" || pairing || session: START under a start key (info "start" || sender ID
 * || receiver ID); everything else under session keys that also mix in the answering side's
 * nonce from START_ACK (info "ctrl" or "data" || sender ID || receiver ID), so a replayed START
 * can never make the answering side seal under keys and numbers it used before. CTRL and DATA
 * keys differ, so DATA numbers run without gaps (loss counting) while CTRL frames interleave. */

#include <stddef.h>
#include <stdint.h>

#include "agent/wire/frame.h"
#include "agent/wire/seal.h"

#define PL_BENCH_HEADER 26 /* type .. seq */
#define PL_BENCH_TAG PL_SEAL_TAG_LEN
#define PL_BENCH_DATA_BODY 8 /* send time; the rest of the chunk is filler */
#define PL_BENCH_DATA_MIN (PL_BENCH_HEADER + PL_BENCH_DATA_BODY + PL_BENCH_TAG) /* 50 */
#define PL_BENCH_REASON_MAX 200
#define PL_BENCH_CTRL_MAX 320 /* the largest CTRL frame */

typedef enum {
  PL_BENCH_START = 1,     /* initiator → responder: the parameters */
  PL_BENCH_START_ACK = 2, /* responder → initiator: accepted (status 0) or refused, why */
  PL_BENCH_GO = 3,        /* initiator → responder (reverse): handshake done, start sending */
  PL_BENCH_PROGRESS = 4,  /* either way, every interval: the sender's own cumulative counts */
  PL_BENCH_FIN = 5,       /* data sender → receiver: done; its totals */
  PL_BENCH_RESULT = 6,    /* receiver → data sender: its totals, answering FIN */
  PL_BENCH_ABORT = 7,     /* either way: stop now, why */
} pl_bench_kind;

typedef enum {
  PL_BENCH_XPORT_UDP = 1,
  PL_BENCH_XPORT_QUIC = 2,
  PL_BENCH_XPORT_TCP = 3,
} pl_bench_xport;

typedef struct pl_bench_params {
  uint8_t transport; /* pl_bench_xport */
  uint8_t reverse;   /* the responder sends */
  uint32_t chunk;    /* datagram (UDP: the whole frame) or chunk size in bytes */
  uint64_t rate_bps; /* 0: as fast as the path takes */
  uint32_t duration_ms;
  uint64_t bytes; /* 0: duration only */
  uint32_t interval_ms;
} pl_bench_params;

/* One side's cumulative numbers. A data sender fills elapsed, bytes, packets and cpu. */
typedef struct pl_bench_counts {
  uint64_t elapsed_us; /* sender: since it started; receiver: first to last datagram */
  uint64_t bytes, packets;
  uint64_t lost, out_of_order; /* receiver, UDP */
  uint64_t jitter_ns;          /* receiver, UDP: RFC 3550 interarrival jitter */
  uint64_t cpu_us;             /* the agent's CPU time during the run */
} pl_bench_counts;

/* A CTRL message in the clear. */
typedef struct pl_bench_msg {
  uint8_t kind;
  uint64_t nonce;                       /* START_ACK */
  pl_bench_params params;               /* START */
  uint8_t status;                       /* START_ACK: 0 accepted, else a pl_bench_refusal */
  char reason[PL_BENCH_REASON_MAX + 1]; /* START_ACK refused, ABORT */
  pl_bench_counts counts;               /* PROGRESS, FIN, RESULT */
} pl_bench_msg;

typedef enum {
  PL_BENCH_REFUSE_PARAMS = 1, /* parameters the responder does not take */
  PL_BENCH_REFUSE_BUSY = 2,   /* too many benchmarks at once */
  PL_BENCH_REFUSE_XPORT = 3,  /* the transport is not available there */
} pl_bench_refusal;

/* The peer's frame: type, session, seq and (CTRL) kind, without authenticating. */
typedef struct pl_bench_head {
  uint8_t type;
  uint64_t session, seq;
  uint8_t kind;   /* CTRL */
  uint64_t nonce; /* START_ACK */
} pl_bench_head;

/* Key material of one session on one side. */
typedef struct pl_bench_keys {
  pl_seal_keys *start; /* initiator: send; responder: receive */
  pl_seal_keys *ctrl, *data;
} pl_bench_keys;

/* Who is talking: the pairing, both IDs, and the pairing's frame key (32 bytes, borrowed). */
typedef struct pl_bench_ends {
  uint8_t pairing[PL_FRAME_PAIRING_LEN];
  uint8_t self[PL_FRAME_ID_LEN], peer[PL_FRAME_ID_LEN];
  const uint8_t *frame_key;
} pl_bench_ends;

/* Reads the header (and the CTRL kind and START_ACK nonce). Returns 0 or PL_ERR_PARSE
 * (truncated, another type or version). */
int pl_bench_peek(const uint8_t *frame, size_t len, pl_bench_head *h);

/* The START key (both sides derive the same pair). Returns 0, PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_bench_keys_start(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session);
/* The session keys once the responder's nonce (START_ACK) is known. Same codes. */
int pl_bench_keys_session(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session,
                          uint64_t nonce);
void pl_bench_keys_free(pl_bench_keys *k);

/* Seals `m` as a CTRL frame with number `seq` (START under k->start, the rest under k->ctrl).
 * Returns 0, PL_ERR_TOO_BIG (cap under PL_BENCH_CTRL_MAX), PL_ERR_STATE (no such key yet, or
 * seq not above the last one), PL_ERR_INVALID (unknown kind), PL_ERR_CRYPTO. */
int pl_bench_ctrl_encode(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session, uint64_t seq,
                         const pl_bench_msg *m, uint8_t *buf, size_t cap, size_t *plen);
/* Opens and parses a CTRL frame whose header `h` was peeked. Returns 0, PL_ERR_AUTH (does not
 * open under our key: forged, changed, another session's), PL_ERR_STATE (no key for it yet),
 * PL_ERR_PARSE (opens but the body is malformed). */
int pl_bench_ctrl_decode(pl_bench_keys *k, const pl_bench_head *h, const uint8_t *frame, size_t len,
                         pl_bench_msg *m);

/* Seals one DATA frame of `len` bytes (PL_BENCH_DATA_MIN..) at buf with number seq and the
 * send time. Returns 0, PL_ERR_INVALID, PL_ERR_STATE, PL_ERR_CRYPTO. */
int pl_bench_data_encode(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session, uint64_t seq,
                         uint64_t send_us, uint8_t *buf, size_t len);
/* Opens a DATA frame into scratch (cap ≥ len) and returns its send time. Returns 0,
 * PL_ERR_AUTH, PL_ERR_PARSE (too short), PL_ERR_STATE. */
int pl_bench_data_decode(pl_bench_keys *k, const pl_bench_head *h, const uint8_t *frame, size_t len,
                         uint8_t *scratch, size_t cap, uint64_t *psend_us);

#endif
