#ifndef PEERLINK_RENDEZVOUS_CLUSTER_MSG_H
#define PEERLINK_RENDEZVOUS_CLUSTER_MSG_H

/* The messages rendezvous instances exchange over Redis (proto/peerlink/cluster/v1), I/O-free:
 * packing, and parsing that refuses what an instance must not act on. Redis carries bytes from
 * any client that can reach it, so a message is checked as strictly as an agent's: a sender ID
 * that is not 32 lowercase hex characters, no message kind, or a kind without the parts it
 * needs (a Join without a record or ID, an Input without a request, ...) is refused with a
 * reason, and nothing is acted on. The deeper checks (Hello fields, candidates) stay where the
 * registry's inputs are checked for every stream (register.c). */

#include <stddef.h>
#include <stdint.h>

#include "peerlink/cluster/v1/cluster.pb-c.h"

/* An instance ID: 16 random bytes as lowercase hex. */
#define PL_RDV_INSTANCE_HEX 32

typedef Peerlink__Cluster__V1__ClusterMessage pl_rdv_cmsg;

/* Packs `m` into a malloc'd buffer (*pout, *plen). Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_cmsg_pack(const pl_rdv_cmsg *m, uint8_t **pout, size_t *plen);

/* Parses `len` bytes. Returns 0 with *pm (free with pl_rdv_cmsg_free), PL_ERR_PARSE (not a
 * ClusterMessage, or not a well-formed one: `err` says why), PL_ERR_NOMEM. */
int pl_rdv_cmsg_parse(const uint8_t *data, size_t len, pl_rdv_cmsg **pm, char *err, size_t cap);

void pl_rdv_cmsg_free(pl_rdv_cmsg *m);

/* "join", "input", ... for log lines. */
const char *pl_rdv_cmsg_kind_name(const pl_rdv_cmsg *m);

#endif
