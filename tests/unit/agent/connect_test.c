/* Connect always ends its call: when the Register stream cannot take the PairRequest (queue at
 * its limit, stream gone), when the wait times out, when the agent stops, and with the path
 * when it comes up (explicit candidates between two agents in one loop, which need the peer's
 * public key: missing, malformed or our own is INVALID_ARGUMENT naming the field). */

#include <stdio.h>
#include <string.h>

#include "control/common/addr.h"
#include "tests/unit/agent/agent_box.h"
#include "tests/unit/common/check.h"

#define ID_A "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
#define ID_B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define FP_A "aa00000000000000000000000000000000000000000000000000000000000000"
#define FP_B "bb00000000000000000000000000000000000000000000000000000000000000"

static uv_loop_t loop;

static void connect_by_id(agent_box *b, pl_rpc_call *call, int wait, uint64_t timeout_ms) {
  Peerlink__V1__ConnectRequest req = PEERLINK__V1__CONNECT_REQUEST__INIT;
  req.peer_id = ID_B;
  req.wait = wait;
  req.timeout_ms = timeout_ms;
  box_call(b, "Connect", call, &req.base);
}

/* A registered agent A that knows peer B. */
static void start(agent_box *b) {
  box_init(b, &loop, ID_A, FP_A);
  box_register(b, ID_B);
}

/* The call is over (as the library would say), then the agent stops. */
static void end(agent_box *b, pl_rpc_call *call) {
  box_done(b, "Connect", call, 0);
  fake_call_clear(call);
  box_close(b);
  run_to_end(&loop);
}

/* The PairRequest is refused: the call ends now, whether or not it was to wait. */
static void test_pair_refused(int send_error, pl_rpc_status want, const char *says) {
  for (int wait = 0; wait <= 1; wait++) {
    agent_box b;
    pl_rpc_call call;
    start(&b);
    b.stream.send_error = send_error;
    b.stream.pending = 1024;
    connect_by_id(&b, &call, wait, 60000);
    CHECK_MSG(call.finished, "Connect(wait=%d) left open after the PairRequest failed (%s)", wait,
              pl_strerror(send_error));
    CHECK_U64(call.code, ==, want);
    CHECK_STR_CONTAINS(call.message, says);
    end(&b, &call);
  }
}

static void test_wait_times_out(void) {
  agent_box b;
  pl_rpc_call call;
  start(&b);
  connect_by_id(&b, &call, 1, 1);
  CHECK_U64(b.stream.n_sent, ==, 1); /* the PairRequest */
  CHECK(!call.finished);
  run_until(&loop, &call.finished, 5000, "the Connect deadline");
  CHECK_U64(call.code, ==, PL_RPC_DEADLINE_EXCEEDED);
  CHECK_STR_CONTAINS(call.message, "no pairing was offered");
  end(&b, &call);
}

static void test_no_wait_answers_at_once(void) {
  agent_box b;
  pl_rpc_call call;
  start(&b);
  connect_by_id(&b, &call, 0, 0);
  CHECK(call.finished);
  CHECK_U64(call.code, ==, PL_RPC_OK);
  CHECK_U64(call.n_sent, ==, 1);
  end(&b, &call);
}

static void test_stop_ends_waiters(void) {
  agent_box b;
  pl_rpc_call call;
  start(&b);
  connect_by_id(&b, &call, 1, 60000);
  CHECK(!call.finished);
  box_close(&b);
  CHECK(call.finished);
  CHECK_U64(call.code, ==, PL_RPC_UNAVAILABLE);
  CHECK_STR_CONTAINS(call.message, "stopping");
  run_to_end(&loop); /* no waiter timer is left behind */
  fake_call_clear(&call);
}

static void test_cancelled_call_leaves_no_waiter(void) {
  agent_box b;
  pl_rpc_call call;
  start(&b);
  connect_by_id(&b, &call, 1, 60000);
  box_done(&b, "Connect", &call, 1); /* the client went away */
  call.closed = 1;
  CHECK(b.a.waiters.head == NULL);
  fake_call_clear(&call);
  box_close(&b);
  run_to_end(&loop);
}

static Peerlink__V1__Candidate *candidate_of(const agent_box *b, Peerlink__V1__Candidate *c,
                                             Peerlink__V1__Endpoint *ep, char ip[64]) {
  peerlink__v1__candidate__init(c);
  peerlink__v1__endpoint__init(ep);
  ep->port = (uint32_t)pl_addr_ip_port((const struct sockaddr *)&b->a.transport.local, ip);
  ep->ip = ip;
  c->kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  c->endpoint = ep;
  return c;
}

