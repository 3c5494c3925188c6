#ifndef PEERLINK_AGENT_EVENTS_H
#define PEERLINK_AGENT_EVENTS_H

#include <stddef.h>

#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"

/* The WatchEvents fan-out: every published event goes to every open WatchEvents stream. A
 * watcher whose stream cannot take an event (the rpc send queue is at its limit,
 * pl_rpc_call_send_limit: the client reads too slowly; or no memory) is ended with
 * RESOURCE_EXHAUSTED and a message saying so, rather than silently missing events. */

typedef struct pl_events_watcher {
  pl_rpc_call *call;
  struct pl_events_watcher *prev, *next;
} pl_events_watcher;

typedef struct pl_events {
  pl_events_watcher *head;
  size_t count;
  uint64_t published;
} pl_events;

void pl_events_init(pl_events *ev);
/* Adds the stream; pl_rpc_call_data(call) is set to the watcher. Returns 0 or PL_ERR_NOMEM. */
int pl_events_add(pl_events *ev, pl_rpc_call *call);
/* Call from the WatchEvents on_done. */
void pl_events_remove(pl_events *ev, pl_rpc_call *call);
/* Stamps the time and sends to every watcher (or only to `only` when not NULL). */
void pl_events_publish(pl_events *ev, Peerlink__V1__Event *event, pl_rpc_call *only);
/* A message from `peer_id` arrived on `delivery`: one MessageReceived to every watcher. */
void pl_events_publish_message(pl_events *ev, const char *peer_id, Peerlink__V1__Delivery delivery,
                               const uint8_t *data, size_t len);

#endif
