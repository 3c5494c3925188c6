#ifndef PEERLINK_AGENT_RELIABLE_H
#define PEERLINK_AGENT_RELIABLE_H

/* Reliable messages over one pairing's datagrams. I/O-free (ngtcp2 shape): payloads from the
 * peer and `now` go in through pl_reliable_recv; payloads to send come out of pl_reliable_poll
 * (each fits one DATA frame); the glue re-arms its timer from pl_reliable_deadline and drains
 * pl_reliable_next_event after every call. Times are microseconds on a monotonic clock.
 * The byte layout and the rules are in docs/protocol.md ("Reliable messages").
 *
 * A message is cut into fragments of at most max_payload bytes, each with its own 64-bit
 * sequence number. The receiver puts them back in order (a bounded reassembly window), delivers
 * each message once, and acknowledges with a cumulative sequence number plus selective ranges.
 * The sender has one retransmission timer (RTT estimate and RTO as in RFC 6298: on expiry the
 * earliest unacknowledged fragment is resent and the RTO doubles) and resends sooner a fragment
 * once a transmission three later than its own was acknowledged and an RTT has passed (fast
 * retransmission); at most `window` fragments are in flight. A message is ACKED once the peer
 * has delivered it (every fragment of it and of every message before it acknowledged
 * cumulatively), and FAILED when that can no longer happen: a fragment went unacknowledged for
 * give_up_us, or the timer expired max_retransmits times in a row with nothing new
 * acknowledged (the peer is gone; the channel is then dead and every message not yet acked
 * fails with the same reason), or the channel was closed. Every message ends in exactly one of
 * ACKED or FAILED: none is lost silently. */

#include <stddef.h>
#include <stdint.h>

#define PL_RELIABLE_MAX_ACK_RANGES 255 /* as many as max_payload holds, at most this */
#define PL_RELIABLE_FRAG_HEADER 17     /* bytes before a fragment's data */

typedef struct pl_reliable_config {
  size_t max_payload;       /* largest payload poll makes; default 1100, 64..65535 */
  size_t max_message;       /* default 1 MiB (PL_RELIABLE_DEFAULT_MAX_MESSAGE), up to 2^32-1 */
  size_t send_buffer;       /* bytes of messages not yet ACKED; default 4 MiB, >= max_message */
  uint32_t send_queue;      /* messages not yet ACKED; default 1024 */
  uint32_t window;          /* fragments in flight, and reassembly slots; default 256, <= 16384 */
  size_t recv_buffer;       /* undrained delivered bytes before recv refuses; default 4 MiB */
  uint32_t recv_queue;      /* undrained delivered messages before recv refuses; default 1024 */
  uint64_t rto_initial_us;  /* before the first RTT sample; default 1 s (RFC 6298, 2.1) */
  uint64_t rto_min_us;      /* default 200 ms */
  uint64_t rto_max_us;      /* cap of the backed-off RTO; default 2 s */
  uint32_t max_retransmits; /* timeouts in a row, nothing new acked, to give up; default 20 */
  uint64_t give_up_us;      /* a fragment unacknowledged this long: peer gone; default 15 s */
  uint64_t ack_delay_us;    /* longest an ACK waits for a second fragment; default 10 ms */
} pl_reliable_config;

#define PL_RELIABLE_DEFAULT_MAX_MESSAGE (1024 * 1024)

typedef enum {
  PL_RELIABLE_EV_DELIVERED = 1, /* a message from the peer, in order, exactly once */
  PL_RELIABLE_EV_ACKED,         /* one of ours reached the peer (msg_id) */
  PL_RELIABLE_EV_FAILED,        /* one of ours will not (msg_id, reason) */
} pl_reliable_event_type;

typedef enum {
  PL_RELIABLE_FAIL_TIMEOUT = 1, /* a fragment went unacknowledged for give_up_us */
  PL_RELIABLE_FAIL_RETRIES,     /* max_retransmits timeouts in a row with nothing acked */
  PL_RELIABLE_FAIL_CLOSED,      /* pl_reliable_close */
} pl_reliable_fail_reason;