static void connect_with_key(agent_box *from, const agent_box *to, const char *to_fp,
                             const uint8_t *key, size_t keylen, pl_rpc_call *call) {
  static const uint8_t secret[32] = "a shared secret of 32 bytes ....";
  Peerlink__V1__ConnectRequest req = PEERLINK__V1__CONNECT_REQUEST__INIT;
  Peerlink__V1__Candidate c, *cands[1];
  Peerlink__V1__Endpoint ep;
  char ip[64];
  cands[0] = candidate_of(to, &c, &ep, ip);
  req.candidates = cands;
  req.n_candidates = 1;
  req.pairing_secret.data = (uint8_t *)secret;
  req.pairing_secret.len = sizeof secret;
  req.peer_cert_fingerprint = (char *)to_fp;
  req.peer_public_key.data = (uint8_t *)key;
  req.peer_public_key.len = keylen;
  req.wait = 1;
  req.timeout_ms = 10000;
  box_call(from, "Connect", call, &req.base);
}

static void connect_to(agent_box *from, const agent_box *to, const char *to_fp, pl_rpc_call *call) {
  connect_with_key(from, to, to_fp, to->key.spki, sizeof to->key.spki, call);
}

static void test_explicit_candidates_need_the_key(void) {
  agent_box a, b;
  pl_rpc_call call;
  fixture_agent fa, fb;
  fixture_agents(&fa, &fb);
  box_init_agent(&a, &loop, &fa, FP_A);
  box_init_agent(&b, &loop, &fb, FP_B);
  static const struct {
    size_t len;
    int own;
    const char *says;
  } cases[] = {
      {0, 0, "peer_public_key: required with candidates (the peer's GetStatus public_key)"},
      {KAT_SPKI_LEN - 1, 0, "peer_public_key: not a P-256 SubjectPublicKeyInfo"},
      {KAT_SPKI_LEN, 1, "peer_public_key: that is this agent's own key"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const agent_box *owner = cases[i].own ? &a : &b;
    connect_with_key(&a, &b, FP_B, owner->key.spki, cases[i].len, &call);
    CHECK(call.finished);
    CHECK_U64(call.code, ==, PL_RPC_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(call.message, cases[i].says);
    fake_call_clear(&call);
  }
  CHECK_U64(pl_links_count(&a.a.links), ==, 0);
  box_close(&a);
  box_close(&b);
  run_to_end(&loop);
}

static void test_explicit_candidates_answer_with_the_path(void) {
  agent_box a, b;
  pl_rpc_call ca, cb;
  fixture_agent fa, fb;
  fixture_agents(&fa, &fb);
  box_init_agent(&a, &loop, &fa, FP_A);
  box_init_agent(&b, &loop, &fb, FP_B);
  connect_to(&a, &b, FP_B, &ca);
  connect_to(&b, &a, FP_A, &cb);
  run_until(&loop, &ca.finished, 10000, "A's Connect");
  run_until(&loop, &cb.finished, 10000, "B's Connect");
  CHECK_U64(ca.code, ==, PL_RPC_OK);
  CHECK_U64(cb.code, ==, PL_RPC_OK);
  CHECK_U64(ca.n_sent, ==, 1);
  Peerlink__V1__ConnectResponse *r =
      peerlink__v1__connect_response__unpack(NULL, ca.sent_len[0], ca.sent[0]);
  CHECK(r != NULL && r->path != NULL);
  CHECK_U64(r->path->kind, ==, PEERLINK__V1__PATH_KIND__PATH_KIND_DIRECT);
  CHECK_STR_EQ(r->path->peer_id, KAT_ID_B); /* the ID of B's key */
  peerlink__v1__connect_response__free_unpacked(r, NULL);
  box_done(&a, "Connect", &ca, 0);
  box_done(&b, "Connect", &cb, 0);
  fake_call_clear(&ca);
  fake_call_clear(&cb);
  box_close(&a);
  box_close(&b);
  run_to_end(&loop);
}

int main(void) {
  CHECK(uv_loop_init(&loop) == 0);
  test_pair_refused(PL_ERR_FULL, PL_RPC_RESOURCE_EXHAUSTED, "Register stream has 1024 messages");
  test_pair_refused(PL_ERR_CLOSED, PL_RPC_UNAVAILABLE, "registration has ended");
  test_pair_refused(PL_ERR_NOMEM, PL_RPC_RESOURCE_EXHAUSTED, "out of memory");
  test_wait_times_out();
  test_no_wait_answers_at_once();
  test_stop_ends_waiters();
  test_cancelled_call_leaves_no_waiter();
  test_explicit_candidates_need_the_key();
  test_explicit_candidates_answer_with_the_path();
  CHECK(uv_loop_close(&loop) == 0);
  printf("connect_test: ok\n");
  return 0;
}
