/* peerlink.v1.Agent: the agent's gRPC control API. Every handler ends its call with a status
 * on every path (a Connect that waits ends through agent/connect_wait.h). */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "control/common/addr.h"
#include "control/common/candidates.h"
#include "control/common/err.h"
#include "control/common/hex.h"

/* pl_rpc_call_reply, and a status when the answer cannot be queued. */
static void reply(pl_rpc_call *call, const ProtobufCMessage *msg) {
  int rv = pl_rpc_call_reply(call, msg);
  if (rv != 0 && rv != PL_ERR_CLOSED)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "cannot send the answer: %s",
                       pl_strerror(rv));
}

static void get_status(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  Peerlink__V1__GetStatusResponse resp = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  Peerlink__V1__Endpoint pub = PEERLINK__V1__ENDPOINT__INIT, tcp_pub;
  char pubip[64], tcp_ip[64];
  size_t n = 0;
  (void)msg;
  resp.id = a->ident.id;
  resp.name = (char *)a->name;
  resp.version = PL_AGENT_VERSION;
  resp.uptime_seconds = (uv_now(a->loop) - a->started_ms) / 1000;
  resp.rendezvous_state = a->reg.state;
  resp.rendezvous_address = a->reg.target ? (char *)a->reg.target : "";
  resp.control_address = a->control_addr;
  resp.udp_address = a->udp_addr;
  if (a->has_public) {
    pub.port = (uint32_t)pl_addr_ip_port((const struct sockaddr *)&a->public_ep, pubip);
    pub.ip = pubip;
    resp.public_endpoint = &pub;
  }
  resp.nat_behavior = a->nat;
  resp.cert_fingerprint = a->ident.cert_fingerprint;
  resp.public_key.data = a->ident.public_key_der;
  resp.public_key.len = a->ident.public_key_der_len;
  resp.dropped_unauthenticated = pl_agent_dropped(a);
  resp.tcp_port = (uint32_t)pl_tcp_node_port(&a->tcp);
  resp.tcp_public_endpoint = pl_agent_tcp_public(a, &tcp_pub, tcp_ip);

  n = pl_links_count(&a->links);
  Peerlink__V1__PeerPath *paths = calloc(n ? n : 1, sizeof *paths);
  Peerlink__V1__PeerPath **ppaths = calloc(n ? n : 1, sizeof *ppaths);
  Peerlink__V1__Endpoint *remotes = calloc(2 * (n ? n : 1), sizeof *remotes);
  char(*ips)[128] = calloc(n ? n : 1, 128);
  Peerlink__V1__QuicState *quic = calloc(n ? n : 1, sizeof *quic);
  char(*quic_detail)[PL_QUIC_DETAIL_MAX] = calloc(n ? n : 1, PL_QUIC_DETAIL_MAX);
  if (!paths || !ppaths || !remotes || !ips || !quic || !quic_detail) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    goto out;
  }
  size_t i = 0;
  for (pl_link *l = a->links.head; l; l = l->next, i++) {
    pl_punch_stats st;
    pl_link_describe(l, &paths[i], &remotes[2 * i], &remotes[2 * i + 1], ips[i], 128);
    pl_agent_quic_describe(a, l, &paths[i], &quic[i], quic_detail[i], PL_QUIC_DETAIL_MAX);
    paths[i].tcp = pl_agent_tcp_path(a, l);
    ppaths[i] = &paths[i];
    pl_punch_stats_get(l->punch, &st);
    resp.dropped_unauthenticated +=
        st.dropped_auth + st.dropped_replay + st.dropped_parse + st.dropped_data;
  }
  resp.peers = ppaths;
  resp.n_peers = n;
  reply(call, &resp.base);
out:
  free(paths);
  free(ppaths);
  free(remotes);
  free(ips);
  free(quic);
  free(quic_detail);
}

/* include_current: the registration state, the NAT state, then one "joined" event per known
 * peer, so a watcher that starts late sees the same state as one that watched from the
 * beginning. */
