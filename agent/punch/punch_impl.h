#ifndef PEERLINK_WIRE_PUNCH_IMPL_H
#define PEERLINK_WIRE_PUNCH_IMPL_H

/* Internal to the punch module (punch.c: frames in; punch_sched.c: timers and frames out;
 * punch_path.c: candidates, selection, description). Not for other modules. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent/punch/punch.h"
#include "agent/wire/frame.h"
#include "agent/wire/seal.h"

#define PL_PUNCH__MAX_PRFLX 8
#define PL_PUNCH__MAX_DIRECT (PL_PUNCH_MAX_CANDIDATES + PL_PUNCH__MAX_PRFLX)
#define PL_PUNCH__REL PL_PUNCH__MAX_DIRECT /* index of the relay in cands[] */
#define PL_PUNCH__QUEUE 128                /* datagrams waiting for pl_punch_poll */
#define PL_PUNCH__SENT 64                  /* probes whose ack we still take */

#define PL_PUNCH__PROBE_MAX_US 1000000   /* probe rounds back off to this */
#define PL_PUNCH__BIND_FIRST_US 200000   /* RELAY_BIND retransmission, doubling... */
#define PL_PUNCH__BIND_MAX_US 1000000    /* ...up to this */
#define PL_PUNCH__BIND_GIVEUP_US 2000000 /* UDP relay silent this long: use the stream */
#define PL_PUNCH__REBIND_US 10000000     /* refresh the binding while the relay is in use */

typedef enum {
  PL_PUNCH__RELAY_IDLE = 0,
  PL_PUNCH__RELAY_BINDING, /* RELAY_BIND over UDP, waiting for RELAY_BIND_ACK */
  PL_PUNCH__RELAY_UDP,     /* bound: RELAY_DATA over UDP */
  PL_PUNCH__RELAY_TCP,     /* RELAY_DATA over the Register stream (needs no binding) */
} pl_punch__relay_state;

typedef struct pl_punch__cand {
  struct sockaddr_storage addr;
  int used;
  int prflx;
  uint32_t gen; /* bumped when a peer-reflexive slot is reused, so old txids miss */
  int ok;       /* one of our probes to it was acked since punching (re)started */
  uint64_t probes_sent, acks, probes_received;
  uint64_t srtt;    /* 0 until the first ack */
  uint64_t last_rx; /* last authenticated frame that proves this path works */
  uint64_t last_trigger;
  uint64_t added_at;
} pl_punch__cand;

/* A datagram waiting to be encoded by pl_punch_poll. Probes get their txid and timestamp
 * only then, so the RTT does not include time spent in the queue. */
typedef struct pl_punch__out {
  uint8_t type; /* PROBE, PROBE_ACK, RELAY_BIND */
  uint8_t flags;
  int cand; /* PROBE: index into cands[] */
  uint32_t gen;
  int wrap;                    /* send inside RELAY_DATA */
  int via_tcp;                 /* over the Register stream */
  uint64_t txid, echo_time_us; /* PROBE_ACK */
  struct sockaddr_storage dst; /* PROBE_ACK: where the probe came from; RELAY_BIND: relay */
  struct sockaddr_storage observed;
  int has_observed;
} pl_punch__out;

typedef struct pl_punch__sent {
  uint64_t txid;
  uint64_t at;
  int cand;
  uint32_t gen;
  int used;
} pl_punch__sent;

struct pl_punch {
  pl_punch_config cfg; /* cfg.secret cleared: only the derived keys are kept */
  pl_frame_keys keys;
  pl_seal_keys *seal;                  /* DATA's end-to-end keys; NULL without them */
  uint8_t plain[PL_FRAME_MAX_PAYLOAD]; /* the last DATA frame opened */
  int peer_known;
  uint64_t next_seq, next_txid;
  pl_replay replay_peer, replay_relay;

  pl_punch__cand cands[PL_PUNCH__MAX_DIRECT + 1]; /* direct ones, then the relay */
  size_t n_direct;                                /* slots in use at the front */
  int selected;                                   /* index, or -1 */
  int nominated;                                  /* controlled side: peer's choice, or -1 */

  int started;
  uint64_t last_now;
  uint64_t round_at, round_interval;
  uint64_t direct_since; /* the current direct path was selected */
  uint64_t keepalive_at;
  uint64_t restarts;

  pl_punch__relay_state relay_state;
  uint64_t relay_at; /* when the relay may start */
  uint64_t relay_bind_at, relay_bind_interval, relay_bind_since, relay_bind_txid_min;
  uint64_t relay_rebind_at;
  uint64_t relay_probe_at, relay_probe_interval;
  uint64_t relay_binds_sent, relay_bind_acks;
  int relay_tried_udp, relay_tried_tcp;

  pl_punch__out queue[PL_PUNCH__QUEUE];
  size_t qhead, qlen;
  pl_punch__sent sent[PL_PUNCH__SENT];
  size_t sent_next;

  pl_punch_stats stats;
  pl_punch_path path;
  int path_changed;
  int closed, peer_closed;
};

/* punch_path.c */
int pl_punch__addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
int pl_punch__cand_find(const pl_punch *p, const struct sockaddr_storage *addr);
/* Finds or adds (as peer-reflexive) the candidate for `addr`; -1 when there is no room. */
int pl_punch__cand_learn(pl_punch *p, const struct sockaddr_storage *addr, uint64_t now);
/* A probe to candidate i was acked after `rtt` microseconds. */
void pl_punch__acked(pl_punch *p, int i, uint64_t rtt, uint64_t now);
/* Picks the best working path and switches to it if it differs from the current one. */
void pl_punch__reselect(pl_punch *p, uint64_t now);
/* The selected path went quiet: forget it and punch again from the fast schedule. */
void pl_punch__path_dead(pl_punch *p, uint64_t now);
/* Starts the probe schedule (and the relay timer) at now. */
void pl_punch__schedule(pl_punch *p, uint64_t now);
/* The same after a path died: also forgets which candidates worked and drops the relay. */
void pl_punch__restart(pl_punch *p, uint64_t now);
void pl_punch__set_path(pl_punch *p);

/* punch_sched.c */
void pl_punch__enqueue(pl_punch *p, const pl_punch__out *o);
void pl_punch__enqueue_probe(pl_punch *p, int cand, uint8_t flags);
void pl_punch__tick(pl_punch *p, uint64_t now);
void pl_punch__relay_use_tcp(pl_punch *p, uint64_t now);
uint64_t pl_punch__probe_interval(const pl_punch *p);
uint64_t pl_punch__max_interval(const pl_punch *p);

#endif
