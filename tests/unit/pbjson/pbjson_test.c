/* pl_pbjson_encode: golden output for the peerlink API messages and every field shape. */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/pbjson.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "pbjson_test.pb-c.h"
#include "pbjson_test2.pb-c.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/common.pb-c.h"
#include "tests/unit/common/check.h"

/* msg with flags encodes to exactly `want`. */
#define CHECK_JSON(msg, flags, want)                                                               \
  do {                                                                                             \
    char *got_json_ = NULL;                                                                        \
    CHECK_RV(pl_pbjson_encode((const ProtobufCMessage *)(msg), (flags), &got_json_), 0);           \
    CHECK_STR_EQ(got_json_, (want));                                                               \
    free(got_json_);                                                                               \
  } while (0)

/* msg fails to encode with `want_rv`, and the output pointer is cleared. */
#define CHECK_ENCODE_FAILS(msg, want_rv)                                                           \
  do {                                                                                             \
    char *got_json_ = (char *)"x";                                                                 \
    CHECK_RV(pl_pbjson_encode((const ProtobufCMessage *)(msg), 0, &got_json_), (want_rv));         \
    CHECK(got_json_ == NULL);                                                                      \
  } while (0)

static void test_status(void) {
  Peerlink__V1__Endpoint pub = PEERLINK__V1__ENDPOINT__INIT;
  pub.ip = "203.0.113.7";
  pub.port = 40001;
  Peerlink__V1__Endpoint local = PEERLINK__V1__ENDPOINT__INIT, remote = local;
  local.ip = "10.0.0.2";
  local.port = 5000;
  remote.ip = "198.51.100.9";
  remote.port = 6000;
  Peerlink__V1__PeerPath path = PEERLINK__V1__PEER_PATH__INIT;
  path.peer_id = "b0b";
  path.kind = PEERLINK__V1__PATH_KIND__PATH_KIND_DIRECT;
  path.local = &local;
  path.remote = &remote;
  path.rtt_us = 1500;
  Peerlink__V1__PeerPath *paths[] = {&path};
  Peerlink__V1__GetStatusResponse st = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  st.id = "a1ce";
  st.name = "alice";
  st.uptime_seconds = UINT64_MAX;
  st.rendezvous_state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_REGISTERED;
  st.control_address = "127.0.0.1:7700";
  st.public_endpoint = &pub;
  st.nat_behavior = PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
  st.n_peers = 1;
  st.peers = paths;
  CHECK_JSON(
      &st, 0,
      "{\"id\":\"a1ce\",\"name\":\"alice\",\"uptimeSeconds\":\"18446744073709551615\","
      "\"rendezvousState\":\"RENDEZVOUS_STATE_REGISTERED\",\"controlAddress\":\"127.0.0.1:7700\","
      "\"publicEndpoint\":{\"ip\":\"203.0.113.7\",\"port\":40001},"
      "\"natBehavior\":\"NAT_BEHAVIOR_ENDPOINT_INDEPENDENT\","
      "\"peers\":[{\"peerId\":\"b0b\",\"kind\":\"PATH_KIND_DIRECT\","
      "\"local\":{\"ip\":\"10.0.0.2\",\"port\":5000},"
      "\"remote\":{\"ip\":\"198.51.100.9\",\"port\":6000},\"rttUs\":\"1500\"}]}");
  CHECK_JSON(&st, PL_PBJSON_PROTO_NAMES | PL_PBJSON_PRETTY,
             "{\n"
             "  \"id\": \"a1ce\",\n"
             "  \"name\": \"alice\",\n"
             "  \"uptime_seconds\": \"18446744073709551615\",\n"
             "  \"rendezvous_state\": \"RENDEZVOUS_STATE_REGISTERED\",\n"
             "  \"control_address\": \"127.0.0.1:7700\",\n"
             "  \"public_endpoint\": {\n"
             "    \"ip\": \"203.0.113.7\",\n"
             "    \"port\": 40001\n"
             "  },\n"
             "  \"nat_behavior\": \"NAT_BEHAVIOR_ENDPOINT_INDEPENDENT\",\n"
             "  \"peers\": [\n"
             "    {\n"
             "      \"peer_id\": \"b0b\",\n"
             "      \"kind\": \"PATH_KIND_DIRECT\",\n"
             "      \"local\": {\n"
             "        \"ip\": \"10.0.0.2\",\n"
             "        \"port\": 5000\n"
             "      },\n"
             "      \"remote\": {\n"
             "        \"ip\": \"198.51.100.9\",\n"
             "        \"port\": 6000\n"
             "      },\n"
             "      \"rtt_us\": \"1500\"\n"
             "    }\n"
             "  ]\n"
             "}");

  Peerlink__V1__GetStatusResponse empty = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  CHECK_JSON(&empty, 0, "{}");
  CHECK_JSON(&empty, PL_PBJSON_PRETTY, "{}");
  CHECK_JSON(&empty, PL_PBJSON_EMIT_DEFAULTS,
             "{\"id\":\"\",\"name\":\"\",\"version\":\"\",\"uptimeSeconds\":\"0\","
             "\"rendezvousState\":\"RENDEZVOUS_STATE_UNSPECIFIED\",\"rendezvousAddress\":\"\","
             "\"controlAddress\":\"\",\"udpAddress\":\"\",\"publicEndpoint\":null,"
             "\"natBehavior\":\"NAT_BEHAVIOR_UNSPECIFIED\",\"peers\":[],"
             "\"droppedUnauthenticated\":\"0\",\"certFingerprint\":\"\",\"publicKey\":\"\","
             "\"tcpPublicEndpoint\":null,\"tcpPort\":0}");
  CHECK_JSON(
      &empty, PL_PBJSON_EMIT_DEFAULTS | PL_PBJSON_PRETTY,
      "{\n  \"id\": \"\",\n  \"name\": \"\",\n  \"version\": \"\",\n  \"uptimeSeconds\": \"0\",\n"
      "  \"rendezvousState\": \"RENDEZVOUS_STATE_UNSPECIFIED\",\n  \"rendezvousAddress\": \"\",\n"
      "  \"controlAddress\": \"\",\n  \"udpAddress\": \"\",\n  \"publicEndpoint\": null,\n"
      "  \"natBehavior\": \"NAT_BEHAVIOR_UNSPECIFIED\",\n  \"peers\": [],\n"
      "  \"droppedUnauthenticated\": \"0\",\n  \"certFingerprint\": \"\",\n  \"publicKey\": \"\",\n"
      "  \"tcpPublicEndpoint\": null,\n  \"tcpPort\": 0\n}");
}

