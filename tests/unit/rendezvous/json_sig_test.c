/* The JSON signalling codec: every client message type, both field spellings, the error paths
 * that keep a connection usable (bad JSON, unknown type, wrong field types) with their field
 * names, and the server messages as protojson. */
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rendezvous/json_sig.h"
#include "tests/unit/common/check.h"

static Peerlink__V1__RegisterRequest *parse_ok(const char *text) {
  Peerlink__V1__RegisterRequest *req;
  char err[256] = "";
  int rv = pl_rdv_json_request(text, strlen(text), &req, err, sizeof err);
  CHECK_MSG(rv == 0, "%s: %s", text, err);
  return req;
}

static void parse_fails(const char *text, int want, const char *msg) {
  Peerlink__V1__RegisterRequest *req = (void *)1;
  char err[256] = "";
  CHECK_RV(pl_rdv_json_request(text, strlen(text), &req, err, sizeof err), want);
  CHECK(req == NULL);
  CHECK_STR_CONTAINS(err, msg);
}

static void test_hello(void) {
  Peerlink__V1__RegisterRequest *req = parse_ok(
      "{\"hello\": {\"id\": \"00112233445566778899aabbccddeeff\", \"name\": \"py\","
      " \"publicKey\": \"AQID\", \"challenge\": \"_-8\", \"signature\": \"AAE=\","
      " \"natBehavior\": \"NAT_BEHAVIOR_ENDPOINT_INDEPENDENT\", \"network\": \"lab\","
      " \"candidates\": [{\"kind\": \"CANDIDATE_KIND_HOST\", \"endpoint\": {\"ip\": \"127.0.0.1\","
      " \"port\": 4000}}, {\"kind\": 2, \"endpoint\": {\"ip\": \"192.0.2.1\", \"port\": "
      "\"4001\"}}]}}");
  CHECK(req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO);
  Peerlink__V1__Hello *h = req->hello;
  CHECK_STR_EQ(h->id, "00112233445566778899aabbccddeeff");
  CHECK_STR_EQ(h->name, "py");
  CHECK_STR_EQ(h->network, "lab");
  CHECK_MEM_EQ(h->public_key.data, "\x01\x02\x03", 3);
  CHECK_U64(h->public_key.len, ==, 3);
  CHECK_U64(h->challenge.len, ==, 2); /* URL-safe, unpadded */
  CHECK_MEM_EQ(h->challenge.data, "\xff\xef", 2);
  CHECK_U64(h->signature.len, ==, 2);
  CHECK(h->nat_behavior == PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT);
  CHECK_U64(h->n_candidates, ==, 2);
  CHECK(h->candidates[0]->kind == PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST);
  CHECK_STR_EQ(h->candidates[1]->endpoint->ip, "192.0.2.1");
  CHECK_U64(h->candidates[1]->endpoint->port, ==, 4001);
  CHECK_U64(h->candidates[1]->kind, ==, 2);
  pl_rdv_json_request_free(req);
}

static void test_other_types(void) {
  Peerlink__V1__RegisterRequest *req = parse_ok("{\"pair\": {\"peer_id\": \"ab\"}}");
  CHECK(req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR);
  CHECK_STR_EQ(req->pair->peer_id, "ab");
  pl_rdv_json_request_free(req);
  req = parse_ok("{\"watch\": {\"peerIds\": [\"a\", \"b\"]}}");
  CHECK(req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_WATCH);
  CHECK_U64(req->watch->n_peer_ids, ==, 2);
  CHECK_STR_EQ(req->watch->peer_ids[1], "b");
  pl_rdv_json_request_free(req);
  req = parse_ok("{\"candidates\": {\"candidates\": [], \"natBehavior\": null}}");
  CHECK(req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES);
  CHECK_U64(req->candidates->n_candidates, ==, 0);
  pl_rdv_json_request_free(req);
  req = parse_ok("{\"unwatch\": {}}");
  CHECK(req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_UNWATCH);
  pl_rdv_json_request_free(req);
}

