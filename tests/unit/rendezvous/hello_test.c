/* Hello validation names the offending field, and accepts a real agent's identity. */
#include <stdlib.h>
#include <string.h>

#include "agent/identity/identity.h"
#include "control/common/err.h"
#include "control/rendezvous/hello.h"
#include "tests/unit/common/check.h"

static pl_identity ident;
static Peerlink__V1__Candidate cand;
static Peerlink__V1__Endpoint ep;
static Peerlink__V1__Candidate *cands[1] = {&cand};

static Peerlink__V1__Hello valid_hello(void) {
  Peerlink__V1__Hello h = PEERLINK__V1__HELLO__INIT;
  h.id = ident.id;
  h.name = "alice";
  h.public_key.data = ident.public_key_der;
  h.public_key.len = ident.public_key_der_len;
  h.cert_fingerprint = ident.cert_fingerprint;
  h.version = "0.1.0";
  peerlink__v1__candidate__init(&cand);
  peerlink__v1__endpoint__init(&ep);
  ep.ip = "192.0.2.1";
  ep.port = 4000;
  cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  cand.endpoint = &ep;
  h.candidates = cands;
  h.n_candidates = 1;
  return h;
}

static void expect_invalid(const Peerlink__V1__Hello *h, const char *field) {
  char err[256] = "";
  CHECK(pl_rdv_hello_validate(h, err, sizeof err) == PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, field);
}

static void expect_refused(const Peerlink__V1__Hello *h, const uint8_t *nonce, const char *field) {
  char err[256] = "";
  CHECK(pl_rdv_hello_check_proof(h, nonce, 32, err, sizeof err) == PL_ERR_AUTH);
  CHECK_STR_CONTAINS(err, field);
}

/* The proof of possession: the Challenge's nonce signed with the key behind the ID. */
static void test_proof(void) {
  uint8_t nonce[32], other[32], msg[20 + 32 + 32], sig[PL_IDENTITY_SIG_MAX];
  size_t siglen = sizeof sig;
  char err[256];
  for (int i = 0; i < 32; i++) {
    nonce[i] = (uint8_t)i;
    other[i] = (uint8_t)(i + 1);
  }
  memcpy(msg, "peerlink-register-v1", 20);
  memcpy(msg + 20, nonce, 32);
  memcpy(msg + 52, ident.id, 32);
  CHECK(pl_identity_sign(&ident, msg, sizeof msg, sig, &siglen) == 0);

  Peerlink__V1__Hello h = valid_hello();
  CHECK(!pl_rdv_hello_is_signed(&h));
  h.challenge.data = nonce;
  h.challenge.len = sizeof nonce;
  h.signature.data = sig;
  h.signature.len = siglen;
  CHECK(pl_rdv_hello_is_signed(&h));
  CHECK(pl_rdv_hello_validate(&h, err, sizeof err) == 0);
  CHECK(pl_rdv_hello_check_proof(&h, nonce, sizeof nonce, err, sizeof err) == 0);

  /* A signature over another stream's nonce proves nothing here. */
  expect_refused(&h, other, "hello.challenge");
  h.challenge.len = 31;
  expect_refused(&h, nonce, "hello.challenge");
  h.challenge.len = 0;
  expect_refused(&h, nonce, "hello.challenge");
  h.challenge.len = sizeof nonce;
  h.signature.len = 0;
  expect_refused(&h, nonce, "hello.signature");
  CHECK(pl_rdv_hello_is_signed(&h));
  h.signature.len = siglen;
  sig[siglen - 1] ^= 1;
  expect_refused(&h, nonce, "hello.signature");
  sig[siglen - 1] ^= 1;
  /* Signed for another ID: the agent's own ID is part of what it signs. */
  memcpy(msg + 52, "ffffffffffffffffffffffffffffffff", 32);
  siglen = sizeof sig;
  CHECK(pl_identity_sign(&ident, msg, sizeof msg, sig, &siglen) == 0);
  h.signature.len = siglen;
  expect_refused(&h, nonce, "hello.signature");
}

int main(void) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/hello_test_state", getenv("TEST_TMPDIR"));
  CHECK(pl_identity_load_or_create(&ident, dir) == 0);
  char err[256];

  Peerlink__V1__Hello h = valid_hello();
  CHECK(pl_rdv_hello_validate(&h, err, sizeof err) == 0);

  h = valid_hello();
  h.id = "00000000000000000000000000000000";
  expect_invalid(&h, "hello.id");
  h = valid_hello();
  h.id = "ABC";
  expect_invalid(&h, "hello.id");
  h = valid_hello();
  h.public_key.len = 0;
  expect_invalid(&h, "hello.public_key");
  h = valid_hello();
  h.public_key.len -= 1; /* truncated key: its ID cannot match */
  expect_invalid(&h, "hello.id");
  h = valid_hello();
  h.name = "";
  expect_invalid(&h, "hello.name");
  h = valid_hello();
  h.name = "bad\nname";
  expect_invalid(&h, "hello.name");
  h = valid_hello();
  h.cert_fingerprint = "xyz";
  expect_invalid(&h, "hello.cert_fingerprint");
  h = valid_hello();
  ep.ip = "not-an-ip";
  expect_invalid(&h, "hello.candidates[0].endpoint.ip");
  h = valid_hello();
  ep.port = 0;
  expect_invalid(&h, "hello.candidates[0].endpoint.port");
  h = valid_hello();
  cand.endpoint = NULL;
  expect_invalid(&h, "hello.candidates[0].endpoint");
  h = valid_hello();
  cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_UNSPECIFIED;
  expect_invalid(&h, "hello.candidates[0].kind");

  test_proof();
  pl_identity_free(&ident);
  printf("hello_test: ok\n");
  return 0;
}
