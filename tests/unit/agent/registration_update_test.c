/* A candidates change while the Register stream's handshake is under way is not lost: the
 * signed Hello may already have gone out with the old list, so the registration sends a
 * CandidatesUpdate as soon as Registered arrives (STUN over TCP often finishes inside that
 * window: the lab saw a peer that never learned the other's TCP mapping). Without a change in
 * that window, nothing extra is sent. The rendezvous is played through fake_client.h. */
#include <stdlib.h>
#include <string.h>

#include "agent/identity/identity.h"
#include "agent/registration.h"
#include "tests/unit/agent/fake_client.h"
#include "tests/unit/common/check.h"

#define HELLO PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO
#define CANDIDATES PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES

static void stopped(void *arg) {
  *(int *)arg = 1;
}

static void deliver(struct pl_rpc_client_call *call, Peerlink__V1__RegisterResponse *resp) {
  call->cb->on_message(call, &resp->base, call->arg);
}

static void challenge(struct pl_rpc_client_call *call) {
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  Peerlink__V1__Challenge ch = PEERLINK__V1__CHALLENGE__INIT;
  uint8_t nonce[32] = {1, 2, 3};
  ch.nonce.data = nonce;
  ch.nonce.len = sizeof nonce;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE;
  resp.challenge = &ch;
  deliver(call, &resp);
}

static void registered(struct pl_rpc_client_call *call) {
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  Peerlink__V1__Registered reg = PEERLINK__V1__REGISTERED__INIT;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED;
  resp.registered = &reg;
  deliver(call, &resp);
}

/* One registration through its handshake; change_mid: the candidates change between the
 * signed Hello and Registered. */
static void run(const pl_identity *ident, int change_mid) {
  uv_loop_t loop;
  pl_registration reg;
  static struct pl_rpc_client_call stream;
  int done = 0;
  CHECK(uv_loop_init(&loop) == 0);
  memset(&reg, 0, sizeof reg);
  memset(&stream, 0, sizeof stream);
  reg.ident = ident;
  reg.name = "t";
  reg.target = "rendezvous.test:1";
  /* No callbacks: this test reads what the stream sent. */
  fake_next_call = &stream;
  CHECK_RV(pl_registration_start(&reg, &loop), 0);
  CHECK(stream.n_sent == 1 && stream.last_case == HELLO); /* unsigned */
  challenge(&stream);
  CHECK(stream.n_sent == 2 && stream.last_case == HELLO); /* signed, with the old list */
  if (change_mid)
    CHECK_RV(pl_registration_update_candidates(&reg), PL_ERR_STATE);
  registered(&stream);
  CHECK(pl_registration_is_registered(&reg));
  if (change_mid) {
    CHECK_U64(stream.n_sent, ==, 3);
    CHECK(stream.last_case == CANDIDATES);
  } else {
    CHECK_U64(stream.n_sent, ==, 2);
  }
  /* Registered: an update goes out at once, and only once. */
  CHECK_RV(pl_registration_update_candidates(&reg), 0);
  CHECK_U64(stream.n_sent, ==, change_mid ? 4 : 3);
  pl_registration_stop(&reg, stopped, &done);
  stream.cb->on_status(&stream, PL_RPC_OK, "", stream.arg); /* the rendezvous ends it */
  while (!done)
    uv_run(&loop, UV_RUN_ONCE);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
}

int main(void) {
  pl_identity ident;
  const char *tmp = getenv("TEST_TMPDIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/state", tmp ? tmp : "/tmp");
  CHECK_RV(pl_identity_load_or_create(&ident, dir), 0);
  run(&ident, 1);
  run(&ident, 0);
  pl_identity_free(&ident);
  printf("registration_update_test: ok\n");
  return 0;
}
