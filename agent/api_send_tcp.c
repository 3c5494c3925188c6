/* Send with DELIVERY_TCP: one message on the pairing's punched TCP connection. The call ends
 * when the peer has acknowledged it (delivered it as a MessageReceived event), or fails with
 * UNAVAILABLE when the connection ends first: a message is never lost silently. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "control/common/err.h"

typedef struct tcp_send {
  pl_send_wait wait; /* the call's data while it waits */
  pl_tcp_send_req req;
  pl_rpc_call *call;
  char peer_id[PL_LINK_PEER_HEX + 1];
} tcp_send;

static void acknowledged(pl_tcp_send_req *req, int rv, const char *why) {
  tcp_send *s = req->arg;
  Peerlink__V1__SendResponse resp = PEERLINK__V1__SEND_RESPONSE__INIT;
  pl_rpc_call *call = s->call;
  pl_rpc_call_set_data(call, NULL); /* before finishing: Send's on_done must not find us */
  if (rv == 0) {
    resp.sequence = req->seq;
    if (pl_rpc_call_reply(call, &resp.base) != 0)
      pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "cannot send the answer");
  } else {
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE,
                       "message not acknowledged: the TCP connection to %s ended before the peer "
                       "confirmed it (%s); it may or may not have been delivered",
                       s->peer_id, why ? why : pl_strerror(rv));
  }
  free(s);
}

/* The call ended (cancelled, deadline) before the acknowledgement: forget it. */
static void cancelled(pl_send_wait *w) {
  tcp_send *s = (tcp_send *)w;
  pl_tcp_send_cancel(&s->req);
  free(s);
}

void pl_agent_send_tcp(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req) {
  pl_link *l = pl_links_find_peer(&a->links, req->peer_id);
  if (l == NULL) {
    pl_rpc_call_finish(call, PL_RPC_NOT_FOUND, "peer_id: not connected to %s (call Connect)",
                       req->peer_id);
    return;
  }
  pl_tcp_link *t = a->tcp.open ? pl_tcp_find(&a->tcp, l->pairing) : NULL;
  if (t == NULL || t->state != PL_TCP_LINK_CONNECTED) {
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "no TCP path to %s (%s)", req->peer_id,
                       t              ? t->detail
                       : !a->tcp.open ? "TCP punching is off on this agent (--tcp-port off)"
                                      : "TCP punching was not attempted for this pairing");
    return;
  }
  if (req->data.len > PL_TCP_MAX_RECORD) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "data: a TCP message holds at most %u bytes",
                       PL_TCP_MAX_RECORD);
    return;
  }
  tcp_send *s = calloc(1, sizeof *s);
  if (s == NULL) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  s->wait.cancel = cancelled;
  s->req.done = acknowledged;
  s->req.arg = s;
  s->call = call;
  snprintf(s->peer_id, sizeof s->peer_id, "%s", req->peer_id);
  int rv = pl_tcp_link_send(t, req->data.data, req->data.len, &s->req);
  if (rv != 0) {
    pl_tcp_counters c;
    pl_tcp_link_counters(t, &c);
    free(s);
    if (rv == PL_ERR_FULL)
      pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                         "message not sent: %zu bytes wait for the TCP connection to %s (its "
                         "limit); try again shortly",
                         c.queued, req->peer_id);
    else
      pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "message not sent: the TCP connection to %s: %s",
                         req->peer_id, t->detail);
    return;
  }
  pl_rpc_call_set_data(call, &s->wait);
}
