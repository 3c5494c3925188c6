#ifndef PEERLINK_RENDEZVOUS_RELAY_H
#define PEERLINK_RENDEZVOUS_RELAY_H

/* The rendezvous relay's decisions, I/O-free: a datagram (from UDP, or a RelayDatagram from a
 * Register stream) goes in, what to do with it comes out. The libuv and gRPC glue carries the
 * decision out.
 *
 * - RELAY_BIND (UDP only), authenticated under the pairing's relay key and fresh (replay window
 *   per side), records the sender's UDP address for its pairing and is answered with
 *   RELAY_BIND_ACK carrying the address observed.
 * - RELAY_DATA from a side that has bound (or over its own Register stream), authenticated and
 *   fresh, is forwarded unchanged: to the other side's bound UDP address, else over the other
 *   side's Register stream.
 * Everything else is dropped, counted by reason, and never acted on. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "control/rendezvous/pairing.h"

typedef enum {
  PL_RDV_RELAY_DROP = 0,
  PL_RDV_RELAY_REPLY,     /* send out[0..len) back to `from` on the socket it came in on */
  PL_RDV_RELAY_TO_UDP,    /* send the datagram unchanged to `to` on the relay socket */
  PL_RDV_RELAY_TO_STREAM, /* send RegisterResponse.relay{pairing_id, datagram} on member's stream */
} pl_rdv_relay_action;

/* Why a datagram was dropped. Keep pl_rdv_relay_drop_name in step. */
typedef enum {
  PL_RDV_RELAY_DROP_NONE = 0,
  PL_RDV_RELAY_DROP_NOT_OURS,        /* neither STUN nor a peerlink frame */
  PL_RDV_RELAY_DROP_STUN,            /* STUN, but not a Binding request we answer */
  PL_RDV_RELAY_DROP_PARSE,           /* a frame that does not parse */
  PL_RDV_RELAY_DROP_TYPE,            /* a frame type the relay does not take (on this path) */
  PL_RDV_RELAY_DROP_UNKNOWN_PAIRING, /* no such pairing (ended, or never was) */
  PL_RDV_RELAY_DROP_AUTH,            /* MAC mismatch */
  PL_RDV_RELAY_DROP_NOT_MEMBER, /* sender is not a side of the pairing (or not this stream's) */
  PL_RDV_RELAY_DROP_REPLAY,     /* sequence number seen before or too old */
  PL_RDV_RELAY_DROP_UNBOUND,    /* RELAY_DATA over UDP from a side that never bound */
  PL_RDV_RELAY_DROP_PEER_GONE,  /* the other side has neither a binding nor a stream */
  PL_RDV_RELAY_DROP_BACKLOG,    /* the other side's stream has too many queued messages */
  PL_RDV_RELAY_DROP_SEND,       /* the socket refused it (buffer full, unreachable) */
  PL_RDV_RELAY_DROP_COUNT
} pl_rdv_relay_drop;

/* "not_ours", "stun", "parse", ... for log lines. */
const char *pl_rdv_relay_drop_name(pl_rdv_relay_drop reason);

typedef struct pl_rdv_relay_stats {
  uint64_t stun_answered;
  uint64_t binds;            /* RELAY_BIND accepted (and answered) */
  uint64_t forwarded_udp;    /* RELAY_DATA sent on over UDP */
  uint64_t forwarded_stream; /* RELAY_DATA sent on over a Register stream */
  uint64_t dropped[PL_RDV_RELAY_DROP_COUNT];
} pl_rdv_relay_stats;

typedef struct pl_rdv_relay_out {
  pl_rdv_relay_action action;
  pl_rdv_relay_drop reason; /* DROP */
  const uint8_t *data;      /* REPLY: into the caller's buffer; TO_*: the input datagram */
  size_t len;
  struct sockaddr_storage to;    /* TO_UDP */
  pl_rdv_pairing_member *member; /* TO_STREAM: the receiving side */
  const pl_rdv_pairing *pairing; /* TO_*, REPLY: the pairing (id_hex for RelayDatagram) */
} pl_rdv_relay_out;

/* A peerlink frame that arrived over UDP from `from`. `buf` (cap ≥ PL_FRAME_MAX_LEN) receives a
 * reply. Always returns 0; the decision is in *out. Does not count: the caller calls
 * pl_rdv_relay_count once the decision is carried out (or failed). */
int pl_rdv_relay_recv_udp(pl_rdv_pairings *t, const struct sockaddr *from, const uint8_t *data,
                          size_t len, uint8_t *buf, size_t cap, pl_rdv_relay_out *out);

/* A RegisterRequest.relay from the agent `m` (its own Register stream): the frame must be a
 * RELAY_DATA of pairing `pairing_id_hex` that m belongs to, sent by m. */
int pl_rdv_relay_recv_stream(pl_rdv_pairings *t, pl_rdv_pairing_member *m,
                             const char *pairing_id_hex, const uint8_t *data, size_t len,
                             pl_rdv_relay_out *out);

/* Makes `out` a drop for `reason` (the glue's own reasons: NOT_OURS, STUN, BACKLOG, SEND). */
void pl_rdv_relay_drop_as(pl_rdv_relay_out *out, pl_rdv_relay_drop reason);

/* Adds the outcome to the counters. */
void pl_rdv_relay_count(pl_rdv_relay_stats *s, const pl_rdv_relay_out *out);

/* "stun=3 binds=1 fwd_udp=10 fwd_stream=0 drop_auth=2 ..." (zero drop counters left out). */
void pl_rdv_relay_stats_format(const pl_rdv_relay_stats *s, char *buf, size_t cap);

#endif
