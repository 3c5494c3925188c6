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

static void test_units(void) {
  char buf[64];
  CHECK_STR_EQ(pl_cli_fmt_bytes(buf, sizeof(buf), 999), "999 Bytes");
  CHECK_STR_EQ(pl_cli_fmt_bytes(buf, sizeof(buf), 1536), "1.50 KBytes");
  CHECK_STR_EQ(pl_cli_fmt_bytes(buf, sizeof(buf), 200ull << 20), "200 MBytes");
  CHECK_STR_EQ(pl_cli_fmt_bits(buf, sizeof(buf), 0), "0.00 bits/sec");
  CHECK_STR_EQ(pl_cli_fmt_bits(buf, sizeof(buf), 98.7e6), "98.7 Mbits/sec");
  CHECK_STR_EQ(pl_cli_fmt_bits(buf, sizeof(buf), 1.25e9), "1.25 Gbits/sec");
  CHECK_STR_EQ(pl_cli_fmt_bar(buf, sizeof(buf), 0.5, 10), "[#####     ]  50%");
  CHECK_STR_EQ(pl_cli_fmt_bar(buf, sizeof(buf), 2.0, 4), "[####] 100%");
  CHECK_STR_EQ(pl_cli_fmt_bar(buf, sizeof(buf), -1, 4), "[    ]   0%");
}

static void test_bench(void) {
  Peerlink__V1__BenchmarkReport r = PEERLINK__V1__BENCHMARK_REPORT__INIT;
  r.transport = PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_UDP;
  r.elapsed_ms = 2000;
  r.bytes_sent = 1250000;
  r.bytes_received = 1240000;
  r.sender_bps = 10e6;
  r.receiver_bps = 9.92e6;
  r.packets_sent = 1000;
  r.packets_received = 992;
  r.lost = 8;
  FORMAT(pl_cli_format_bench_interval(out, &r, 1000),
         "  1.00-2.00   sec  1.19 MBytes   10.0 Mbits/sec   1.18 MBytes   9.92 Mbits/sec  lost "
         "8/1000 (0.8%)\n");
  r.final = 1;
  r.jitter_us = 12;
  r.sender_cpu_seconds = 0.25;
  r.receiver_cpu_seconds = 0.5;
  FORMAT(pl_cli_format_bench_summary(out, &r),
         "- - - - - - - - - - - - - - - - - - - - - - - - -\n"
         "transport: udp\n"
         "  0.00-2.00   sec  1.19 MBytes   10.0 Mbits/sec   1000 datagrams  cpu 0.25 s  sender\n"
         "  0.00-2.00   sec  1.18 MBytes   9.92 Mbits/sec   992 datagrams  lost 8/1000 (0.8%)  "
         "jitter 0.012 ms  out of order 0  cpu 0.50 s  receiver\n");
  /* streams count chunks and have no loss or jitter */
  r.transport = PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_QUIC;
  FORMAT(pl_cli_format_bench_summary(out, &r),
         "- - - - - - - - - - - - - - - - - - - - - - - - -\n"
         "transport: quic\n"
         "  0.00-2.00   sec  1.19 MBytes   10.0 Mbits/sec   1000 chunks  cpu 0.25 s  sender\n"
         "  0.00-2.00   sec  1.18 MBytes   9.92 Mbits/sec   992 chunks  cpu 0.50 s  receiver\n");
}

static void test_new_events(void) {
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  Peerlink__V1__FileReceived f = PEERLINK__V1__FILE_RECEIVED__INIT;
  ev.unix_ms = 1700000000000;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_FILE;
  ev.file = &f;
  f.peer_id = "b0b0";
  f.name = "a b.txt";
  f.size = 5;
  f.error = "disk full";
  FORMAT(pl_cli_format_event(out, &ev),
         "2023-11-14 22:13:20.000 file from=b0b0 name=\"a b.txt\" size=5 error=\"disk full\"\n");
  Peerlink__V1__QuicChanged q = PEERLINK__V1__QUIC_CHANGED__INIT;
  Peerlink__V1__QuicState qs = PEERLINK__V1__QUIC_STATE__INIT;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_QUIC;
  ev.quic = &q;
  q.peer_id = "b0b0";
  q.state = &qs;
  qs.established = 1;
  qs.client = 1;
  FORMAT(pl_cli_format_event(out, &ev),
         "2023-11-14 22:13:20.000 quic peer=b0b0 established=yes role=client\n");
}

int main(void) {
  setenv("TZ", "UTC", 1);
  tzset();
  test_enum_label();
  test_status_empty();
  test_peers_empty();
  test_events();
  test_units();
  test_bench();
  test_new_events();
  printf("output_test: ok\n");
  return 0;
}
