#ifndef PEERLINK_AGENT_CANDIDATES_H
#define PEERLINK_AGENT_CANDIDATES_H

#include <stddef.h>
#include <uv.h>

#include "peerlink/v1/common.pb-c.h"

/* Host candidates for a socket bound to udp_addr ("IP:PORT"): that address, or every
 * non-loopback IPv4 interface address when bound to the wildcard. Free with
 * pl_candidates_free. Returns 0, PL_ERR_INVALID, PL_ERR_IO, PL_ERR_NOMEM. */
int pl_candidates_host(const char *udp_addr, Peerlink__V1__Candidate ***pcands, size_t *pn);
void pl_candidates_free(Peerlink__V1__Candidate **cands, size_t n);
/* Appends one candidate (realloc). Returns 0 or PL_ERR_NOMEM. */
int pl_candidates_append(Peerlink__V1__Candidate ***pcands, size_t *pn, const char *ip, int port,
                         Peerlink__V1__CandidateKind kind);

#endif
