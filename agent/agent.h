#ifndef PEERLINK_AGENT_AGENT_H
#define PEERLINK_AGENT_AGENT_H

/* One agent process and the glue that wires its parts together. The parts below know nothing
 * of pl_agent: the transport (the UDP socket), the links (one per peer), the Connect waiters,
 * the registration, the event fan-out. Only the files declared here see the whole agent:
 * control_api.c (the gRPC service), link_glue.c, registration_glue.c, stun_glue.c and main.c. */

#include <stdint.h>
#include <uv.h>

#include "agent/connect_wait.h"
#include "agent/events.h"
#include "agent/identity/identity.h"
#include "agent/link.h"
#include "agent/registration.h"
#include "agent/stun_client.h"
#include "agent/transport.h"
#include "agent/version.h"
#include "control/common/agentlist.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"

/* All of an agent's state, owned by the loop thread. */
typedef struct pl_agent {
  uv_loop_t *loop;
  pl_identity ident;
  const char *name;
  uint64_t started_ms; /* uv_now at start */

  pl_rpc_server *server;
  pl_rpc_service service;
  char control_addr[80];

  pl_transport transport; /* the data socket: STUN, peerlink frames, relay frames (QUIC later) */
  char udp_addr[80];

  /* STUN: public endpoint and NAT behaviour (stun_glue.c) */
  char rdv_host[64]; /* host part of --rendezvous: the relay and default STUN server */
  struct sockaddr_storage stun_servers[4];
  size_t n_stun_servers;
  int stun_from_flags; /* --stun given: the rendezvous's responders are not used */
  uint64_t stun_recheck_us;
  pl_stun_client *stun;
  uv_timer_t stun_timer;
  uint64_t stun_dropped; /* STUN-looking datagrams the client did not take */
  struct sockaddr_storage public_ep;
  int has_public;
  Peerlink__V1__NatBehavior nat;

  /* Candidates we register: host, then server-reflexive (owned). */
  Peerlink__V1__Candidate **cands;
  size_t n_cands;

  pl_links links;             /* one per peer (link_glue.c wires them in) */
  pl_connect_waiters waiters; /* Connect calls waiting for a path */
  uint64_t datagrams_sent;
  int closing; /* stopping: no more events */

  pl_registration reg;
  pl_agentlist peers; /* the other agents registered with the rendezvous */
  pl_events events;
} pl_agent;

/* Fills the Agent service table (control_api.c). */
void pl_agent_service_init(pl_agent *a);

/* link_glue.c: the links' datagrams go to the transport (UDP) or the Register stream (relay
 * over TCP); their path changes and data become events and Connect answers. Call after the
 * transport is open; keepalive/dead/relay timing must be set in a->links already. */
void pl_agent_links_init(pl_agent *a);
/* Stopping: ends every link (each sends CLOSE, so its peer stops at once instead of timing the
 * path out) and every Connect waiter (UNAVAILABLE `why`), with no more events. Call while the
 * transport and the Register stream are still open. */
void pl_agent_links_close(pl_agent *a, const char *why);
/* Datagrams dropped before any protocol looked at them: noise, frames for no link, STUN for no
 * transaction (the links' own MAC and replay drops are in their punch stats). */
uint64_t pl_agent_dropped(const pl_agent *a);

/* registration_glue.c: registers with the rendezvous at `target` (HOST:PORT) and turns what the
 * stream brings into peers, events, links and Connect answers. Returns 0 or PL_ERR_*. */
int pl_agent_registration_start(pl_agent *a, const char *target, const char *token);

/* stun_glue.c: the STUN client's timer and transport receiver. Init once after the transport is
 * open; start when servers are known (flags, or the rendezvous's ports). */
void pl_agent_stun_init(pl_agent *a);
int pl_agent_stun_start(pl_agent *a);
void pl_agent_stun_close(pl_agent *a);
/* Publishes the current public endpoint and NAT behaviour (to one stream when `only`). */
void pl_agent_publish_nat(pl_agent *a, pl_rpc_call *only);
/* Rebuilds a->cands from the host addresses and the STUN mapping, and tells the registration
 * and the links. Returns 0 or PL_ERR_*. */
int pl_agent_refresh_candidates(pl_agent *a);

#endif
