#ifndef PEERLINK_RENDEZVOUS_SERVICE_H
#define PEERLINK_RENDEZVOUS_SERVICE_H

#include "control/common/agentlist.h"
#include "control/rpc/rpc.h"

/* peerlink.v1.Rendezvous: the registry of agents with an open Register stream. */
typedef struct pl_rendezvous {
  pl_agentlist registry; /* entry->data is the agent's Register call */
  pl_rpc_service service;
} pl_rendezvous;

void pl_rendezvous_init(pl_rendezvous *rv);
/* Call after the server shut down (every Register call has ended). */
void pl_rendezvous_free(pl_rendezvous *rv);

#endif
