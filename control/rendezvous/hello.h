#ifndef PEERLINK_RENDEZVOUS_HELLO_H
#define PEERLINK_RENDEZVOUS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "peerlink/v1/rendezvous.pb-c.h"

/* Checks a Register stream's Hello: ID format and that it is derived from public_key, name
 * length, fingerprint format, candidate addresses. On failure writes a message naming the
 * field ("hello.id: ...") into err. Returns 0 or PL_ERR_INVALID. I/O-free. */
int pl_rdv_hello_validate(const Peerlink__V1__Hello *hello, char *err, size_t errlen);

/* 1 when the Hello tries to prove possession (carries a challenge or a signature), 0 for the
 * first, unsigned Hello that asks for a Challenge. */
int pl_rdv_hello_is_signed(const Peerlink__V1__Hello *hello);

/* Checks the proof of possession of a validated Hello: its challenge must equal `nonce` (the one
 * this stream was sent) and its signature must verify under hello->public_key over
 * PL_IDENTITY_REGISTER_CONTEXT || nonce || id. On failure writes a message naming the field
 * ("hello.signature: ...") into err. Returns 0, PL_ERR_AUTH. */
int pl_rdv_hello_check_proof(const Peerlink__V1__Hello *hello, const uint8_t *nonce,
                             size_t noncelen, char *err, size_t errlen);

#endif
