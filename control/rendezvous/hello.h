#ifndef PEERLINK_RENDEZVOUS_HELLO_H
#define PEERLINK_RENDEZVOUS_HELLO_H

#include <stddef.h>

#include "peerlink/v1/rendezvous.pb-c.h"

/* Checks a Register stream's Hello: ID format and that it is derived from public_key, name
 * length, fingerprint format, candidate addresses. On failure writes a message naming the
 * field ("hello.id: ...") into err. Returns 0 or PL_ERR_INVALID. I/O-free. */
int pl_hello_validate(const Peerlink__V1__Hello *hello, char *err, size_t errlen);

/* Checks one candidate list (also used for CandidatesUpdate); `field` prefixes messages. */
int pl_candidates_validate(Peerlink__V1__Candidate *const *cands, size_t n, const char *field,
                           char *err, size_t errlen);

#endif