static void send_current_state(pl_agent *a, pl_rpc_call *call) {
  Peerlink__V1__RendezvousStateChanged rs = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  rs.state = a->reg.state;
  rs.detail = a->reg.detail;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  ev.rendezvous = &rs;
  pl_events_publish(&a->events, &ev, call);
  pl_agent_publish_nat(a, call);
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

/* Pages in ID order; the token is the last ID listed (agentlist_page.c says why). */
static void list_peers(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  const Peerlink__V1__ListPeersRequest *req = (const Peerlink__V1__ListPeersRequest *)msg;
  Peerlink__V1__ListPeersResponse resp = PEERLINK__V1__LIST_PEERS_RESPONSE__INIT;
  size_t size = req->page_size <= 0 ? 100 : req->page_size > 1000 ? 1000 : (size_t)req->page_size;
  int more;
  if (req->page_size < 0 || (req->page_token[0] && !pl_hex_is_lower(req->page_token, 32))) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "%s",
                       req->page_size < 0 ? "page_size: must not be negative"
                                          : "page_token: not a token ListPeers gave");
    return;
  }
  if (pl_agentlist_page(&a->peers, a->ident.id, req->page_token, size, &resp.peers, &resp.n_peers,
                        &more) != 0) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  resp.next_page_token = more ? resp.peers[resp.n_peers - 1]->id : "";
  resp.total_size = a->peers.count - (pl_agentlist_find(&a->peers, a->ident.id) != NULL);
  reply(call, &resp.base);
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

static int valid_peer_id(const char *id) {
  uint8_t raw[16];
  return pl_hex_decode(raw, sizeof raw, id) == 0;
}

#define CONNECT_DEFAULT_TIMEOUT_MS 30000

/* Waits for the path, or says why it cannot. */
static void connect_wait(pl_agent *a, pl_rpc_call *call, const char *peer_id,
                         const char *pairing_id, uint64_t timeout_ms) {
  int rv = pl_connect_wait(&a->waiters, call, peer_id, pairing_id,
                           timeout_ms ? timeout_ms : CONNECT_DEFAULT_TIMEOUT_MS);
  if (rv != 0)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "cannot wait for the path: %s",
                       pl_strerror(rv));
}

static void connect_by_candidates(pl_agent *a, pl_rpc_call *call,
                                  const Peerlink__V1__ConnectRequest *req) {
  uint8_t fp[32];
  pl_link *l;
  char err[160];
  if (pl_hex_decode(fp, sizeof fp, req->peer_cert_fingerprint) != 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "peer_cert_fingerprint: 64 hex characters required with candidates");
    return;
  }
  if (req->pairing_secret.len < 16 || req->pairing_secret.len > 64) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "pairing_secret: 16 to 64 bytes required with candidates");
    return;
  }
  if (pl_candidates_validate(req->candidates, req->n_candidates, "candidates", err, sizeof err) !=
      0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "%s", err);
    return;
  }
  /* DATA is sealed under keys agreed with this key, and the peer's ID is the key's. */
  char key_id[PL_IDENTITY_ID_LEN + 1];
  if (req->peer_public_key.len == 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "peer_public_key: required with candidates (the peer's GetStatus "
                       "public_key)");
    return;
  }
  if (pl_identity_id_from_public_key(key_id, req->peer_public_key.data, req->peer_public_key.len) !=
      0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "peer_public_key: not a P-256 SubjectPublicKeyInfo (the peer's GetStatus "
                       "public_key)");
    return;
  }
  if (strcmp(key_id, a->ident.id) == 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "peer_public_key: that is this agent's own key (the peer's GetStatus "
                       "public_key is needed)");
    return;
  }
  int rv = pl_link_from_candidates(&a->links, req->candidates, req->n_candidates,
                                   req->pairing_secret.data, req->pairing_secret.len,
                                   req->peer_cert_fingerprint, req->peer_public_key.data,
                                   req->peer_public_key.len, &l);
  if (rv == PL_ERR_INVALID) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "candidates: no usable address");
    return;
  }
  if (rv == PL_ERR_STATE) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "pairing_secret: already used by the link to another peer (each peer "
                       "needs its own secret)");
    return;
  }
  if (rv != 0) {
    pl_rpc_call_finish(call, rv == PL_ERR_NOMEM ? PL_RPC_RESOURCE_EXHAUSTED : PL_RPC_INTERNAL,
                       "cannot start the link: %s", pl_strerror(rv));
    return;
  }
  if (!req->wait)
    pl_connect_reply(call, l, NULL);
  else
    connect_wait(a, call, NULL, l->pairing_id, req->timeout_ms);
}

/* The PairRequest could not be queued on the Register stream. */
static void pair_failed(pl_agent *a, pl_rpc_call *call, int rv) {
  if (rv == PL_ERR_FULL)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "cannot ask the rendezvous to pair: the Register stream has %zu messages "
                       "queued (its limit); try again shortly",
                       a->reg.call ? pl_rpc_client_call_pending(a->reg.call) : (size_t)0);
  else if (rv == PL_ERR_NOMEM)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "cannot ask the rendezvous to pair: agent out of memory");
  else
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE,
                       "cannot ask the rendezvous to pair: the registration has ended (%s)",
                       pl_strerror(rv));
}

