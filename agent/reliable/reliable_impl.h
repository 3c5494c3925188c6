#ifndef PEERLINK_AGENT_RELIABLE_IMPL_H
#define PEERLINK_AGENT_RELIABLE_IMPL_H

/* Internal to agent/reliable: the channel's state, shared by reliable.c (API, events),
 * reliable_send.c (sender), reliable_recv.c (receiver) and reliable_wire.c (byte layout). */

#include <stddef.h>
#include <stdint.h>

#include "agent/reliable/reliable.h"

/* ---- Byte layout (reliable_wire.c; docs/protocol.md) ------------------------------------- */

#define PL_RELIABLE__TYPE_FRAG 0x01
#define PL_RELIABLE__TYPE_ACK 0x02
#define PL_RELIABLE__ACK_HEADER 26
#define PL_RELIABLE__ACK_RANGE 4

typedef struct pl_reliable__frag {
  uint64_t seq;
  uint32_t msg_len; /* the whole message */
  uint32_t offset;  /* of this fragment's data in the message */
  const uint8_t *data;
  size_t len;
} pl_reliable__frag;

typedef struct pl_reliable__ack {
  uint64_t cumulative; /* every sequence number below it was received */
  uint64_t latest;     /* the fragment whose arrival this ACK answers (the latest to arrive) */
  uint32_t window;     /* fragments from `cumulative` on the receiver holds */
  uint32_t delay_us;   /* from the arrival of `latest` to this ACK */
  size_t n;            /* selective ranges, ascending, above cumulative, apart from each other */
  uint64_t start[PL_RELIABLE_MAX_ACK_RANGES], end[PL_RELIABLE_MAX_ACK_RANGES]; /* [start, end) */
} pl_reliable__ack;

/* Parses one payload: *ptype is PL_RELIABLE__TYPE_FRAG (frag filled, data pointing into the
 * payload) or PL_RELIABLE__TYPE_ACK (ack filled). Returns 0 or PL_ERR_PARSE. Every payload
 * that parses has exactly one encoding, the one the encoders below write. */
int pl_reliable__parse(const uint8_t *data, size_t len, int *ptype, pl_reliable__frag *frag,
                       pl_reliable__ack *ack);
/* Return 0 with *plen set, or PL_ERR_TOO_BIG (cap), PL_ERR_INVALID (a value the layout cannot
 * carry). */
int pl_reliable__encode_frag(uint8_t *buf, size_t cap, size_t *plen, const pl_reliable__frag *f);
int pl_reliable__encode_ack(uint8_t *buf, size_t cap, size_t *plen, const pl_reliable__ack *a);

/* ---- State ------------------------------------------------------------------------------- */

typedef enum { PL_RELIABLE__OPEN = 0, PL_RELIABLE__DEAD } pl_reliable__state;

/* One message of ours, from send until ACKED or FAILED. */
typedef struct pl_reliable__msg {
  struct pl_reliable__msg *next;
  uint64_t id;
  uint8_t *data;
  size_t len;
  size_t next_off;   /* bytes cut into fragments so far */
  uint64_t last_seq; /* its last fragment's number, once `cut` */
  int cut;           /* every fragment has a sequence number */
} pl_reliable__msg;

/* One fragment in flight: slot seq % window of the ring [snd_una, snd_nxt). */
typedef struct pl_reliable__sent {
  pl_reliable__msg *msg;
  uint32_t offset, len;
  uint64_t first_sent, last_sent;
  uint64_t last_tx; /* transmission counter at the last send: orders sends at equal times */
  uint32_t sends;   /* transmissions so far */
  uint8_t acked;    /* cumulatively or selectively */
  uint8_t lost;     /* found lost by fast retransmission's rule: retransmit now */
} pl_reliable__sent;

/* One reassembly slot: seq % window of [rcv_nxt, rcv_nxt + window). */
typedef struct pl_reliable__slot {
  uint8_t present;
  uint32_t msg_len, offset, len;
  uint64_t arrived;
} pl_reliable__slot;

typedef struct pl_reliable__event_node {
  struct pl_reliable__event_node *next;
  pl_reliable_event ev;
  uint8_t *owned; /* DELIVERED data */
} pl_reliable__event_node;

struct pl_reliable {
  pl_reliable_config cfg;
  size_t frag_cap; /* data bytes per fragment: max_payload - PL_RELIABLE_FRAG_HEADER */
  size_t max_ranges;
  pl_reliable__state state;
  pl_reliable_fail_reason fail_reason;

  /* Sender. */
  pl_reliable__msg *head, *tail; /* not yet ACKED, oldest first */
  pl_reliable__msg *uncut;       /* first message with bytes not yet in a fragment */
  uint64_t next_msg_id;
  size_t queued_bytes;
  uint32_t queued_count;
  pl_reliable__sent *sent; /* ring of cfg.window */
  uint64_t snd_una, snd_nxt;
  uint32_t peer_window;
  uint64_t tx_counter;
  uint64_t largest_acked_tx; /* the latest transmission known to have arrived */
  uint64_t srtt, rttvar, rto;
  int have_rtt;
  uint32_t unacked;     /* in flight and not acknowledged in any way */
  uint32_t lost;        /* of those, marked for fast retransmission */
  uint64_t timer_start; /* the retransmission timer, running while unacked > 0 */
  uint32_t backoffs;    /* timer expiries since anything new was acknowledged */

  /* Receiver. */
  pl_reliable__slot *slots; /* ring of cfg.window */
  uint8_t *slab;            /* cfg.window * frag_cap bytes: the slots' data */
  uint64_t rcv_nxt;
  uint32_t buffered; /* slots present */
  uint8_t *asm_buf;  /* the message being put together */
  uint32_t asm_len, asm_have;
  int asm_active;
  uint64_t delivered;
  uint64_t largest_rcvd;          /* + 1: no slot at or above it is present */
  uint64_t latest_seq, latest_at; /* the latest fragment to arrive, and when */
  uint32_t ack_pending;           /* fragments since the last ACK */
  int ack_now;
  uint64_t ack_deadline;

  /* Events. */
  pl_reliable__event_node *ev_head, *ev_tail;
  size_t undrained_bytes;
  uint32_t undrained_count;
  uint8_t *held; /* the data of the DELIVERED event last returned */

  pl_reliable_stats stats;
};

/* reliable.c */
int pl_reliable__event_push(pl_reliable *r, pl_reliable_event_type type, uint64_t msg_id,
                            pl_reliable_fail_reason reason, uint8_t *owned, size_t len);
/* The channel is dead: every message not yet ACKED gets FAILED with `reason`. */
void pl_reliable__fail(pl_reliable *r, pl_reliable_fail_reason reason);

/* reliable_send.c */
int pl_reliable__on_ack(pl_reliable *r, const pl_reliable__ack *a, uint64_t now);
/* A retransmission or a new fragment into buf, or *plen = 0. Fails the channel when a fragment
 * has run out of time or retransmissions. */
int pl_reliable__send_next(pl_reliable *r, uint64_t now, uint8_t *buf, size_t cap, size_t *plen);
uint64_t pl_reliable__send_deadline(const pl_reliable *r);
void pl_reliable__send_free(pl_reliable *r);

/* reliable_recv.c */
int pl_reliable__on_frag(pl_reliable *r, const pl_reliable__frag *f, uint64_t now);
/* An ACK into buf if one is due, or *plen = 0. */
int pl_reliable__ack_next(pl_reliable *r, uint64_t now, uint8_t *buf, size_t cap, size_t *plen);
uint64_t pl_reliable__ack_deadline(const pl_reliable *r);

#endif
