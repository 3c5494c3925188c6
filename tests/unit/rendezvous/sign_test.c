/* agent/identity signatures: what one key signs verifies under that key only, over that message
 * only; malformed inputs fail with the documented codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity/identity.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

static void load(pl_identity *ident, const char *name) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", getenv("TEST_TMPDIR"), name);
  CHECK(pl_identity_load_or_create(ident, dir) == 0);
}

int main(void) {
  pl_identity a, b;
  load(&a, "sign_a");
  load(&b, "sign_b");
  static const uint8_t msg[] = "peerlink-register-v1 nonce and id";
  uint8_t sig[PL_IDENTITY_SIG_MAX], sig2[PL_IDENTITY_SIG_MAX];
  size_t siglen = sizeof sig, siglen2 = sizeof sig2;

  CHECK(pl_identity_sign(&a, msg, sizeof msg, sig, &siglen) == 0);
  CHECK(siglen > 8 && siglen <= 72 && sig[0] == 0x30); /* a DER SEQUENCE */
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, msg, sizeof msg, sig, siglen) ==
        0);
  /* Randomized (or deterministic-k) signatures both verify; a second one must too. */
  CHECK(pl_identity_sign(&a, msg, sizeof msg, sig2, &siglen2) == 0);
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, msg, sizeof msg, sig2,
                           siglen2) == 0);

  /* Another key, another message, a flipped bit, a truncation: all refused as PL_ERR_AUTH. */
  CHECK(pl_identity_verify(b.public_key_der, b.public_key_der_len, msg, sizeof msg, sig, siglen) ==
        PL_ERR_AUTH);
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, msg, sizeof msg - 1, sig,
                           siglen) == PL_ERR_AUTH);
  for (size_t i = 0; i < siglen; i++) {
    uint8_t bad[PL_IDENTITY_SIG_MAX];
    memcpy(bad, sig, siglen);
    bad[i] ^= 0x01;
    CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, msg, sizeof msg, bad,
                             siglen) == PL_ERR_AUTH);
  }
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, msg, sizeof msg, sig,
                           siglen - 1) == PL_ERR_AUTH);
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, msg, sizeof msg, sig, 0) ==
        PL_ERR_AUTH);
  uint8_t big[200] = {0x30};
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, msg, sizeof msg, big,
                           sizeof big) == PL_ERR_AUTH);

  /* Not a P-256 SubjectPublicKeyInfo. */
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len - 1, msg, sizeof msg, sig,
                           siglen) == PL_ERR_PARSE);
  CHECK(pl_identity_verify(msg, sizeof msg, msg, sizeof msg, sig, siglen) == PL_ERR_PARSE);
  CHECK(pl_identity_verify(a.cert_der, a.cert_der_len, msg, sizeof msg, sig, siglen) ==
        PL_ERR_PARSE);

  /* Argument checks. */
  size_t small = 71;
  CHECK(pl_identity_sign(&a, msg, sizeof msg, sig, &small) == PL_ERR_TOO_BIG);
  CHECK(pl_identity_sign(NULL, msg, sizeof msg, sig, &siglen) == PL_ERR_INVALID);
  CHECK(pl_identity_verify(NULL, 0, msg, sizeof msg, sig, siglen) == PL_ERR_INVALID);

  /* The empty message is a message like any other. */
  siglen = sizeof sig;
  CHECK(pl_identity_sign(&a, NULL, 0, sig, &siglen) == 0);
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, NULL, 0, sig, siglen) == 0);

  /* The registration proof: the wrappers lay out context || nonce || id, as rendezvous.proto
   * documents it for other clients, and check the nonce and the ID it claims. */
  uint8_t nonce[32], layout[sizeof PL_IDENTITY_REGISTER_CONTEXT - 1 + 32 + PL_IDENTITY_ID_LEN];
  for (size_t i = 0; i < sizeof nonce; i++)
    nonce[i] = (uint8_t)(i * 7 + 1);
  memcpy(layout, PL_IDENTITY_REGISTER_CONTEXT, sizeof PL_IDENTITY_REGISTER_CONTEXT - 1);
  memcpy(layout + sizeof PL_IDENTITY_REGISTER_CONTEXT - 1, nonce, sizeof nonce);
  memcpy(layout + sizeof PL_IDENTITY_REGISTER_CONTEXT - 1 + sizeof nonce, a.id, PL_IDENTITY_ID_LEN);
  siglen = sizeof sig;
  CHECK(pl_identity_sign_register(&a, nonce, sizeof nonce, sig, &siglen) == 0);
  CHECK(pl_identity_verify(a.public_key_der, a.public_key_der_len, layout, sizeof layout, sig,
                           siglen) == 0);
  CHECK(pl_identity_verify_register(a.public_key_der, a.public_key_der_len, nonce, sizeof nonce,
                                    a.id, sig, siglen) == 0);
  CHECK(pl_identity_verify_register(a.public_key_der, a.public_key_der_len, nonce, sizeof nonce,
                                    b.id, sig, siglen) == PL_ERR_AUTH);
  CHECK(pl_identity_verify_register(b.public_key_der, b.public_key_der_len, nonce, sizeof nonce,
                                    a.id, sig, siglen) == PL_ERR_AUTH);
  CHECK(pl_identity_verify_register(a.public_key_der, a.public_key_der_len, nonce, sizeof nonce - 1,
                                    a.id, sig, siglen) == PL_ERR_AUTH);
  siglen2 = sizeof sig2;
  CHECK(pl_identity_sign(&a, layout, sizeof layout, sig2, &siglen2) == 0);
  CHECK(pl_identity_verify_register(a.public_key_der, a.public_key_der_len, nonce, sizeof nonce,
                                    a.id, sig2, siglen2) == 0);
  /* Nonces: none is refused, up to PL_IDENTITY_REGISTER_NONCE_MAX bytes are fine, more is not. */
  uint8_t long_nonce[PL_IDENTITY_REGISTER_NONCE_MAX + 1] = {0};
  siglen = sizeof sig;
  CHECK(pl_identity_sign_register(&a, nonce, 0, sig, &siglen) == PL_ERR_INVALID);
  CHECK(pl_identity_sign_register(&a, NULL, 4, sig, &siglen) == PL_ERR_INVALID);
  CHECK(pl_identity_sign_register(&a, long_nonce, sizeof long_nonce, sig, &siglen) ==
        PL_ERR_TOO_BIG);
  CHECK(pl_identity_sign_register(&a, long_nonce, PL_IDENTITY_REGISTER_NONCE_MAX, sig, &siglen) ==
        0);
  CHECK(pl_identity_verify_register(a.public_key_der, a.public_key_der_len, long_nonce,
                                    PL_IDENTITY_REGISTER_NONCE_MAX, a.id, sig, siglen) == 0);
  CHECK(pl_identity_verify_register(a.public_key_der, a.public_key_der_len, long_nonce,
                                    sizeof long_nonce, a.id, sig, siglen) == PL_ERR_TOO_BIG);
  CHECK(pl_identity_verify_register(a.public_key_der, a.public_key_der_len, nonce, sizeof nonce,
                                    "abc", sig, siglen) == PL_ERR_INVALID);
  CHECK(pl_identity_sign_register(NULL, nonce, sizeof nonce, sig, &siglen) == PL_ERR_INVALID);

  pl_identity_free(&a);
  pl_identity_free(&b);
  printf("sign_test: ok\n");
  return 0;
}
