/* Text formatting for people (clients/cli/output.c), without a server. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/cli/cli.h"
#include "peerlink/v1/common.pb-c.h"
#include "tests/unit/common/check.h"

/* Runs one formatter into a string. */
#define FORMAT(call, want)                                                                         \
  do {                                                                                             \
    char *buf_ = NULL;                                                                             \
    size_t len_ = 0;                                                                               \
    FILE *out = open_memstream(&buf_, &len_);                                                      \
    call;                                                                                          \
    fclose(out);                                                                                   \
    CHECK_STR_EQ(buf_, want);                                                                      \
    free(buf_);                                                                                    \
  } while (0)

static void test_enum_label(void) {
  char buf[64];
  CHECK_STR_EQ(pl_cli_enum_label(&peerlink__v1__nat_behavior__descriptor,
                                 PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UDP_BLOCKED, buf,
                                 sizeof(buf)),
               "udp-blocked");
  CHECK_STR_EQ(pl_cli_enum_label(&peerlink__v1__rendezvous_state__descriptor, 0, buf, 64),
               "unspecified");
  CHECK_STR_EQ(pl_cli_enum_label(&peerlink__v1__path_kind__descriptor, 99, buf, 64), "99");
  CHECK_STR_EQ(pl_cli_enum_label(&peerlink__v1__delivery__descriptor, 3, buf, 6), "quic-");
}

static void test_status_empty(void) {
  Peerlink__V1__GetStatusResponse st = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  FORMAT(pl_cli_format_status(out, &st), "id:                -\n"
                                         "name:              -\n"
                                         "version:           -\n"
                                         "uptime:            0s\n"
                                         "rendezvous:        unspecified\n"
                                         "control address:   -\n"
                                         "udp address:       -\n"
                                         "public endpoint:   -\n"
                                         "nat:               unspecified\n"
                                         "certificate:       -\n"
                                         "dropped datagrams: 0 unauthenticated\n"
                                         "paths:             0\n");
  st.uptime_seconds = 2 * 86400 + 3 * 3600 + 4 * 60 + 5;
  st.rendezvous_state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISABLED;
  Peerlink__V1__PeerPath path = PEERLINK__V1__PEER_PATH__INIT;
  Peerlink__V1__PeerPath *paths[] = {&path};
  st.n_peers = 1;
  st.peers = paths;
  FORMAT(pl_cli_format_status(out, &st), "id:                -\n"
                                         "name:              -\n"
                                         "version:           -\n"
                                         "uptime:            2d 3h 4m\n"
                                         "rendezvous:        disabled\n"
                                         "control address:   -\n"
                                         "udp address:       -\n"
                                         "public endpoint:   -\n"
                                         "nat:               unspecified\n"
                                         "certificate:       -\n"
                                         "dropped datagrams: 0 unauthenticated\n"
                                         "paths:             1\n"
                                         "  - kind=unspecified local=- remote=-\n");
}

static void test_peers_empty(void) {
  Peerlink__V1__ListPeersResponse lp = PEERLINK__V1__LIST_PEERS_RESPONSE__INIT;
  FORMAT(pl_cli_format_peers(out, &lp), "no peers\n");
}

static void test_events(void) {
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  FORMAT(pl_cli_format_event(out, &ev), "- event kind=unknown\n");

  Peerlink__V1__RendezvousStateChanged rc = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  rc.state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISCONNECTED;
  rc.detail = "stream ended: UNAVAILABLE";
  ev.unix_ms = 86400000 + 5;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  ev.rendezvous = &rc;
  FORMAT(pl_cli_format_event(out, &ev), "1970-01-02 00:00:00.005 rendezvous state=disconnected "
                                        "detail=\"stream ended: UNAVAILABLE\"\n");

  Peerlink__V1__Endpoint remote = PEERLINK__V1__ENDPOINT__INIT;
  remote.ip = "::1";
  remote.port = 9;
  Peerlink__V1__PeerPath path = PEERLINK__V1__PEER_PATH__INIT;
  path.peer_id = "b0b0";
  path.kind = PEERLINK__V1__PATH_KIND__PATH_KIND_RELAY;
  path.remote = &remote;
  path.rtt_us = 25250;
  Peerlink__V1__PathChanged pc = PEERLINK__V1__PATH_CHANGED__INIT;
  pc.path = &path;
  pc.detail = "direct=probe-timeout";
  ev.kind_case = PEERLINK__V1__EVENT__KIND_PATH;
  ev.path = &pc;
  FORMAT(pl_cli_format_event(out, &ev), "1970-01-02 00:00:00.005 path peer=b0b0 kind=relay "
                                        "local=- remote=[::1]:9 rtt=25.2ms "
                                        "detail=\"direct=probe-timeout\"\n");

  Peerlink__V1__PeerListChanged pl = PEERLINK__V1__PEER_LIST_CHANGED__INIT;
  Peerlink__V1__AgentInfo a = PEERLINK__V1__AGENT_INFO__INIT;
  a.id = "c4r01";
  pl.peer = &a;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_PEER_LIST;
  ev.peer_list = &pl;
  FORMAT(pl_cli_format_event(out, &ev), "1970-01-02 00:00:00.005 peer-left id=c4r01\n");

  /* text stays readable (UTF-8 kept), anything else is escaped */
  Peerlink__V1__MessageReceived mr = PEERLINK__V1__MESSAGE_RECEIVED__INIT;
  mr.peer_id = "b0b0";
  mr.delivery = PEERLINK__V1__DELIVERY__DELIVERY_DATAGRAM;
  mr.data.data = (uint8_t *)"zo\xc3\xab\xff\t\\";
  mr.data.len = 7;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_MESSAGE;
  ev.message = &mr;
  FORMAT(pl_cli_format_event(out, &ev), "1970-01-02 00:00:00.005 message from=b0b0 "
                                        "delivery=datagram bytes=7 "
                                        "data=\"zo\xc3\xab\\xff\\t\\\\\"\n");
  mr.data.len = 0;
  FORMAT(pl_cli_format_event(out, &ev), "1970-01-02 00:00:00.005 message from=b0b0 "
                                        "delivery=datagram bytes=0 data=\"\"\n");
}

int main(void) {
  setenv("TZ", "UTC", 1);
  tzset();
  test_enum_label();
  test_status_empty();
  test_peers_empty();
  test_events();
  printf("output_test: ok\n");
  return 0;
}
