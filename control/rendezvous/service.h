#ifndef PEERLINK_RENDEZVOUS_SERVICE_H
#define PEERLINK_RENDEZVOUS_SERVICE_H

/* peerlink.v1.Rendezvous: the registry of agents with an open Register stream (each proved it
 * holds its key by signing a challenge), pairings with offers to both sides, and the relay's
 * stream side. The decisions are the I/O-free registry.c and relay.c; this is their gRPC glue.
 * The UDP side (STUN, relay) is udp.c; it sends through udp_send below. */

#include <stdint.h>
#include <sys/socket.h>

#include "control/rendezvous/registry.h"
#include "control/rendezvous/relay.h"
#include "control/rpc/rpc.h"

typedef struct pl_rdv_service {
  pl_rdv_registry registry;          /* registry.auto_pair is --auto-pair */
  pl_rdv_actions actions;            /* the current input's, executed before the handler returns */
  struct pl_rdv__stream *overflowed; /* streams to take out once the current actions ran */
  pl_rdv_relay_stats stats;
  pl_rpc_service service;
  uint32_t udp_port;     /* bound relay/STUN port announced in Registered and Offer; 0: none */
  uint32_t udp_alt_port; /* bound STUN-only port; 0: none */
  /* bound STUN-over-TCP port announced in Registered; 0: none */
  uint32_t stun_tcp_port;
  /* Sends on the relay socket. Returns 0 or a negative PL_ERR_*. NULL without UDP. */
  int (*udp_send)(void *arg, const struct sockaddr *to, const uint8_t *data, size_t len);
  void *udp_arg;
  /* Every join (JOINED), candidates change (UPDATED) and departure (LEFT), whoever sees it:
   * for the HTTP side's /ws/watch. A JOINED of a registered ID replaces that registration.
   * NULL: none. */
  void (*on_change)(void *arg, Peerlink__V1__RegistryChange__Kind kind,
                    const Peerlink__V1__AgentInfo *info);
  void *change_arg;
  /* --redis: the shared registry (cluster.h); NULL without. */
  struct pl_rdv_cluster *cluster;
  /* --advertise: the host offers name for the relay (this instance's UDP port); NULL or "":
   * the host the agent dialled for its rendezvous. */
  const char *relay_host;
} pl_rdv_service;

/* Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_service_init(pl_rdv_service *svc);
/* Call after the server shut down (every Register call has ended). */
void pl_rdv_service_free(pl_rdv_service *svc);

/* A peerlink frame that arrived on the relay socket: relays it (see relay.h). `reply` (cap ≥
 * PL_FRAME_MAX_LEN) is scratch space for an answer. */
void pl_rdv_service_relay_datagram(pl_rdv_service *svc, const struct sockaddr *from,
                                   const uint8_t *data, size_t len, uint8_t *reply, size_t cap);

#endif
