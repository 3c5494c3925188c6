#ifndef PEERLINK_RENDEZVOUS_SERVICE_H
#define PEERLINK_RENDEZVOUS_SERVICE_H

/* peerlink.v1.Rendezvous: the registry of agents with an open Register stream (each proved it
 * holds its key by signing a challenge), pairings with offers to both sides, and the relay's
 * stream side. The UDP side (STUN, relay) is udp.c; it sends through udp_send below. */

#include <stdint.h>
#include <sys/socket.h>

#include "control/common/agentlist.h"
#include "control/rendezvous/pairing.h"
#include "control/rendezvous/relay.h"
#include "control/rpc/rpc.h"

typedef struct pl_rendezvous {
  pl_agentlist registry; /* entry->data is the agent's per-stream state */
  pl_pairings pairings;
  pl_relay_stats stats;
  pl_rpc_service service;
  int auto_pair;         /* --auto-pair */
  uint32_t udp_port;     /* bound relay/STUN port announced in Registered and Offer; 0: none */
  uint32_t udp_alt_port; /* bound STUN-only port; 0: none */
  /* Sends on the relay socket. Returns 0 or a negative PL_ERR_*. NULL without UDP. */
  int (*udp_send)(void *arg, const struct sockaddr *to, const uint8_t *data, size_t len);
  void *udp_arg;
} pl_rendezvous;

/* Returns 0 or PL_ERR_NOMEM. */
int pl_rendezvous_init(pl_rendezvous *rv);
/* Call after the server shut down (every Register call has ended). */
void pl_rendezvous_free(pl_rendezvous *rv);

/* A peerlink frame that arrived on the relay socket: relays it (see relay.h). `reply` (cap ≥
 * PL_FRAME_MAX_LEN) is scratch space for an answer. */
void pl_rendezvous_relay_datagram(pl_rendezvous *rv, const struct sockaddr *from,
                                  const uint8_t *data, size_t len, uint8_t *reply, size_t cap);

#endif
