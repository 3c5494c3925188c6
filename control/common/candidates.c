/* Checks of candidate lists from the network (Hello, CandidatesUpdate, Connect). */
#include "control/common/candidates.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "control/common/err.h"

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
    if (cands[i]->transport != PEERLINK__V1__TRANSPORT__TRANSPORT_UNSPECIFIED &&
        cands[i]->transport != PEERLINK__V1__TRANSPORT__TRANSPORT_UDP &&
        cands[i]->transport != PEERLINK__V1__TRANSPORT__TRANSPORT_TCP) {
      snprintf(err, errlen, "%s[%zu].transport: unknown value %d", field, i,
               (int)cands[i]->transport);
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
