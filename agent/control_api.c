/* peerlink.v1.Agent: the agent's gRPC control API. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "control/common/err.h"

#define NOT_BUILT_NAT "is not built yet: it arrives with NAT traversal (hole punching and relay)"

static void get_status(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  Peerlink__V1__GetStatusResponse resp = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  (void)msg;
  resp.id = a->ident.id;
  resp.name = (char *)a->name;
  resp.version = PL_AGENT_VERSION;
  resp.uptime_seconds = (uv_now(a->loop) - a->started_ms) / 1000;
  resp.rendezvous_state = a->reg.state;
  resp.rendezvous_address = a->reg.target ? (char *)a->reg.target : "";
  resp.control_address = a->control_addr;
  resp.udp_address = a->udp_addr;
  resp.nat_behavior = PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN;
  resp.dropped_unauthenticated = a->dropped_datagrams;
  resp.cert_fingerprint = a->ident.cert_fingerprint;
  pl_rpc_call_reply(call, &resp.base);
}

/* include_current: the registration state, then one "joined" event per known peer, so a
 * watcher that starts late sees the same state as one that watched from the beginning. */
static void send_current_state(pl_agent *a, pl_rpc_call *call) {
  Peerlink__V1__RendezvousStateChanged rs = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  rs.state = a->reg.state;
  rs.detail = a->reg.detail;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  ev.rendezvous = &rs;
  pl_events_publish(&a->events, &ev, call);
  for (pl_agentlist_entry *e = a->peers.head; e; e = e->next) {
    Peerlink__V1__PeerListChanged pc = PEERLINK__V1__PEER_LIST_CHANGED__INIT;
    Peerlink__V1__Event pev = PEERLINK__V1__EVENT__INIT;
    pc.joined = 1;
    pc.peer = e->info;
    pev.kind_case = PEERLINK__V1__EVENT__KIND_PEER_LIST;
    pev.peer_list = &pc;
    pl_events_publish(&a->events, &pev, call);
  }
}

static void watch_events(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  const Peerlink__V1__WatchEventsRequest *req = (const Peerlink__V1__WatchEventsRequest *)msg;
  if (pl_events_add(&a->events, call) != 0) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  if (req->include_current)
    send_current_state(a, call);
}

static void watch_events_done(pl_rpc_call *call, int cancelled, void *data) {
  pl_agent *a = data;
  (void)cancelled;
  pl_events_remove(&a->events, call);
}

static void list_peers(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  Peerlink__V1__ListPeersResponse resp = PEERLINK__V1__LIST_PEERS_RESPONSE__INIT;
  (void)msg;
  if (pl_agentlist_snapshot(&a->peers, a->ident.id, &resp.peers, &resp.n_peers) != 0) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  pl_rpc_call_reply(call, &resp.base);
  free(resp.peers);
}

/* Requests for features that are not built yet are still checked, so a script learns about a
 * wrong argument now rather than when the feature lands. */
static int check_peer_id(pl_rpc_call *call, const char *peer_id) {
  if (peer_id == NULL || *peer_id == '\0') {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "peer_id: required");
    return -1;
  }
  return 0;
}

static void connect_peer(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__ConnectRequest *req = (const Peerlink__V1__ConnectRequest *)msg;
  (void)data;
  if (*req->peer_id == '\0' && req->n_candidates == 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "peer_id or candidates: one of them is required");
    return;
  }
  if (*req->peer_id != '\0' && req->n_candidates != 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "peer_id and candidates: give one of them, not both");
    return;
  }
  pl_rpc_call_finish(call, PL_RPC_UNIMPLEMENTED, "Connect " NOT_BUILT_NAT);
}

static void disconnect_peer(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__DisconnectRequest *req = (const Peerlink__V1__DisconnectRequest *)msg;
  (void)data;
  if (check_peer_id(call, req->peer_id) == 0)
    pl_rpc_call_finish(call, PL_RPC_UNIMPLEMENTED, "Disconnect " NOT_BUILT_NAT);
}

static void send_message(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__SendRequest *req = (const Peerlink__V1__SendRequest *)msg;
  (void)data;
  if (check_peer_id(call, req->peer_id) == 0)
    pl_rpc_call_finish(call, PL_RPC_UNIMPLEMENTED,
                       "Send is not built yet: messages need a path to the peer first");
}

static void benchmark(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__BenchmarkRequest *req = (const Peerlink__V1__BenchmarkRequest *)msg;
  (void)data;
  if (check_peer_id(call, req->peer_id) == 0)
    pl_rpc_call_finish(call, PL_RPC_UNIMPLEMENTED,
                       "Benchmark is not built yet: it needs a path to the peer first");
}

static void send_file(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__SendFileRequest *req = (const Peerlink__V1__SendFileRequest *)msg;
  (void)data;
  if (check_peer_id(call, req->peer_id) == 0)
    pl_rpc_call_finish(call, PL_RPC_UNIMPLEMENTED,
                       "SendFile is not built yet: it needs the QUIC tunnel first");
}

#define METHOD(n, k, req, resp, fn, done)                                                          \
  {                                                                                                \
    .name = n, .kind = k, .request = &peerlink__v1__##req##__descriptor,                           \
    .response = &peerlink__v1__##resp##__descriptor, .on_request = fn, .on_done = done             \
  }

static const pl_rpc_method agent_methods[] = {
    METHOD("GetStatus", PL_RPC_UNARY, get_status_request, get_status_response, get_status, NULL),
    METHOD("WatchEvents", PL_RPC_SERVER_STREAMING, watch_events_request, watch_events_response,
           watch_events, watch_events_done),
    METHOD("ListPeers", PL_RPC_UNARY, list_peers_request, list_peers_response, list_peers, NULL),
    METHOD("Connect", PL_RPC_UNARY, connect_request, connect_response, connect_peer, NULL),
    METHOD("Disconnect", PL_RPC_UNARY, disconnect_request, disconnect_response, disconnect_peer,
           NULL),
    METHOD("Send", PL_RPC_UNARY, send_request, send_response, send_message, NULL),
    METHOD("Benchmark", PL_RPC_SERVER_STREAMING, benchmark_request, benchmark_response, benchmark,
           NULL),
    METHOD("SendFile", PL_RPC_SERVER_STREAMING, send_file_request, send_file_response, send_file,
           NULL),
};

void pl_agent_service_init(pl_agent *agent) {
  agent->service.full_name = "peerlink.v1.Agent";
  agent->service.methods = agent_methods;
  agent->service.n_methods = sizeof agent_methods / sizeof agent_methods[0];
  agent->service.data = agent;
}