typedef struct pl_reliable_event {
  pl_reliable_event_type type;
  /* Ours: the ID pl_reliable_send returned. DELIVERED: the peer's ID for it (the peer numbers
   * its messages 1, 2, ... and they arrive in that order). */
  uint64_t msg_id;
  pl_reliable_fail_reason reason; /* FAILED */
  /* DELIVERED: the message, valid until the next pl_reliable_next_event or pl_reliable_del. */
  const uint8_t *data;
  size_t len;
} pl_reliable_event;

typedef struct pl_reliable_stats {
  uint64_t frags_sent, retransmits, fast_retransmits, timeouts;
  uint64_t acks_sent, acks_received;
  uint64_t frags_received, duplicates, dropped_window, dropped_parse, dropped_full;
  uint64_t srtt_us, rttvar_us, rto_us; /* srtt 0 before the first sample */
  uint32_t in_flight;                  /* fragments sent and not acknowledged cumulatively */
} pl_reliable_stats;

typedef struct pl_reliable pl_reliable;

/* The defaults listed above. */
void pl_reliable_config_default(pl_reliable_config *cfg);

/* A channel; cfg NULL takes the defaults. Both sides should use the same max_payload, window
 * and max_message (a receiver refuses fragments larger than its own max_payload allows and
 * messages over its max_message). Returns 0, PL_ERR_INVALID (a value out of the ranges above,
 * rto_min > rto_initial or rto_initial > rto_max, ack_delay_us >= rto_min_us, give_up_us 0),
 * PL_ERR_NOMEM. */
int pl_reliable_new(pl_reliable **pr, const pl_reliable_config *cfg);
/* Frees everything; undelivered events are dropped (call pl_reliable_close first and drain to
 * see every FAILED). NULL is fine. */
void pl_reliable_del(pl_reliable *r);

/* Queues a copy of msg; *pmsg_id receives its ID (1, 2, ...). Returns 0,
 *   PL_ERR_TOO_BIG  len > max_message (nothing queued),
 *   PL_ERR_FULL     send_queue messages or send_buffer bytes are already waiting for their ACK
 *                   (nothing queued; try again after an ACKED or FAILED event),
 *   PL_ERR_CLOSED   the channel failed or was closed,
 *   PL_ERR_INVALID, PL_ERR_NOMEM. */
int pl_reliable_send(pl_reliable *r, const uint8_t *msg, size_t len, uint64_t now,
                     uint64_t *pmsg_id);

/* A reliable-channel payload from the peer (a fragment or an ACK). Returns 0 when it was
 * processed (duplicates and fragments beyond the window included: they are counted and
 * acknowledged, and change nothing else),
 *   PL_ERR_PARSE   malformed, or inconsistent with what the channel knows (an ACK for
 *                  fragments never sent, a fragment that contradicts its neighbours, a message
 *                  over max_message): dropped, counted, nothing changes,
 *   PL_ERR_FULL    a fragment while recv_queue messages or recv_buffer bytes of delivered
 *                  messages are undrained: dropped as if lost (the peer retransmits); drain
 *                  the events,
 *   PL_ERR_CLOSED  the channel failed or was closed,
 *   PL_ERR_INVALID. */
int pl_reliable_recv(pl_reliable *r, const uint8_t *data, size_t len, uint64_t now);

/* The next payload to send now: an ACK, a retransmission, or a new fragment, in that order of
 * preference. *plen = 0 when nothing is due. Call until it gives 0 bytes. cap must be at least
 * max_payload. This is also where the channel notices that the peer is gone. Returns 0,
 * PL_ERR_TOO_BIG (cap below max_payload), PL_ERR_INVALID. */
int pl_reliable_poll(pl_reliable *r, uint64_t now, uint8_t *buf, size_t cap, size_t *plen);

/* When pl_reliable_poll next has something to do: at or before `now` means poll now;
 * UINT64_MAX when nothing is scheduled (idle, failed or closed). */
uint64_t pl_reliable_deadline(const pl_reliable *r);

/* The next event: returns 1 with *ev filled, 0 when there is none. Frees the previous
 * DELIVERED event's data. */
int pl_reliable_next_event(pl_reliable *r, pl_reliable_event *ev);

/* Ends the channel: every message not yet ACKED fails with PL_RELIABLE_FAIL_CLOSED; nothing is
 * sent or accepted afterwards. Calling it again does nothing. */
void pl_reliable_close(pl_reliable *r);

void pl_reliable_stats_get(const pl_reliable *r, pl_reliable_stats *stats);

#endif
