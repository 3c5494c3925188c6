#ifndef PEERLINK_AGENT_AGENT_H
#define PEERLINK_AGENT_AGENT_H

#include <stdint.h>
#include <uv.h>

#include "agent/events.h"
#include "agent/identity/identity.h"
#include "agent/registration.h"
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

  uv_udp_t udp; /* the data socket: STUN, probes and frames arrive with NAT traversal */
  char udp_addr[80];
  uint64_t dropped_datagrams;

  pl_registration reg;
  pl_agentlist peers; /* the other agents registered with the rendezvous */
  pl_events events;
} pl_agent;

/* Fills the Agent service table (control_api.c). */
void pl_agent_service_init(pl_agent *agent);

/* Binds the UDP socket (udp.c). Returns 0 or PL_ERR_IO. */
int pl_agent_udp_start(pl_agent *agent, const char *hostport);
void pl_agent_udp_close(pl_agent *agent);

#endif