static void connect_peer(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  const Peerlink__V1__ConnectRequest *req = (const Peerlink__V1__ConnectRequest *)msg;
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
  if (req->n_candidates) {
    connect_by_candidates(a, call, req);
    return;
  }
  if (!valid_peer_id(req->peer_id)) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "peer_id: 32 hex characters expected");
    return;
  }
  if (strcmp(req->peer_id, a->ident.id) == 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "peer_id: that is this agent's own ID");
    return;
  }
  pl_link *l = pl_links_find_peer(&a->links, req->peer_id);
  /* Offered through a registration that has ended, and never up: the registry that paired it
   * may be gone with its offer to the peer (an instance killed mid-pairing), so ask again; the
   * new pairing replaces this link. */
  if (l && l->path.kind == PL_PATH_NONE && l->via_registration != 0 &&
      l->via_registration != a->reg.attempts && pl_registration_is_registered(&a->reg))
    l = NULL;
  if (l == NULL) {
    if (!pl_registration_is_registered(&a->reg)) {
      pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE,
                         "not registered with a rendezvous (%s); connect by candidates instead",
                         a->reg.detail);
      return;
    }
    /* Not checked against the peer list: an agent sees only its network, watched and paired
     * peers, and the rendezvous answers an unknown ID with a PairError (NOT_FOUND). */
    int rv = pl_registration_pair(&a->reg, req->peer_id);
    if (rv != 0) {
      pair_failed(a, call, rv);
      return;
    }
  }
  if (!req->wait || (l && l->path.kind != PL_PATH_NONE))
    pl_connect_reply(call, l, req->peer_id);
  else
    connect_wait(a, call, req->peer_id, NULL, req->timeout_ms);
}

static void connect_done(pl_rpc_call *call, int cancelled, void *data) {
  (void)cancelled;
  (void)data;
  pl_connect_waiter_cancelled(call);
}

static void disconnect_peer(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  const Peerlink__V1__DisconnectRequest *req = (const Peerlink__V1__DisconnectRequest *)msg;
  Peerlink__V1__DisconnectResponse resp = PEERLINK__V1__DISCONNECT_RESPONSE__INIT;
  if (check_peer_id(call, req->peer_id) != 0)
    return;
  pl_link *l = pl_links_find_peer(&a->links, req->peer_id);
  if (l == NULL) {
    pl_rpc_call_finish(call, PL_RPC_NOT_FOUND, "peer_id: not connected to %s", req->peer_id);
    return;
  }
  pl_link_close(l, "disconnected by request");
  reply(call, &resp.base);
}

static void send_message(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  const Peerlink__V1__SendRequest *req = (const Peerlink__V1__SendRequest *)msg;
  if (check_peer_id(call, req->peer_id) != 0)
    return;
  if (req->delivery == PEERLINK__V1__DELIVERY__DELIVERY_TCP) {
    pl_agent_send_tcp(a, call, req);
    return;
  }
  if (req->delivery == PEERLINK__V1__DELIVERY__DELIVERY_QUIC_STREAM) {
    pl_api_send_quic(a, call, req);
    return;
  }
  if (req->delivery == PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE) {
    pl_api_send_reliable(a, call, req);
    return;
  }
  if (req->delivery != PEERLINK__V1__DELIVERY__DELIVERY_DATAGRAM &&
      req->delivery != PEERLINK__V1__DELIVERY__DELIVERY_UNSPECIFIED) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "delivery: unknown value %d",
                       (int)req->delivery);
    return;
  }
  pl_api_send_datagram(a, call, req);
}

/* A Send that waited for an acknowledgement (pl_send_wait) ended before it came. */
static void send_done(pl_rpc_call *call, int cancelled, void *data) {
  pl_send_wait *w = pl_rpc_call_data(call);
  (void)cancelled;
  (void)data;
  if (w)
    w->cancel(w);
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
    METHOD("Connect", PL_RPC_UNARY, connect_request, connect_response, connect_peer, connect_done),
    METHOD("Disconnect", PL_RPC_UNARY, disconnect_request, disconnect_response, disconnect_peer,
           NULL),
    METHOD("Send", PL_RPC_UNARY, send_request, send_response, send_message, send_done),
    METHOD("Benchmark", PL_RPC_SERVER_STREAMING, benchmark_request, benchmark_response,
           pl_api_benchmark, pl_api_benchmark_done),
    METHOD("SendFile", PL_RPC_SERVER_STREAMING, send_file_request, send_file_response,
           pl_api_send_file, pl_api_send_file_done),
};

void pl_agent_service_init(pl_agent *agent) {
  agent->service.full_name = "peerlink.v1.Agent";
  agent->service.methods = agent_methods;
  agent->service.n_methods = sizeof agent_methods / sizeof agent_methods[0];
  agent->service.data = agent;
}
