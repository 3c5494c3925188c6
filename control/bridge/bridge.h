#ifndef PEERLINK_BRIDGE_H
#define PEERLINK_BRIDGE_H

/* peerlink-bridge: browsers' gRPC calls carried to one agent, and the UI's static files, on
 * libwebsockets running on the program's libuv loop (docs/bridge.md).
 *
 * Two browser transports on one listener: improbable-eng's grpc-websockets (one WebSocket per
 * call; every call shape) and gRPC-Web over HTTP/1.1 POST (unary and server streaming). The
 * bridge forwards protobuf bytes unparsed, through control/rpc's raw client calls. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "control/bridge/reasons.h"

#define PL_BRIDGE_MAX_MESSAGE_DEFAULT (4u << 20)

typedef struct pl_bridge_config {
  const char *listen;               /* "HOST:PORT"; port 0 picks a free one */
  const char *agent;                /* the agent's gRPC "HOST:PORT" */
  const char *agent_token;          /* sent to the agent as a bearer token; never to the page */
  const char *token;                /* browsers must present it; required off loopback */
  const char *const *allow_origins; /* extra Origins allowed besides the page's own */
  size_t n_allow_origins;
  const char *services;     /* comma-separated services exposed; NULL: the default set */
  const char *ui_dir;       /* static files; NULL or missing: a page saying the UI is not built */
  size_t max_message_bytes; /* largest request message; 0: PL_BRIDGE_MAX_MESSAGE_DEFAULT */
} pl_bridge_config;

typedef struct pl_bridge pl_bridge;

/* Creates the bridge on `loop` and starts listening. On failure `err` names the flag at fault
 * ("--listen 127.0.0.1:80: cannot bind (address in use or not local?)"), and *pbridge is NULL,
 * or, when libwebsockets had started already, a stopped bridge: run the loop, then
 * pl_bridge_free it. Returns 0, PL_ERR_INVALID (a bad value, or a non-loopback --listen without
 * --token), PL_ERR_IO (cannot bind, or the libwebsockets libuv plugin is missing),
 * PL_ERR_NOMEM. */
int pl_bridge_start(pl_bridge **pbridge, uv_loop_t *loop, const pl_bridge_config *cfg, char *err,
                    size_t errlen);

/* The bound port. */
int pl_bridge_port(const pl_bridge *b);

const pl_bridge_counters *pl_bridge_counters_of(const pl_bridge *b);

/* Closes the listener and every connection and cancels the live calls. The loop must then
 * run until it has nothing left (libwebsockets closes its handles on it) before
 * pl_bridge_free. Calling it again does nothing. */
void pl_bridge_stop(pl_bridge *b);

/* Frees a stopped bridge once the loop has run dry. Returns 0, or PL_ERR_STATE when
 * libwebsockets had not finished or a call was still live (freed all the same). */
int pl_bridge_free(pl_bridge *b);

#endif
