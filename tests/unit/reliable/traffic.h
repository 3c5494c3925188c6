#ifndef PEERLINK_TESTS_RELIABLE_TRAFFIC_H
#define PEERLINK_TESTS_RELIABLE_TRAFFIC_H

/* Message traffic over a sim: each side queues numbered test messages as fast as its channel
 * takes them, and checks what it gets: DELIVERED in order (msg_id 1, 2, ...), exactly once,
 * with the right length and bytes; ACKED in order; FAILED counted, with their times. */

#include <stddef.h>
#include <stdint.h>

#include "tests/unit/reliable/sim.h"

typedef struct traffic_side {
  uint64_t to_send;              /* messages this side sends in all */
  size_t (*len_of)(uint64_t id); /* the length of message `id` */
  uint64_t queued;               /* sent so far (IDs 1..queued) */
  uint64_t delivered;            /* from the peer, in order */
  uint64_t acked, failed;        /* ours */
  uint64_t errors;               /* anything out of order, twice, or with wrong bytes */
  uint64_t first_failed_at, last_failed_at;
  pl_reliable_fail_reason last_reason;
  uint64_t delivered_bytes;
} traffic_side;

typedef struct traffic {
  traffic_side side[2];
} traffic;

/* The bytes of message `id`. */
void traffic_fill(uint8_t *buf, uint64_t id, size_t len);

/* Sets s->on_event and s->user to this traffic and queues what the channels take now. */
void traffic_start(sim *s, traffic *t);
/* Queues as many of side's messages as its channel takes. */
void traffic_pump(sim *s, traffic *t, int side);
/* Both sides' messages all delivered and all acknowledged. For sim_run (user = traffic). */
int traffic_done(sim *s, void *user);
/* Every message `side` has queued has ended in ACKED or FAILED. */
int traffic_settled(const traffic *t, int side);

#endif
