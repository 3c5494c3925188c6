#include "control/rendezvous/hello.h"

#include <stdio.h>
#include <string.h>

#include "agent/identity/identity.h"
#include "control/common/candidates.h"
#include "control/common/err.h"
#include "control/common/hex.h"

#define PL_NAME_MAX 64

int pl_rdv_hello_validate(const Peerlink__V1__Hello *hello, char *err, size_t errlen) {
  char derived[33];
  if (!pl_hex_is_lower(hello->id, 32)) {
    snprintf(err, errlen, "hello.id: must be 32 lowercase hex characters");
    return PL_ERR_INVALID;
  }
  if (hello->public_key.len == 0) {
    snprintf(err, errlen, "hello.public_key: missing");
    return PL_ERR_INVALID;
  }
  if (pl_identity_id_from_public_key(derived, hello->public_key.data, hello->public_key.len) != 0 ||
      strcmp(derived, hello->id) != 0) {
    snprintf(err, errlen, "hello.id: does not match hello.public_key");
    return PL_ERR_INVALID;
  }
  size_t namelen = strlen(hello->name);
  if (namelen == 0 || namelen > PL_NAME_MAX) {
    snprintf(err, errlen, "hello.name: must be 1..%d bytes", PL_NAME_MAX);
    return PL_ERR_INVALID;
  }
  for (size_t i = 0; i < namelen; i++) {
    if ((unsigned char)hello->name[i] < 0x20) {
      snprintf(err, errlen, "hello.name: control characters are not allowed");
      return PL_ERR_INVALID;
    }
  }
  if (!pl_hex_is_lower(hello->cert_fingerprint, 64)) {
    snprintf(err, errlen, "hello.cert_fingerprint: must be 64 lowercase hex characters");
    return PL_ERR_INVALID;
  }
  if (strlen(hello->version) > PL_NAME_MAX) {
    snprintf(err, errlen, "hello.version: at most %d bytes", PL_NAME_MAX);
    return PL_ERR_INVALID;
  }
  return pl_candidates_validate(hello->candidates, hello->n_candidates, "hello.candidates", err,
                                errlen);
}

int pl_rdv_hello_is_signed(const Peerlink__V1__Hello *hello) {
  return hello->challenge.len > 0 || hello->signature.len > 0;
}

int pl_rdv_hello_check_proof(const Peerlink__V1__Hello *hello, const uint8_t *nonce,
                             size_t noncelen, char *err, size_t errlen) {
  if (hello->challenge.len == 0) {
    snprintf(err, errlen, "hello.challenge: missing (a signed hello carries the nonce it signs)");
    return PL_ERR_AUTH;
  }
  /* Not constant time on purpose: the nonce is no secret, the stream was sent it. */
  if (hello->challenge.len != noncelen || memcmp(hello->challenge.data, nonce, noncelen) != 0) {
    snprintf(err, errlen, "hello.challenge: not the nonce this stream's Challenge carried");
    return PL_ERR_AUTH;
  }
  if (hello->signature.len == 0) {
    snprintf(err, errlen, "hello.signature: missing");
    return PL_ERR_AUTH;
  }
  int rv =
      pl_identity_verify_register(hello->public_key.data, hello->public_key.len, nonce, noncelen,
                                  hello->id, hello->signature.data, hello->signature.len);
  if (rv != 0) {
    snprintf(err, errlen,
             "hello.signature: does not verify with hello.public_key (ECDSA P-256 SHA-256, DER, "
             "over \"%s\" || challenge || id)",
             PL_IDENTITY_REGISTER_CONTEXT);
    return PL_ERR_AUTH;
  }
  return 0;
}