static void test_peers_and_events(void) {
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  ep.ip = "::1";
  ep.port = 1;
  Peerlink__V1__Candidate cand = PEERLINK__V1__CANDIDATE__INIT;
  cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE;
  cand.endpoint = &ep;
  Peerlink__V1__Candidate *cands[] = {&cand, &cand};
  Peerlink__V1__AgentInfo a = PEERLINK__V1__AGENT_INFO__INIT, b = a;
  a.id = "aa";
  a.registered_unix_ms = -1;
  a.n_candidates = 2;
  a.candidates = cands;
  b.id = "bb";
  b.name = "b\"ob\\\n";
  b.registered_unix_ms = INT64_MIN;
  Peerlink__V1__AgentInfo *agents[] = {&a, &b};
  Peerlink__V1__ListPeersResponse lp = PEERLINK__V1__LIST_PEERS_RESPONSE__INIT;
  lp.n_peers = 2;
  lp.peers = agents;
  CHECK_JSON(
      &lp, 0,
      "{\"peers\":[{\"id\":\"aa\",\"candidates\":["
      "{\"kind\":\"CANDIDATE_KIND_SERVER_REFLEXIVE\",\"endpoint\":{\"ip\":\"::1\",\"port\":1}},"
      "{\"kind\":\"CANDIDATE_KIND_SERVER_REFLEXIVE\",\"endpoint\":{\"ip\":\"::1\",\"port\":1}}],"
      "\"registeredUnixMs\":\"-1\"},"
      "{\"id\":\"bb\",\"name\":\"b\\\"ob\\\\\\n\","
      "\"registeredUnixMs\":\"-9223372036854775808\"}]}");

  /* oneof with a message member; bytes with each padding length */
  uint8_t data[] = {'h', 'i', 0, 0xff};
  Peerlink__V1__MessageReceived mr = PEERLINK__V1__MESSAGE_RECEIVED__INIT;
  mr.peer_id = "bb";
  mr.delivery = PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE;
  mr.data.data = data;
  mr.data.len = 4;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  ev.unix_ms = 1700000000123;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_MESSAGE;
  ev.message = &mr;
  Peerlink__V1__WatchEventsResponse we = PEERLINK__V1__WATCH_EVENTS_RESPONSE__INIT;
  we.event = &ev;
  CHECK_JSON(&we, 0,
             "{\"event\":{\"unixMs\":\"1700000000123\",\"message\":{\"peerId\":\"bb\","
             "\"delivery\":\"DELIVERY_RELIABLE\",\"data\":\"aGkA/w==\"}}}");
  mr.data.len = 3;
  CHECK_JSON(&mr, 0, "{\"peerId\":\"bb\",\"delivery\":\"DELIVERY_RELIABLE\",\"data\":\"aGkA\"}");
  mr.data.len = 2;
  CHECK_JSON(&mr, 0, "{\"peerId\":\"bb\",\"delivery\":\"DELIVERY_RELIABLE\",\"data\":\"aGk=\"}");
  /* unknown enum values print as numbers */
  mr.delivery = 42;
  mr.data.len = 0;
  CHECK_JSON(&mr, 0, "{\"peerId\":\"bb\",\"delivery\":42}");

  /* a oneof member set to its default is still printed; unset ones never are */
  Peerlink__V1__RendezvousStateChanged rc = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  ev.rendezvous = &rc;
  ev.unix_ms = 0;
  CHECK_JSON(&ev, 0, "{\"rendezvous\":{}}");
  CHECK_JSON(&ev, PL_PBJSON_EMIT_DEFAULTS,
             "{\"unixMs\":\"0\",\"rendezvous\":{\"state\":\"RENDEZVOUS_STATE_UNSPECIFIED\","
             "\"detail\":\"\"}}");
  ev.kind_case = PEERLINK__V1__EVENT__KIND__NOT_SET;
  CHECK_JSON(&ev, PL_PBJSON_EMIT_DEFAULTS, "{\"unixMs\":\"0\"}");
}

