#ifndef PEERLINK_AGENT_AGENT_H
#define PEERLINK_AGENT_AGENT_H

#include <stdint.h>
#include <uv.h>

#include "agent/events.h"
#include "agent/identity/identity.h"
#include "agent/pairing.h"
#include "agent/registration.h"
#include "agent/stun_client.h"
#include "control/common/agentlist.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"

#define PL_AGENT_VERSION "0.1.0"

/* One agent process: all of its state, owned by the loop thread. */
typedef struct pl_agent {
  uv_loop_t *loop;
  pl_identity ident;
  const char *name;
  uint64_t started_ms; /* uv_now at start */

  pl_rpc_server *server;
  pl_rpc_service service;
  char control_addr[80];

  uv_udp_t udp; /* the data socket: STUN, peerlink frames, relay frames (QUIC later) */
  char udp_addr[80];
  struct sockaddr_storage udp_local;
  uint64_t dropped_datagrams; /* unparsable, unauthenticated, replayed or for no pairing */

  /* STUN: public endpoint and NAT behaviour (stun_glue.c) */
  char rdv_host[64]; /* host part of --rendezvous: the relay and default STUN server */
  struct sockaddr_storage stun_servers[4];
  size_t n_stun_servers;
  uint64_t stun_recheck_us;
  pl_stun_client *stun;
  uv_timer_t stun_timer;
  struct sockaddr_storage public_ep;
  int has_public;
  Peerlink__V1__NatBehavior nat;

  /* Candidates we register: host, then server-reflexive (owned). */
  Peerlink__V1__Candidate **cands;
  size_t n_cands;

  /* Pairings and Connect calls waiting for a path (pairing.c) */
  pl_pairing *pairings;
  pl_connect_waiter *waiters;
  uint64_t keepalive_us, dead_after_us, relay_after_us;
  uint64_t datagrams_sent;
  int closing;

  pl_registration reg;
  pl_agentlist peers; /* the other agents registered with the rendezvous */
  pl_events events;
} pl_agent;

/* Fills the Agent service table (control_api.c). */
void pl_agent_service_init(pl_agent *agent);

/* Binds the UDP socket (udp.c). Returns 0 or PL_ERR_IO. */
int pl_agent_udp_start(pl_agent *agent, const char *hostport);
void pl_agent_udp_close(pl_agent *agent);
/* Sends one datagram now (non-blocking; a full socket buffer drops it, like the network
 * would). Returns 0 or PL_ERR_IO. */
int pl_agent_udp_send(pl_agent *agent, const struct sockaddr *dst, const uint8_t *data, size_t len);

/* STUN (stun_glue.c): starts when servers are known (flags, or the rendezvous's ports). */
int pl_agent_stun_start(pl_agent *agent);
void pl_agent_stun_recv(pl_agent *agent, const struct sockaddr *from, const uint8_t *data,
                        size_t len);
void pl_agent_stun_close(pl_agent *agent);
/* Publishes the current public endpoint and NAT behaviour (to one stream when `only`). */
void pl_agent_publish_nat(pl_agent *agent, pl_rpc_call *only);
/* Rebuilds a->cands from the host addresses and the STUN mapping. Returns 0 or PL_ERR_*. */
int pl_agent_refresh_candidates(pl_agent *agent);

#endif
