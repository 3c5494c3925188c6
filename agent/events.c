/* The WatchEvents fan-out (agent/events.h). */
#include "agent/events.h"

#include <stdlib.h>

#include "control/common/clock.h"
#include "control/common/err.h"

void pl_events_init(pl_events *ev) {
  ev->head = NULL;
  ev->count = 0;
  ev->published = 0;
}

int pl_events_add(pl_events *ev, pl_rpc_call *call) {
  pl_events_watcher *w = calloc(1, sizeof *w);
  if (w == NULL)
    return PL_ERR_NOMEM;
  w->call = call;
  w->next = ev->head;
  if (ev->head)
    ev->head->prev = w;
  ev->head = w;
  ev->count++;
  pl_rpc_call_set_data(call, w);
  return 0;
}

void pl_events_remove(pl_events *ev, pl_rpc_call *call) {
  pl_events_watcher *w = pl_rpc_call_data(call);
  if (w == NULL)
    return;
  if (w->prev)
    w->prev->next = w->next;
  else
    ev->head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  ev->count--;
  pl_rpc_call_set_data(call, NULL);
  free(w);
}

/* A watcher that cannot take an event is ended, never left with a silent gap. */
static void send_one(pl_rpc_call *call, const Peerlink__V1__WatchEventsResponse *resp) {
  int rv = pl_rpc_call_send(call, &resp->base);
  if (rv == 0 || rv == PL_ERR_CLOSED)
    return; /* sent, or the call is over already (its on_done removes the watcher) */
  if (rv == PL_ERR_FULL)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "watcher too slow: %zu events queued and not read; watch again with "
                       "include_current to resynchronise",
                       pl_rpc_call_pending(call));
  else
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "cannot queue an event: %s",
                       pl_strerror(rv));
}

void pl_events_publish(pl_events *ev, Peerlink__V1__Event *event, pl_rpc_call *only) {
  event->unix_ms = pl_clock_unix_ms();
  Peerlink__V1__WatchEventsResponse resp = PEERLINK__V1__WATCH_EVENTS_RESPONSE__INIT;
  resp.event = event;
  ev->published++;
  if (only) {
    send_one(only, &resp);
    return;
  }
  /* finish() may end a watcher, but it stays linked until its on_done, so iterating is safe. */
  for (pl_events_watcher *w = ev->head; w; w = w->next)
    send_one(w->call, &resp);
}

void pl_events_publish_message(pl_events *ev, const char *peer_id, Peerlink__V1__Delivery delivery,
                               const uint8_t *data, size_t len) {
  Peerlink__V1__MessageReceived m = PEERLINK__V1__MESSAGE_RECEIVED__INIT;
  Peerlink__V1__Event e = PEERLINK__V1__EVENT__INIT;
  m.peer_id = (char *)peer_id;
  m.delivery = delivery;
  m.data.data = (uint8_t *)data;
  m.data.len = len;
  e.kind_case = PEERLINK__V1__EVENT__KIND_MESSAGE;
  e.message = &m;
  pl_events_publish(ev, &e, NULL);
}
