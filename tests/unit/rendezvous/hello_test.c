/* Hello validation names the offending field, and accepts a real agent's identity. */
#include <stdlib.h>

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
  CHECK(pl_hello_validate(h, err, sizeof err) == PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, field);
}

int main(void) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/hello_test_state", getenv("TEST_TMPDIR"));
  CHECK(pl_identity_load_or_create(&ident, dir) == 0);
  char err[256];

  Peerlink__V1__Hello h = valid_hello();
  CHECK(pl_hello_validate(&h, err, sizeof err) == 0);

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

  pl_identity_free(&ident);
  printf("hello_test: ok\n");
  return 0;
}
