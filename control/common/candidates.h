#ifndef PEERLINK_COMMON_CANDIDATES_H
#define PEERLINK_COMMON_CANDIDATES_H

/* Candidate lists as the agent, the rendezvous and Connect receive them. I/O-free. */

#include <stddef.h>

#include "peerlink/v1/common.pb-c.h"

/* At most this many candidates per list: more is a malformed (or hostile) message. */
#define PL_CANDIDATES_MAX 32

/* Checks one candidate list: count, kind set, numeric IP, port 1..65535. On failure writes a
 * message that names the field (`field` prefixes it, e.g. "hello.candidates[2].endpoint.ip: ...")
 * into err. Returns 0 or PL_ERR_INVALID. */
int pl_candidates_validate(Peerlink__V1__Candidate *const *cands, size_t n, const char *field,
                           char *err, size_t errlen);

#endif