static void test_errors(void) {
  parse_fails("{\"hello\": ", PL_ERR_PARSE, "not JSON");
  parse_fails("[1]", PL_ERR_PARSE, "a JSON object expected");
  parse_fails("{}", PL_ERR_INVALID, "exactly one message type");
  parse_fails("{\"hello\": {}, \"pair\": {}}", PL_ERR_INVALID, "exactly one message type");
  parse_fails("{\"subscribe\": {}}", PL_ERR_INVALID, "unknown message type \"subscribe\"");
  parse_fails("{\"pair\": null}", PL_ERR_INVALID, "pair: an object expected");
  parse_fails("{\"pair\": 3}", PL_ERR_PARSE, "an object expected");
  parse_fails("{\"pair\": {\"peerId\": 3}}", PL_ERR_PARSE, "pair.peerId: a string expected");
  parse_fails("{\"pair\": {\"peerId\": \"a\", \"peer_id\": \"b\"}}", PL_ERR_PARSE, "given twice");
  parse_fails("{\"pair\": {\"peer\": \"a\"}}", PL_ERR_PARSE, "pair.peer: unknown field");
  parse_fails("{\"hello\": {\"publicKey\": \"**\"}}", PL_ERR_PARSE, "hello.publicKey: a base64");
  parse_fails("{\"hello\": {\"candidates\": [{\"endpoint\": {\"port\": -1}}]}}", PL_ERR_PARSE,
              "hello.candidates[0].endpoint.port: must not be negative");
  parse_fails("{\"hello\": {\"candidates\": [{}, {\"endpoint\": {\"port\": 4294967296}}]}}",
              PL_ERR_PARSE, "hello.candidates[1].endpoint.port: out of range");
  parse_fails("{\"hello\": {\"natBehavior\": \"FAST\"}}", PL_ERR_PARSE, "value names expected");
  parse_fails("{\"watch\": {\"peerIds\": \"a\"}}", PL_ERR_PARSE, "a list expected");
  parse_fails("{\"relay\": {\"payload\": \"AAA\", \"pairingId\": [1]}}", PL_ERR_PARSE,
              "relay.pairingId: a string expected");
  char *big = malloc(PL_RDV_JSON_MAX + 2);
  memset(big, ' ', PL_RDV_JSON_MAX + 1);
  big[PL_RDV_JSON_MAX + 1] = '\0';
  parse_fails(big, PL_ERR_TOO_BIG, "over the limit");
  free(big);
}

static void test_responses(void) {
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  Peerlink__V1__Challenge ch = PEERLINK__V1__CHALLENGE__INIT;
  uint8_t nonce[3] = {1, 2, 3};
  ch.nonce.data = nonce;
  ch.nonce.len = 3;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE;
  resp.challenge = &ch;
  char *text;
  CHECK_RV(pl_rdv_json_response(&resp, &text), 0);
  CHECK_STR_EQ(text, "{\"challenge\":{\"nonce\":\"AQID\"}}");
  free(text);
  Peerlink__V1__Offer offer = PEERLINK__V1__OFFER__INIT;
  offer.pairing_id = "p1";
  offer.role = PEERLINK__V1__ROLE__ROLE_CONTROLLING;
  offer.start_unix_ms = 1700000000000;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER;
  resp.offer = &offer;
  CHECK_RV(pl_rdv_json_response(&resp, &text), 0);
  CHECK_STR_EQ(text, "{\"offer\":{\"pairingId\":\"p1\",\"role\":\"ROLE_CONTROLLING\","
                     "\"startUnixMs\":\"1700000000000\"}}");
  free(text);
  CHECK_RV(pl_rdv_json_error("INVALID_ARGUMENT", "bad \"x\"", &text), 0);
  CHECK_STR_EQ(text, "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"bad \\\"x\\\"\"}}");
  free(text);
}

int main(void) {
  test_hello();
  test_other_types();
  test_errors();
  test_responses();
  printf("json_sig_test: ok\n");
  return 0;
}