static void test_scalars(void) {
  Pbjsontest__Scalars s = PBJSONTEST__SCALARS__INIT;
  s.f_int32 = INT32_MIN;
  s.f_int64 = INT64_MAX;
  s.f_uint32 = UINT32_MAX;
  s.f_uint64 = 1;
  s.f_sint32 = -5;
  s.f_sint64 = -6;
  s.f_fixed32 = 7;
  s.f_fixed64 = 8;
  s.f_sfixed32 = -9;
  s.f_sfixed64 = -10;
  s.f_float = 0.1f;
  s.f_double = 0.1;
  s.f_bool = 1;
  s.f_string = "\x01\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  s.f_enum = PBJSONTEST__COLOR__COLOR_GREEN;
  CHECK_JSON(
      &s, 0,
      "{\"fInt32\":-2147483648,\"fInt64\":\"9223372036854775807\",\"fUint32\":4294967295,"
      "\"fUint64\":\"1\",\"fSint32\":-5,\"fSint64\":\"-6\",\"fFixed32\":7,\"fFixed64\":\"8\","
      "\"fSfixed32\":-9,\"fSfixed64\":\"-10\",\"fFloat\":0.1,\"fDouble\":0.1,\"fBool\":true,"
      "\"fString\":\"\\u0001\\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
      "\"fEnum\":\"COLOR_GREEN\"}");

  static const struct {
    double d;
    const char *want;
  } doubles[] = {
      {1, "1"},
      {-2.5, "-2.5"},
      {1e21, "1e+21"},
      {1e20, "100000000000000000000"},
      {123456789012345678.0, "123456789012345680"},
      {1e-6, "0.000001"},
      {1.5e-7, "1.5e-7"},
      {-1.2345e-300, "-1.2345e-300"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.30000000000000004, "0.30000000000000004"},
      {NAN, "\"NaN\""},
      {INFINITY, "\"Infinity\""},
      {-INFINITY, "\"-Infinity\""},
  };
  Pbjsontest__Scalars d = PBJSONTEST__SCALARS__INIT;
  for (size_t i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++) {
    char want[128];
    d.f_double = doubles[i].d;
    snprintf(want, sizeof(want), "{\"fDouble\":%s}", doubles[i].want);
    CHECK_JSON(&d, 0, want);
  }
  d.f_double = 0;
  d.f_float = 3.4028235e38f;
  CHECK_JSON(&d, 0, "{\"fFloat\":3.4028235e+38}");
  d.f_float = 16777216.0f;
  CHECK_JSON(&d, 0, "{\"fFloat\":16777216}");
  d.f_float = 1.1f;
  CHECK_JSON(&d, 0, "{\"fFloat\":1.1}");

  /* each invalid UTF-8 byte becomes U+FFFD rather than passing through into the JSON */
  Pbjsontest__Scalars u = PBJSONTEST__SCALARS__INIT;
  u.f_string = "a\xff"
               "b\xc0\xaf"
               "c\xed\xa0\x80"
               "d\xe2\x82";
#define FFFD "\xef\xbf\xbd"
  CHECK_JSON(&u, 0, "{\"fString\":\"a" FFFD "b" FFFD FFFD "c" FFFD FFFD FFFD "d" FFFD FFFD "\"}");
#undef FFFD
  u.f_string = "\x7f\x1f";
  CHECK_JSON(&u, 0, "{\"fString\":\"\x7f\\u001f\"}");
}

