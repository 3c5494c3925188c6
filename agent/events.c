#include "agent/events.h"

#include <stdlib.h>
#include <time.h>

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

static void send_one(pl_rpc_call *call, const Peerlink__V1__WatchEventsResponse *resp) {
  if (pl_rpc_call_pending(call) >= PL_EVENTS_MAX_QUEUED) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "watcher too slow: %d events queued and not read", PL_EVENTS_MAX_QUEUED);
    return;
  }
  pl_rpc_call_send(call, &resp->base);
}

void pl_events_publish(pl_events *ev, Peerlink__V1__Event *event, pl_rpc_call *only) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  event->unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
