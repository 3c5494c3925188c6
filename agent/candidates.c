/* Host candidates: the addresses the agent's UDP socket can be reached at on its own
 * interfaces. Server-reflexive ones come from STUN with NAT traversal. */
#include <stdlib.h>
#include <string.h>

#include "agent/candidates.h"
#include "control/common/err.h"
#include "control/common/flags.h"

static Peerlink__V1__Candidate *new_candidate(const char *ip, int port,
                                              Peerlink__V1__CandidateKind kind) {
  Peerlink__V1__Candidate *c = calloc(1, sizeof *c);
  Peerlink__V1__Endpoint *ep = calloc(1, sizeof *ep);
  char *ipcopy = strdup(ip);
  if (!c || !ep || !ipcopy) {
    free(c);
    free(ep);
    free(ipcopy);
    return NULL;
  }
  peerlink__v1__candidate__init(c);
  peerlink__v1__endpoint__init(ep);
  ep->ip = ipcopy;
  ep->port = (uint32_t)port;
  c->kind = kind;
  c->endpoint = ep;
  return c;
}

void pl_candidates_free(Peerlink__V1__Candidate **cands, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(cands[i]->endpoint->ip);
    free(cands[i]->endpoint);
    free(cands[i]);
  }
  free(cands);
}

int pl_candidates_host(const char *udp_addr, Peerlink__V1__Candidate ***pcands, size_t *pn) {
  char host[64];
  int port, count = 0;
  uv_interface_address_t *ifs = NULL;
  if (pl_hostport_split(udp_addr, host, &port) != 0)
    return PL_ERR_INVALID;
  int wildcard = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
  if (wildcard && uv_interface_addresses(&ifs, &count) != 0)
    return PL_ERR_IO;
  Peerlink__V1__Candidate **cands = calloc((size_t)count + 1, sizeof *cands);
  size_t n = 0;
  int rv = 0;
  if (cands == NULL) {
    rv = PL_ERR_NOMEM;
    goto out;
  }
  if (!wildcard) {
    if ((cands[n] = new_candidate(host, port, PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST)) ==
        NULL)
      rv = PL_ERR_NOMEM;
    else
      n++;
    goto out;
  }
  for (int i = 0; i < count && rv == 0; i++) {
    char ip[64];
    /* Loopback is useless to a peer on another machine; link-local IPv6 needs a scope. */
    if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET)
      continue;
    uv_ip4_name(&ifs[i].address.address4, ip, sizeof ip);
    if ((cands[n] = new_candidate(ip, port, PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST)) ==
        NULL)
      rv = PL_ERR_NOMEM;
    else
      n++;
  }
out:
  if (ifs)
    uv_free_interface_addresses(ifs, count);
  if (rv != 0 && cands) {
    pl_candidates_free(cands, n);
    return rv;
  }
  *pcands = cands;
  *pn = n;
  return 0;
}

int pl_candidates_append(Peerlink__V1__Candidate ***pcands, size_t *pn, const char *ip, int port,
                         Peerlink__V1__CandidateKind kind) {
  Peerlink__V1__Candidate **grown = realloc(*pcands, (*pn + 1) * sizeof *grown);
  if (grown == NULL)
    return PL_ERR_NOMEM;
  *pcands = grown;
  if ((grown[*pn] = new_candidate(ip, port, kind)) == NULL)
    return PL_ERR_NOMEM;
  (*pn)++;
  return 0;
}
