#include "control/rendezvous/hello.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "agent/identity/identity.h"
#include "control/common/err.h"

#define PL_NAME_MAX 64
#define PL_CANDIDATES_MAX 32

static int is_lower_hex(const char *s, size_t len) {
  if (strlen(s) != len)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

int pl_candidates_validate(Peerlink__V1__Candidate *const *cands, size_t n, const char *field,
                           char *err, size_t errlen) {
  unsigned char buf[sizeof(struct in6_addr)];
  if (n > PL_CANDIDATES_MAX) {
    snprintf(err, errlen, "%s: at most %d candidates, got %zu", field, PL_CANDIDATES_MAX, n);
    return PL_ERR_INVALID;
  }
  for (size_t i = 0; i < n; i++) {
    const Peerlink__V1__Endpoint *ep = cands[i]->endpoint;
    if (cands[i]->kind == PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_UNSPECIFIED) {
      snprintf(err, errlen, "%s[%zu].kind: must be set", field, i);
      return PL_ERR_INVALID;
    }
    if (ep == NULL) {
      snprintf(err, errlen, "%s[%zu].endpoint: missing", field, i);
      return PL_ERR_INVALID;
    }
    if (inet_pton(AF_INET, ep->ip, buf) != 1 && inet_pton(AF_INET6, ep->ip, buf) != 1) {
      snprintf(err, errlen, "%s[%zu].endpoint.ip: \"%.64s\" is not an IP address", field, i,
               ep->ip);
      return PL_ERR_INVALID;
    }
    if (ep->port == 0 || ep->port > 65535) {
      snprintf(err, errlen, "%s[%zu].endpoint.port: %u is not in 1..65535", field, i, ep->port);
      return PL_ERR_INVALID;
    }
  }
  return 0;
}

int pl_hello_validate(const Peerlink__V1__Hello *hello, char *err, size_t errlen) {
  char derived[33];
  if (!is_lower_hex(hello->id, 32)) {
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
  if (!is_lower_hex(hello->cert_fingerprint, 64)) {
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

int pl_hello_is_signed(const Peerlink__V1__Hello *hello) {
  return hello->challenge.len > 0 || hello->signature.len > 0;
}

#define CONTEXT_LEN (sizeof PL_IDENTITY_REGISTER_CONTEXT - 1)
#define NONCE_MAX 64

int pl_hello_check_proof(const Peerlink__V1__Hello *hello, const uint8_t *nonce, size_t noncelen,
                         char *err, size_t errlen) {
  uint8_t msg[CONTEXT_LEN + NONCE_MAX + PL_IDENTITY_ID_LEN];
  if (hello->challenge.len == 0) {
    snprintf(err, errlen, "hello.challenge: missing (a signed hello carries the nonce it signs)");
    return PL_ERR_AUTH;
  }
  /* Not constant time on purpose: the nonce is no secret, the stream was sent it. */
  if (noncelen > NONCE_MAX || hello->challenge.len != noncelen ||
      memcmp(hello->challenge.data, nonce, noncelen) != 0) {
    snprintf(err, errlen, "hello.challenge: not the nonce this stream's Challenge carried");
    return PL_ERR_AUTH;
  }
  if (hello->signature.len == 0) {
    snprintf(err, errlen, "hello.signature: missing");
    return PL_ERR_AUTH;
  }
  memcpy(msg, PL_IDENTITY_REGISTER_CONTEXT, CONTEXT_LEN);
  memcpy(msg + CONTEXT_LEN, nonce, noncelen);
  memcpy(msg + CONTEXT_LEN + noncelen, hello->id, PL_IDENTITY_ID_LEN);
  int rv = pl_identity_verify(hello->public_key.data, hello->public_key.len, msg,
                              CONTEXT_LEN + noncelen + PL_IDENTITY_ID_LEN, hello->signature.data,
                              hello->signature.len);
  if (rv != 0) {
    snprintf(err, errlen,
             "hello.signature: does not verify with hello.public_key (ECDSA P-256 SHA-256, DER, "
             "over \"%s\" || challenge || id)",
             PL_IDENTITY_REGISTER_CONTEXT);
    return PL_ERR_AUTH;
  }
  return 0;
}
