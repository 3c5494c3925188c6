/* Connect waiters: a deadline timer per waiting Connect call, resolved by link path changes. */
#include "agent/connect_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

struct pl_connect_waiter {
  pl_connect_waiters *ws;
  pl_rpc_call *call; /* NULL once the call is over */
  char peer_id[PL_LINK_PEER_HEX + 1];
  char pairing_id[PL_LINK_PAIRING_HEX + 1]; /* explicit-candidate connects */
  uv_timer_t deadline;
  struct pl_connect_waiter *next;
};

void pl_connect_waiters_init(pl_connect_waiters *ws, uv_loop_t *loop, const pl_links *links) {
  ws->loop = loop;
  ws->links = links;
  ws->head = NULL;
}

void pl_connect_reply(pl_rpc_call *call, const pl_link *l, const char *peer_id) {
  Peerlink__V1__ConnectResponse resp = PEERLINK__V1__CONNECT_RESPONSE__INIT;
  Peerlink__V1__PeerPath path = PEERLINK__V1__PEER_PATH__INIT;
  Peerlink__V1__Endpoint remote, local;
  char ip[128];
  if (l)
    pl_link_describe(l, &path, &remote, &local, ip, sizeof ip);
  else {
    path.peer_id = (char *)peer_id;
    path.kind = PEERLINK__V1__PATH_KIND__PATH_KIND_NONE;
  }
  resp.path = &path;
  int rv = pl_rpc_call_reply(call, &resp.base);
  if (rv != 0 && rv != PL_ERR_CLOSED)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "cannot send the answer: %s",
                       pl_strerror(rv));
}

static void waiter_freed(uv_handle_t *h) {
  free(h->data);
}

static void waiter_remove(pl_connect_waiter *w) {
  pl_connect_waiters *ws = w->ws;
  for (pl_connect_waiter **pw = &ws->head; *pw; pw = &(*pw)->next) {
    if (*pw == w) {
      *pw = w->next;
      break;
    }
  }
  if (w->call)
    pl_rpc_call_set_data(w->call, NULL);
  uv_close((uv_handle_t *)&w->deadline, waiter_freed);
}

static int waiter_matches(const pl_connect_waiter *w, const pl_link *l) {
  if (w->pairing_id[0])
    return strcmp(w->pairing_id, l->pairing_id) == 0;
  return l->peer_id[0] && strcmp(w->peer_id, l->peer_id) == 0;
}

void pl_connect_resolve(pl_connect_waiters *ws, const pl_link *l) {
  pl_connect_waiter *w, *next;
  if (l->path.kind == PL_PATH_NONE)
    return;
  for (w = ws->head; w; w = next) {
    next = w->next;
    if (waiter_matches(w, l)) {
      pl_connect_reply(w->call, l, NULL);
      waiter_remove(w);
    }
  }
}

static void on_deadline(uv_timer_t *t) {
  pl_connect_waiter *w = t->data;
  char tried[512] = "no pairing was offered by the rendezvous";
  for (const pl_link *l = w->ws->links->head; l; l = l->next) {
    if (waiter_matches(w, l)) {
      pl_link_describe_attempts(l, tried, sizeof tried);
      break;
    }
  }
  pl_rpc_call_finish(w->call, PL_RPC_DEADLINE_EXCEEDED, "no path to %s within the deadline; %s",
                     w->peer_id[0] ? w->peer_id : w->pairing_id, tried);
  waiter_remove(w);
}

int pl_connect_wait(pl_connect_waiters *ws, pl_rpc_call *call, const char *peer_id,
                    const char *pairing_id, uint64_t timeout_ms) {
  pl_connect_waiter *w = calloc(1, sizeof *w);
  if (w == NULL)
    return PL_ERR_NOMEM;
  w->ws = ws;
  w->call = call;
  snprintf(w->peer_id, sizeof w->peer_id, "%s", peer_id ? peer_id : "");
  snprintf(w->pairing_id, sizeof w->pairing_id, "%s", pairing_id ? pairing_id : "");
  uv_timer_init(ws->loop, &w->deadline);
  w->deadline.data = w;
  uv_timer_start(&w->deadline, on_deadline, timeout_ms, 0);
  w->next = ws->head;
  ws->head = w;
  pl_rpc_call_set_data(call, w);
  for (const pl_link *l = ws->links->head; l; l = l->next) {
    if (waiter_matches(w, l) && l->path.kind != PL_PATH_NONE) {
      pl_connect_resolve(ws, l); /* the path is up already */
      break;
    }
  }
  return 0;
}

void pl_connect_fail(pl_connect_waiters *ws, const char *peer_id, pl_rpc_status code,
                     const char *msg) {
  pl_connect_waiter *w, *next;
  for (w = ws->head; w; w = next) {
    next = w->next;
    if (peer_id == NULL || strcmp(w->peer_id, peer_id) == 0) {
      pl_rpc_call_finish(w->call, code, "%s", msg);
      waiter_remove(w);
    }
  }
}

void pl_connect_waiter_cancelled(pl_rpc_call *call) {
  pl_connect_waiter *w = pl_rpc_call_data(call);
  if (w == NULL)
    return;
  w->call = NULL;
  waiter_remove(w);
}
