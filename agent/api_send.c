/* Send with DELIVERY_DATAGRAM (one sealed DATA frame: answered once it left) and
 * DELIVERY_RELIABLE (the link's reliable channel: answered when the peer acknowledged it, or
 * with a status that says why it will not be). Every call ends with a status on every path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "control/common/addr.h"
#include "control/common/err.h"

/* A reliable Send waiting for its message's end (the call's data, pl_send_wait first). */
typedef struct pl_reliable_wait {
  pl_send_wait base;
  pl_agent *a;
  pl_rpc_call *call;
  const pl_link *link; /* valid while waiting: a closing link ends its messages first */
  uint64_t msg_id;
  struct pl_reliable_wait *next;
} pl_reliable_wait;

static void reply(pl_rpc_call *call, const ProtobufCMessage *msg) {
  int rv = pl_rpc_call_reply(call, msg);
  if (rv != 0 && rv != PL_ERR_CLOSED)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "cannot send the answer: %s",
                       pl_strerror(rv));
}

/* The link to req's peer with a path, or the call ended saying why not. */
static pl_link *connected_link(pl_agent *a, pl_rpc_call *call, const char *peer_id) {
  pl_link *l = pl_links_find_peer(&a->links, peer_id);
  if (l == NULL) {
    pl_rpc_call_finish(call, PL_RPC_NOT_FOUND, "peer_id: not connected to %s (call Connect)",
                       peer_id);
    return NULL;
  }
  if (l->path.kind == PL_PATH_NONE) {
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "no path to %s yet", peer_id);
    return NULL;
  }
  return l;
}

/* The datagram was dropped here, before it left: say where and why. */
static void send_failed(pl_agent *a, pl_rpc_call *call, const pl_link *l, int rv) {
  char remote[80];
  if (rv == PL_ERR_FULL) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "datagram not sent: the path is relayed over the Register stream, which "
                       "has %zu messages queued (its limit); try again shortly",
                       a->reg.call ? pl_rpc_client_call_pending(a->reg.call) : (size_t)0);
  } else if (rv == PL_ERR_NOMEM) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "datagram not sent: agent out of memory");
  } else if (l->path.kind == PL_PATH_RELAY_TCP) {
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE,
                       "datagram not sent: the path is relayed over the Register stream, which "
                       "is down (%s)",
                       a->reg.detail);
  } else if (rv == PL_ERR_IO) {
    pl_addr_format((const struct sockaddr *)&l->path.remote, remote, sizeof remote);
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "datagram not sent: UDP send to %s failed: %s",
                       remote, pl_transport_last_error(&a->transport));
  } else {
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "datagram not sent: %s", pl_strerror(rv));
  }
}

void pl_api_send_datagram(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req) {
  Peerlink__V1__SendResponse resp = PEERLINK__V1__SEND_RESPONSE__INIT;
  if (req->data.len > PL_CHANNEL_MAX_DATAGRAM) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "data: a datagram holds at most %d bytes (DELIVERY_RELIABLE takes up to "
                       "%zu)",
                       PL_CHANNEL_MAX_DATAGRAM, pl_link_max_reliable_message(&a->links));
    return;
  }
  pl_link *l = connected_link(a, call, req->peer_id);
  if (l == NULL)
    return;
  int rv = pl_link_send(l, req->data.data, req->data.len);
  if (rv == PL_ERR_STATE) {
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "no path to %s yet", req->peer_id);
    return;
  }
  if (rv != 0) {
    send_failed(a, call, l, rv);
    return;
  }
  resp.sequence = ++a->datagrams_sent;
  reply(call, &resp.base);
}

static void unlink_wait(pl_reliable_wait *w) {
  for (pl_reliable_wait **pw = &w->a->reliable_waits; *pw; pw = &(*pw)->next) {
    if (*pw == w) {
      *pw = w->next;
      return;
    }
  }
}

/* The call ended first (cancelled, deadline): the message goes on, nobody waits for it. */
static void wait_cancel(pl_send_wait *base) {
  pl_reliable_wait *w = (pl_reliable_wait *)base;
  unlink_wait(w);
  free(w);
}

static void send_refused(pl_agent *a, pl_rpc_call *call, const pl_link *l, int rv) {
  pl_reliable_stats st;
  pl_channel_stats cs;
  switch (rv) {
  case PL_ERR_TOO_BIG:
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "data: a reliable message holds at most %zu bytes (--max-reliable-message)",
                       pl_link_max_reliable_message(&a->links));
    return;
  case PL_ERR_FULL:
    pl_channel_stats_get(l->chan, &cs);
    st = cs.reliable;
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "the reliable send window to %s is full (%u fragments in flight; messages "
                       "or bytes waiting for acknowledgement at their limit); try again when "
                       "earlier Sends have returned",
                       l->peer_id, st.in_flight);
    return;
  case PL_ERR_STATE:
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "no path to %s yet", l->peer_id);
    return;
  case PL_ERR_CLOSED:
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "path to %s closed", l->peer_id);
    return;
  default:
    pl_rpc_call_finish(call, rv == PL_ERR_NOMEM ? PL_RPC_RESOURCE_EXHAUSTED : PL_RPC_INTERNAL,
                       "reliable message not queued: %s", pl_strerror(rv));
  }
}

void pl_api_send_reliable(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req) {
  if (req->data.len > pl_link_max_reliable_message(&a->links)) {
    send_refused(a, call, NULL, PL_ERR_TOO_BIG);
    return;
  }
  pl_link *l = connected_link(a, call, req->peer_id);
  if (l == NULL)
    return;
  pl_reliable_wait *w = calloc(1, sizeof *w);
  if (w == NULL) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  int rv = pl_link_send_reliable(l, req->data.data, req->data.len, &w->msg_id);
  if (rv != 0) {
    free(w);
    send_refused(a, call, l, rv);
    return;
  }
  /* No event about the message can come before the loop runs again (pl_link_send_reliable). */
  w->base.cancel = wait_cancel;
  w->a = a;
  w->call = call;
  w->link = l;
  w->next = a->reliable_waits;
  a->reliable_waits = w;
  pl_rpc_call_set_data(call, &w->base);
}

void pl_api_send_reliable_done(pl_agent *a, const pl_link *l, uint64_t msg_id, int err,
                               const char *why) {
  pl_reliable_wait *w = a->reliable_waits;
  while (w && !(w->link == l && w->msg_id == msg_id))
    w = w->next;
  if (w == NULL)
    return; /* its Send was cancelled, or the agent is stopping */
  unlink_wait(w);
  pl_rpc_call *call = w->call;
  free(w);
  pl_rpc_call_set_data(call, NULL);
  if (err == 0) {
    Peerlink__V1__SendResponse resp = PEERLINK__V1__SEND_RESPONSE__INIT;
    resp.sequence = msg_id;
    reply(call, &resp.base);
  } else {
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "%s", why ? why : pl_strerror(err));
  }
}
