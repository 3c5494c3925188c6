/* A stand-in for peerlink-agent's control API with canned answers, so peerlinkctl can be
 * tested before and apart from the real agent.
 *
 * usage: fake_agent [--token T] [--fail-peers] [--end-watch]
 * Prints "fake-agent: control=127.0.0.1:PORT" once serving; stops on SIGTERM.
 * WatchEvents sends (with include_current) a rendezvous event, then a peer-joined event and a
 * message event; it then holds the stream open, or ends it OK with --end-watch. */

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "control/rpc/rpc.h"
#include "peerlink/descriptor_set.h"
#include "peerlink/v1/agent.pb-c.h"

static int fail_peers, end_watch;

static void get_status(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  (void)msg, (void)data;
  Peerlink__V1__Endpoint pub = PEERLINK__V1__ENDPOINT__INIT;
  pub.ip = "203.0.113.7";
  pub.port = 40001;
  Peerlink__V1__Endpoint local = PEERLINK__V1__ENDPOINT__INIT, remote = local;
  local.ip = "10.0.0.2";
  local.port = 5000;
  remote.ip = "2001:db8::9";
  remote.port = 6000;
  Peerlink__V1__PeerPath path = PEERLINK__V1__PEER_PATH__INIT;
  path.peer_id = "b0b0";
  path.peer_name = "bob";
  path.kind = PEERLINK__V1__PATH_KIND__PATH_KIND_DIRECT;
  path.local = &local;
  path.remote = &remote;
  path.rtt_us = 1500;
  path.connect_ms = 120;
  Peerlink__V1__PeerPath *paths[] = {&path};
  Peerlink__V1__GetStatusResponse st = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  st.id = "a11ce";
  st.name = "alice";
  st.version = "0.1.0";
  st.uptime_seconds = 3723;
  st.rendezvous_state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_REGISTERED;
  st.rendezvous_address = "127.0.0.1:7800";
  st.control_address = "127.0.0.1:7700";
  st.udp_address = "0.0.0.0:41000";
  st.public_endpoint = &pub;
  st.nat_behavior = PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
  st.n_peers = 1;
  st.peers = paths;
  st.dropped_unauthenticated = 3;
  st.cert_fingerprint = "ab12";
  pl_rpc_call_reply(call, &st.base);
}

static void list_peers(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  (void)msg, (void)data;
  if (fail_peers) {
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "no rendezvous configured");
    return;
  }
  Peerlink__V1__AgentInfo a = PEERLINK__V1__AGENT_INFO__INIT, b = a;
  a.id = "b0b0";
  a.name = "bob";
  a.observed_address = "ipv4:198.51.100.9:5555";
  a.registered_unix_ms = 1700000000000; /* 2023-11-14 22:13:20 UTC */
  b.id = "c4r01";
  b.observed_address = "ipv6:[2001:db8::1]:6666";
  b.registered_unix_ms = 1700000060000;
  Peerlink__V1__AgentInfo *agents[] = {&a, &b};
  Peerlink__V1__ListPeersResponse lp = PEERLINK__V1__LIST_PEERS_RESPONSE__INIT;
  lp.n_peers = 2;
  lp.peers = agents;
  pl_rpc_call_reply(call, &lp.base);
}

static void send_event(pl_rpc_call *call, Peerlink__V1__Event *ev) {
  Peerlink__V1__WatchEventsResponse r = PEERLINK__V1__WATCH_EVENTS_RESPONSE__INIT;
  r.event = ev;
  pl_rpc_call_send(call, &r.base);
}

static void watch_events(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__WatchEventsRequest *req = (const Peerlink__V1__WatchEventsRequest *)msg;
  (void)data;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  if (req->include_current) {
    Peerlink__V1__RendezvousStateChanged rc = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
    rc.state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_REGISTERED;
    ev.unix_ms = 1700000000000;
    ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
    ev.rendezvous = &rc;
    send_event(call, &ev);
  }
  Peerlink__V1__AgentInfo a = PEERLINK__V1__AGENT_INFO__INIT;
  a.id = "b0b0";
  a.name = "bob smith";
  a.observed_address = "ipv4:198.51.100.9:5555";
  Peerlink__V1__PeerListChanged pl = PEERLINK__V1__PEER_LIST_CHANGED__INIT;
  pl.joined = 1;
  pl.peer = &a;
  ev.unix_ms = 1700000001234;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_PEER_LIST;
  ev.peer_list = &pl;
  send_event(call, &ev);
  Peerlink__V1__MessageReceived mr = PEERLINK__V1__MESSAGE_RECEIVED__INIT;
  mr.peer_id = "b0b0";
  mr.delivery = PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE;
  mr.data.data = (uint8_t *)"hi \"there\"\n\x01";
  mr.data.len = 12;
  ev.unix_ms = 1700000002000;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_MESSAGE;
  ev.message = &mr;
  send_event(call, &ev);
  if (end_watch)
    pl_rpc_call_finish(call, PL_RPC_OK, NULL);
  /* else the stream stays open until the client goes away */
}

static const pl_rpc_method methods[] = {
    {"GetStatus", PL_RPC_UNARY, &peerlink__v1__get_status_request__descriptor,
     &peerlink__v1__get_status_response__descriptor, get_status, NULL, NULL},
    {"WatchEvents", PL_RPC_SERVER_STREAMING, &peerlink__v1__watch_events_request__descriptor,
     &peerlink__v1__watch_events_response__descriptor, watch_events, NULL, NULL},
    {"ListPeers", PL_RPC_UNARY, &peerlink__v1__list_peers_request__descriptor,
     &peerlink__v1__list_peers_response__descriptor, list_peers, NULL, NULL},
};

static const pl_rpc_service service = {"peerlink.v1.Agent", methods,
                                       sizeof(methods) / sizeof(methods[0]), NULL};

static pl_rpc_server *server;
static uv_signal_t sigterm;

static void on_closed(uv_handle_t *h) {
  (void)h;
}

static void on_sigterm(uv_signal_t *h, int signum) {
  (void)signum;
  uv_close((uv_handle_t *)h, on_closed);
  pl_rpc_server_shutdown(server, 0, NULL, NULL);
}

int main(int argc, char **argv) {
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0",
                              .descriptor_set = pl_descriptor_set,
                              .descriptor_set_len = pl_descriptor_set_len};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--token") && i + 1 < argc)
      cfg.token = argv[++i];
    else if (!strcmp(argv[i], "--fail-peers"))
      fail_peers = 1;
    else if (!strcmp(argv[i], "--end-watch"))
      end_watch = 1;
    else
      return 2;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  int port;
  if (pl_rpc_server_new(&server, &loop, &cfg) || pl_rpc_server_add_service(server, &service) ||
      pl_rpc_server_start(server, &port)) {
    fprintf(stderr, "fake-agent: cannot start\n");
    return 1;
  }
  uv_signal_init(&loop, &sigterm);
  uv_signal_start(&sigterm, on_sigterm, SIGTERM);
  printf("fake-agent: control=127.0.0.1:%d\n", port);
  fflush(stdout);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}