static void test_repeated(void) {
  int32_t i32[] = {1, -1};
  int64_t i64[] = {INT64_MIN};
  float fl[] = {0.5f, -0.25f};
  protobuf_c_boolean bo[] = {1, 0};
  char *str[] = {"x", ""};
  ProtobufCBinaryData by[] = {{1, (uint8_t *)"\xfb"}};
  int en[] = {PBJSONTEST__COLOR__COLOR_RED, 9};
  Pbjsontest__Nested n1 = PBJSONTEST__NESTED__INIT, n2 = PBJSONTEST__NESTED__INIT;
  n1.label_text = "one";
  Pbjsontest__Nested *kids[] = {&n1, &n2};
  Pbjsontest__Repeateds r = PBJSONTEST__REPEATEDS__INIT;
  r.n_r_int32 = 2, r.r_int32 = i32;
  r.n_r_int64 = 1, r.r_int64 = i64;
  r.n_r_float = 2, r.r_float = fl;
  r.n_r_bool = 2, r.r_bool = bo;
  r.n_r_string = 2, r.r_string = str;
  r.n_r_bytes = 1, r.r_bytes = by;
  r.n_r_enum = 2, r.r_enum = (Pbjsontest__Color *)en;
  r.n_r_nested = 2, r.r_nested = kids;
  CHECK_JSON(&r, 0,
             "{\"rInt32\":[1,-1],\"rInt64\":[\"-9223372036854775808\"],\"rFloat\":[0.5,-0.25],"
             "\"rBool\":[true,false],\"rString\":[\"x\",\"\"],\"rBytes\":[\"+w==\"],"
             "\"rEnum\":[\"COLOR_RED\",9],\"rNested\":[{\"labelText\":\"one\"},{}]}");
  CHECK_JSON(
      &r, PL_PBJSON_PRETTY,
      "{\n  \"rInt32\": [\n    1,\n    -1\n  ],\n  \"rInt64\": [\n    \"-9223372036854775808\"\n"
      "  ],\n  \"rFloat\": [\n    0.5,\n    -0.25\n  ],\n  \"rBool\": [\n    true,\n    false\n"
      "  ],\n  \"rString\": [\n    \"x\",\n    \"\"\n  ],\n  \"rBytes\": [\n    \"+w==\"\n  ],\n"
      "  \"rEnum\": [\n    \"COLOR_RED\",\n    9\n  ],\n  \"rNested\": [\n    {\n"
      "      \"labelText\": \"one\"\n    },\n    {}\n  ]\n}");

  /* a oneof member set to its default is printed; odd field names follow protoc's rule */
  Pbjsontest__Everything ev = PBJSONTEST__EVERYTHING__INIT;
  ev.choice_case = PBJSONTEST__EVERYTHING__CHOICE_C_INT32;
  ev.x2y_z__w = "odd";
  CHECK_JSON(&ev, 0, "{\"cInt32\":0,\"x2yZW\":\"odd\"}");
  CHECK_JSON(&ev, PL_PBJSON_PRETTY | PL_PBJSON_PROTO_NAMES,
             "{\n  \"c_int32\": 0,\n  \"x2y_z__w\": \"odd\"\n}");
}

