/* pl_pbjson_encode: golden output for the peerlink API messages and every field shape. */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/pbjson.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "pbjson_test.pb-c.h"
#include "pbjson_test2.pb-c.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/common.pb-c.h"

static int failures;

static void check_json(int line, const void *msg, int flags, const char *want) {
  char *got = NULL;
  int rv = pl_pbjson_encode(msg, flags, &got);
  if (rv != 0 || strcmp(got, want)) {
    fprintf(stderr, "line %d: rv=%d\n  want: %s\n  got:  %s\n", line, rv, want, got ? got : "");
    failures++;
  }
  free(got);
}

static void check_rv(int line, const void *msg, int want_rv) {
  char *got = (char *)"x";
  int rv = pl_pbjson_encode(msg, 0, &got);
  if (rv != want_rv || got != NULL) {
    fprintf(stderr, "line %d: rv=%d want %d, out %s\n", line, rv, want_rv, got ? got : "NULL");
    failures++;
  }
  free(got);
}

#define CHECK(msg, flags, want) check_json(__LINE__, (msg), (flags), (want))

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
  CHECK(&st, 0,
        "{\"id\":\"a1ce\",\"name\":\"alice\",\"uptimeSeconds\":\"18446744073709551615\","
        "\"rendezvousState\":\"RENDEZVOUS_STATE_REGISTERED\",\"controlAddress\":\"127.0.0.1:7700\","
        "\"publicEndpoint\":{\"ip\":\"203.0.113.7\",\"port\":40001},"
        "\"natBehavior\":\"NAT_BEHAVIOR_ENDPOINT_INDEPENDENT\","
        "\"peers\":[{\"peerId\":\"b0b\",\"kind\":\"PATH_KIND_DIRECT\","
        "\"local\":{\"ip\":\"10.0.0.2\",\"port\":5000},"
        "\"remote\":{\"ip\":\"198.51.100.9\",\"port\":6000},\"rttUs\":\"1500\"}]}");
  CHECK(&st, PL_PBJSON_PROTO_NAMES | PL_PBJSON_PRETTY,
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
  CHECK(&empty, 0, "{}");
  CHECK(&empty, PL_PBJSON_PRETTY, "{}");
  CHECK(&empty, PL_PBJSON_EMIT_DEFAULTS,
        "{\"id\":\"\",\"name\":\"\",\"version\":\"\",\"uptimeSeconds\":\"0\","
        "\"rendezvousState\":\"RENDEZVOUS_STATE_UNSPECIFIED\",\"rendezvousAddress\":\"\","
        "\"controlAddress\":\"\",\"udpAddress\":\"\",\"publicEndpoint\":null,"
        "\"natBehavior\":\"NAT_BEHAVIOR_UNSPECIFIED\",\"peers\":[],"
        "\"droppedUnauthenticated\":\"0\",\"certFingerprint\":\"\"}");
  CHECK(&empty, PL_PBJSON_EMIT_DEFAULTS | PL_PBJSON_PRETTY,
        "{\n  \"id\": \"\",\n  \"name\": \"\",\n  \"version\": \"\",\n  \"uptimeSeconds\": \"0\",\n"
        "  \"rendezvousState\": \"RENDEZVOUS_STATE_UNSPECIFIED\",\n  \"rendezvousAddress\": \"\",\n"
        "  \"controlAddress\": \"\",\n  \"udpAddress\": \"\",\n  \"publicEndpoint\": null,\n"
        "  \"natBehavior\": \"NAT_BEHAVIOR_UNSPECIFIED\",\n  \"peers\": [],\n"
        "  \"droppedUnauthenticated\": \"0\",\n  \"certFingerprint\": \"\"\n}");
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
  CHECK(&lp, 0,
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
  CHECK(&we, 0,
        "{\"event\":{\"unixMs\":\"1700000000123\",\"message\":{\"peerId\":\"bb\","
        "\"delivery\":\"DELIVERY_RELIABLE\",\"data\":\"aGkA/w==\"}}}");
  mr.data.len = 3;
  CHECK(&mr, 0, "{\"peerId\":\"bb\",\"delivery\":\"DELIVERY_RELIABLE\",\"data\":\"aGkA\"}");
  mr.data.len = 2;
  CHECK(&mr, 0, "{\"peerId\":\"bb\",\"delivery\":\"DELIVERY_RELIABLE\",\"data\":\"aGk=\"}");
  /* unknown enum values print as numbers */
  mr.delivery = 42;
  mr.data.len = 0;
  CHECK(&mr, 0, "{\"peerId\":\"bb\",\"delivery\":42}");

  /* a oneof member set to its default is still printed; unset ones never are */
  Peerlink__V1__RendezvousStateChanged rc = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  ev.rendezvous = &rc;
  ev.unix_ms = 0;
  CHECK(&ev, 0, "{\"rendezvous\":{}}");
  CHECK(&ev, PL_PBJSON_EMIT_DEFAULTS,
        "{\"unixMs\":\"0\",\"rendezvous\":{\"state\":\"RENDEZVOUS_STATE_UNSPECIFIED\","
        "\"detail\":\"\"}}");
  ev.kind_case = PEERLINK__V1__EVENT__KIND__NOT_SET;
  CHECK(&ev, PL_PBJSON_EMIT_DEFAULTS, "{\"unixMs\":\"0\"}");
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
  CHECK(&s, 0,
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
    CHECK(&d, 0, want);
  }
  d.f_double = 0;
  d.f_float = 3.4028235e38f;
  CHECK(&d, 0, "{\"fFloat\":3.4028235e+38}");
  d.f_float = 16777216.0f;
  CHECK(&d, 0, "{\"fFloat\":16777216}");
  d.f_float = 1.1f;
  CHECK(&d, 0, "{\"fFloat\":1.1}");

  /* invalid UTF-8 is replaced rather than passed through into the JSON */
  Pbjsontest__Scalars u = PBJSONTEST__SCALARS__INIT;
  u.f_string = "a\xff"
               "b\xc0\xaf"
               "c\xed\xa0\x80"
               "d\xe2\x82";
  CHECK(&u, 0, "{\"fString\":\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd\"}");
  u.f_string = "\x7f\x1f";
  CHECK(&u, 0, "{\"fString\":\"\x7f\\u001f\"}");
}

static void test_repeated_and_maps(void) {
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
  CHECK(&r, 0,
        "{\"rInt32\":[1,-1],\"rInt64\":[\"-9223372036854775808\"],\"rFloat\":[0.5,-0.25],"
        "\"rBool\":[true,false],\"rString\":[\"x\",\"\"],\"rBytes\":[\"+w==\"],"
        "\"rEnum\":[\"COLOR_RED\",9],\"rNested\":[{\"labelText\":\"one\"},{}]}");
  CHECK(&r, PL_PBJSON_PRETTY,
        "{\n  \"rInt32\": [\n    1,\n    -1\n  ],\n  \"rInt64\": [\n    \"-9223372036854775808\"\n"
        "  ],\n  \"rFloat\": [\n    0.5,\n    -0.25\n  ],\n  \"rBool\": [\n    true,\n    false\n"
        "  ],\n  \"rString\": [\n    \"x\",\n    \"\"\n  ],\n  \"rBytes\": [\n    \"+w==\"\n  ],\n"
        "  \"rEnum\": [\n    \"COLOR_RED\",\n    9\n  ],\n  \"rNested\": [\n    {\n"
        "      \"labelText\": \"one\"\n    },\n    {}\n  ]\n}");

  Pbjsontest__Everything__MStringInt64Entry e1 = PBJSONTEST__EVERYTHING__MSTRING_INT64_ENTRY__INIT;
  e1.key = "k";
  e1.value = 5;
  Pbjsontest__Everything__MStringInt64Entry *es[] = {&e1};
  Pbjsontest__Everything__MInt32NestedEntry e2 = PBJSONTEST__EVERYTHING__MINT32_NESTED_ENTRY__INIT,
                                            e3 = e2;
  e2.key = -3;
  e2.value = &n1;
  e3.key = 4; /* no value: the default message */
  Pbjsontest__Everything__MInt32NestedEntry *ns[] = {&e2, &e3};
  Pbjsontest__Everything__MBoolStringEntry e4 = PBJSONTEST__EVERYTHING__MBOOL_STRING_ENTRY__INIT;
  e4.key = 1;
  e4.value = "yes";
  Pbjsontest__Everything__MBoolStringEntry *bs[] = {&e4};
  Pbjsontest__Everything__MUint64EnumEntry e5 = PBJSONTEST__EVERYTHING__MUINT64_ENUM_ENTRY__INIT;
  e5.key = UINT64_MAX;
  e5.value = PBJSONTEST__COLOR__COLOR_RED;
  Pbjsontest__Everything__MUint64EnumEntry *us[] = {&e5};
  Pbjsontest__Everything ev = PBJSONTEST__EVERYTHING__INIT;
  ev.n_m_string_int64 = 1, ev.m_string_int64 = es;
  ev.n_m_int32_nested = 2, ev.m_int32_nested = ns;
  ev.n_m_bool_string = 1, ev.m_bool_string = bs;
  ev.n_m_uint64_enum = 1, ev.m_uint64_enum = us;
  ev.choice_case = PBJSONTEST__EVERYTHING__CHOICE_C_INT32; /* zero, but set */
  ev.x2y_z__w = "odd";
  CHECK(&ev, 0,
        "{\"mStringInt64\":{\"k\":\"5\"},\"mInt32Nested\":{\"-3\":{\"labelText\":\"one\"},"
        "\"4\":{}},\"mBoolString\":{\"true\":\"yes\"},"
        "\"mUint64Enum\":{\"18446744073709551615\":\"COLOR_RED\"},\"cInt32\":0,\"x2yZW\":\"odd\"}");
  CHECK(&ev, PL_PBJSON_PRETTY | PL_PBJSON_PROTO_NAMES,
        "{\n  \"m_string_int64\": {\n    \"k\": \"5\"\n  },\n  \"m_int32_nested\": {\n"
        "    \"-3\": {\n      \"label_text\": \"one\"\n    },\n    \"4\": {}\n  },\n"
        "  \"m_bool_string\": {\n    \"true\": \"yes\"\n  },\n  \"m_uint64_enum\": {\n"
        "    \"18446744073709551615\": \"COLOR_RED\"\n  },\n  \"c_int32\": 0,\n"
        "  \"x2y_z__w\": \"odd\"\n}");
}

static void test_proto2(void) {
  Pbjsontest__Proto2 p = PBJSONTEST__PROTO2__INIT;
  CHECK(&p, 0, "{\"req\":0}");
  CHECK(&p, PL_PBJSON_EMIT_DEFAULTS,
        "{\"req\":0,\"opt\":0,\"optStr\":\"dflt\",\"optBytes\":\"\",\"child\":null,"
        "\"optDouble\":1.5,\"packed\":[]}");
  Pbjsontest__Proto2 child = PBJSONTEST__PROTO2__INIT;
  p.has_opt = 1;
  p.opt_str = "";
  p.has_opt_double = 1;
  p.child = &child;
  CHECK(&p, 0, "{\"req\":0,\"opt\":0,\"optStr\":\"\",\"child\":{\"req\":0},\"optDouble\":1.5}");
}

static void test_wkt(void) {
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  Google__Protobuf__Duration du = GOOGLE__PROTOBUF__DURATION__INIT;
  static const struct {
    int64_t s;
    int32_t n;
    const char *ts, *du;
  } t[] = {
      {0, 0, "\"1970-01-01T00:00:00Z\"", "\"0s\""},
      {1700000000, 123000000, "\"2023-11-14T22:13:20.123Z\"", "\"1700000000.123s\""},
      {951782400, 1000, "\"2000-02-29T00:00:00.000001Z\"", "\"951782400.000001s\""},
      {-1, 999999999, "\"1969-12-31T23:59:59.999999999Z\"", NULL},
      {-62135596800, 0, "\"0001-01-01T00:00:00Z\"", "\"-62135596800s\""},
      {253402300799, 0, "\"9999-12-31T23:59:59Z\"", "\"253402300799s\""},
      {-1, -500000000, NULL, "\"-1.500s\""},
      {0, -1, NULL, "\"-0.000000001s\""},
      {315576000000, 0, NULL, "\"315576000000s\""},
      {315576000001, 0, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    ts.seconds = du.seconds = t[i].s;
    ts.nanos = du.nanos = t[i].n;
    if (t[i].ts)
      CHECK(&ts, 0, t[i].ts);
    else
      check_rv(__LINE__, &ts, PL_ERR_INVALID);
    if (t[i].du)
      CHECK(&du, 0, t[i].du);
    else
      check_rv(__LINE__, &du, PL_ERR_INVALID);
  }

  Google__Protobuf__Int64Value w64 = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
  Google__Protobuf__StringValue wstr = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
  Google__Protobuf__BoolValue wb = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
  w64.value = -7;
  char *paths[] = {"a_b.c_d", "e"};
  Google__Protobuf__FieldMask fm = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  fm.n_paths = 2;
  fm.paths = paths;
  Google__Protobuf__Value vnum = GOOGLE__PROTOBUF__VALUE__INIT, vnull = vnum, vlist = vnum,
                          vstruct = vnum, vstr = vnum;
  vnum.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
  vnum.number_value = 2.5;
  vnull.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
  vstr.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
  vstr.string_value = "s";
  Google__Protobuf__Value *items[] = {&vnum, &vnull, &vstr};
  Google__Protobuf__ListValue lv = GOOGLE__PROTOBUF__LIST_VALUE__INIT;
  lv.n_values = 3;
  lv.values = items;
  vlist.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
  vlist.list_value = &lv;
  Google__Protobuf__Struct__FieldsEntry fe = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT;
  fe.key = "l";
  fe.value = &vlist;
  Google__Protobuf__Struct__FieldsEntry *fes[] = {&fe};
  Google__Protobuf__Struct st = GOOGLE__PROTOBUF__STRUCT__INIT;
  st.n_fields = 1;
  st.fields = fes;
  vstruct.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
  vstruct.struct_value = &st;
  Google__Protobuf__Timestamp *tss[] = {&ts, &ts};
  ts.seconds = 0;
  ts.nanos = 0;
  du.seconds = 3;
  du.nanos = 0;

  Pbjsontest__Everything ev = PBJSONTEST__EVERYTHING__INIT;
  ev.ts = &ts;
  ev.dur = &du;
  ev.w_int64 = &w64;
  ev.w_string = &wstr;
  ev.w_bool = &wb;
  ev.mask = &fm;
  ev.st = &st;
  ev.val = &vstruct;
  ev.lst = &lv;
  ev.n_r_ts = 2;
  ev.r_ts = tss;
  CHECK(&ev, 0,
        "{\"ts\":\"1970-01-01T00:00:00Z\",\"dur\":\"3s\",\"wInt64\":\"-7\",\"wString\":\"\","
        "\"wBool\":false,\"mask\":\"aB.cD,e\",\"st\":{\"l\":[2.5,null,\"s\"]},"
        "\"val\":{\"l\":[2.5,null,\"s\"]},\"lst\":[2.5,null,\"s\"],"
        "\"rTs\":[\"1970-01-01T00:00:00Z\",\"1970-01-01T00:00:00Z\"]}");
  Google__Protobuf__Value unset = GOOGLE__PROTOBUF__VALUE__INIT;
  CHECK(&unset, 0, "null");
}

static void test_errors(void) {
  check_rv(__LINE__, NULL, PL_ERR_INVALID);
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
  check_rv(__LINE__, &n[0], PL_ERR_TOO_BIG);
  n[99].n_children = 0; /* exactly 100 deep is fine */
  char *out = NULL;
  if (pl_pbjson_encode(&n[0].base, 0, &out) != 0) {
    fprintf(stderr, "100 levels should encode\n");
    failures++;
  }
  free(out);

  char name[32];
  pl_pbjson_json_name("rendezvous_state", name, sizeof(name));
  if (strcmp(name, "rendezvousState")) {
    fprintf(stderr, "json_name: %s\n", name);
    failures++;
  }
  pl_pbjson_json_name("rendezvous_state", name, 6);
  if (strcmp(name, "rende")) {
    fprintf(stderr, "json_name truncated: %s\n", name);
    failures++;
  }
}

int main(void) {
  test_status();
  test_peers_and_events();
  test_scalars();
  test_repeated_and_maps();
  test_proto2();
  test_wkt();
  test_errors();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("pbjson_test: ok\n");
  return 0;
}