static void test_proto2(void) {
  Pbjsontest__Proto2 p = PBJSONTEST__PROTO2__INIT;
  CHECK_JSON(&p, 0, "{\"req\":0}");
  CHECK_JSON(&p, PL_PBJSON_EMIT_DEFAULTS,
             "{\"req\":0,\"opt\":0,\"optStr\":\"dflt\",\"optBytes\":\"\",\"child\":null,"
             "\"optDouble\":1.5,\"packed\":[]}");
  Pbjsontest__Proto2 child = PBJSONTEST__PROTO2__INIT;
  p.has_opt = 1;
  p.opt_str = "";
  p.has_opt_double = 1;
  p.child = &child;
  CHECK_JSON(&p, 0,
             "{\"req\":0,\"opt\":0,\"optStr\":\"\",\"child\":{\"req\":0},\"optDouble\":1.5}");
}

/* Well-known types have JSON forms of their own, which pbjson does not build: refused rather
 * than printed as plain messages. Empty's form is the plain one. */
static void test_wkt_refused(void) {
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1;
  CHECK_ENCODE_FAILS(&ts, PL_ERR_INVALID);
  Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
  CHECK_JSON(&empty, 0, "{}");
}

/* A message's jansson tree inside a larger document keeps protojson's spelling when written
 * with pl_pbjson_dumps. */
static void test_tree(void) {
  Pbjsontest__Scalars sc = PBJSONTEST__SCALARS__INIT;
  sc.f_float = 0.1f;
  sc.f_double = 1;
  sc.f_string = "\x1f";
  json_t *tree = NULL, *doc = json_object();
  CHECK_RV(pl_pbjson_to_json(&sc.base, 0, &tree), 0);
  CHECK(doc != NULL && tree != NULL);
  CHECK(json_object_set_new(doc, "type", json_string("offer")) == 0);
  CHECK(json_object_set_new(doc, "msg", tree) == 0);
  CHECK(json_object_set_new(doc, "ratio", json_real(1e21)) == 0);
  char *text = NULL;
  CHECK_RV(pl_pbjson_dumps(doc, 0, &text), 0);
  CHECK_STR_EQ(text, "{\"type\":\"offer\",\"msg\":{\"fFloat\":0.1,\"fDouble\":1,"
                     "\"fString\":\"\\u001f\"},\"ratio\":1e+21}");
  free(text);
  CHECK_RV(pl_pbjson_dumps(doc, PL_PBJSON_PRETTY, &text), 0);
  CHECK_STR_EQ(text, "{\n  \"type\": \"offer\",\n  \"msg\": {\n    \"fFloat\": 0.1,\n"
                     "    \"fDouble\": 1,\n    \"fString\": \"\\u001f\"\n  },\n"
                     "  \"ratio\": 1e+21\n}");
  free(text);
  json_decref(doc);

  text = (char *)"x";
  CHECK_RV(pl_pbjson_dumps(NULL, 0, &text), PL_ERR_INVALID);
  CHECK(text == NULL);
  tree = NULL;
  CHECK_RV(pl_pbjson_to_json(NULL, 0, &tree), PL_ERR_INVALID);
  CHECK(tree == NULL);
}

static void test_errors(void) {
  CHECK_ENCODE_FAILS(NULL, PL_ERR_INVALID);
  Pbjsontest__Nested n[150];
  Pbjsontest__Nested *kid[150];
  for (int i = 0; i < 150; i++) {
    pbjsontest__nested__init(&n[i]);
    kid[i] = &n[i];
    if (i) {
      n[i - 1].n_children = 1;
      n[i - 1].children = &kid[i];
    }
  }
  CHECK_ENCODE_FAILS(&n[0], PL_ERR_TOO_BIG);
  n[99].n_children = 0; /* exactly 100 deep is fine */
  char *out = NULL;
  CHECK_RV(pl_pbjson_encode(&n[0].base, 0, &out), 0);
  free(out);

  char name[32];
  pl_pbjson_json_name("rendezvous_state", name, sizeof(name));
  CHECK_STR_EQ(name, "rendezvousState");
  pl_pbjson_json_name("rendezvous_state", name, 6);
  CHECK_STR_EQ(name, "rende");
}

int main(void) {
  test_status();
  test_peers_and_events();
  test_scalars();
  test_repeated();
  test_proto2();
  test_wkt_refused();
  test_tree();
  test_errors();
  printf("pbjson_test: ok\n");
  return 0;
}
