#ifndef PEERLINK_RENDEZVOUS_INTERNAL_H
#define PEERLINK_RENDEZVOUS_INTERNAL_H

/* Shared between the rendezvous's service files (service.c, register.c, execute.c, forward.c):
 * the gRPC glue around the I/O-free registry (registry.c) and relay (relay.c). pl_rdv__ names
 * are not for other modules. */

#include <stdint.h>

#include "control/rendezvous/registry.h"
#include "control/rendezvous/relay.h"
#include "control/rendezvous/service.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/rendezvous.pb-c.h"

#define PL_RDV_NONCE_LEN 32

struct pl_rdv__stream;

/* Where a stream's messages go when it is not a gRPC call: a WebSocket agent (ws_register.c).
 * The stream.c wrappers below pick the call or the sink. */
typedef struct pl_rdv__sink {
  /* Queues one message. Returns 0, PL_ERR_FULL (its queue is at its limit), PL_ERR_CLOSED,
   * PL_ERR_NOMEM. */
  int (*send)(struct pl_rdv__stream *st, const Peerlink__V1__RegisterResponse *resp);
  /* Ends the stream with a status as a gRPC call would carry it. */
  void (*finish)(struct pl_rdv__stream *st, pl_rpc_status code, const char *msg);
  /* The peer's address ("IP:PORT"). */
  const char *(*peer)(struct pl_rdv__stream *st);
  /* Messages queued and the queue's limit. */
  void (*backlog)(struct pl_rdv__stream *st, size_t *pending, size_t *limit);
  /* Raises the queue's limit (the first answer is the whole view). */
  void (*grow)(struct pl_rdv__stream *st, size_t more);
} pl_rdv__sink;

/* One Register stream: the call's data (or a WebSocket agent's, with `sink`). */
typedef struct pl_rdv__stream {
  pl_rdv_service *svc;
  pl_rpc_call *call; /* NULL once the call is gone, and for a sink */
  const pl_rdv__sink *sink;
  void *sink_arg;
  int finished; /* we ended the stream: later messages are ignored */
  /* Its send queue refused a registry message: it leaves once the current actions are done. */
  struct pl_rdv__stream *next_overflowed;
  int has_nonce;
  uint8_t nonce[PL_RDV_NONCE_LEN];
  pl_rdv_agent agent; /* agent.stream is this stream */
  /* --redis (cluster_front.c): this local stream's registration is in the leader's registry,
   * not in this instance's; `serial` (hex) is its number there and the key of front_node. */
  int remote;
  char serial[17];
  pl_rdv_idmap_node front_node;
} pl_rdv__stream;

/* stream.c: a stream's output, to its call or its sink. pl_rdv__send returns what
 * pl_rpc_call_send or the sink's send returns (PL_ERR_CLOSED when neither is left). */
int pl_rdv__send(pl_rdv__stream *st, const Peerlink__V1__RegisterResponse *resp);
void pl_rdv__finish(pl_rdv__stream *st, pl_rpc_status code, const char *msg);
const char *pl_rdv__peer(pl_rdv__stream *st);
/* 1 when the stream can still be sent to. */
int pl_rdv__open(const pl_rdv__stream *st);
void pl_rdv__backlog(pl_rdv__stream *st, size_t *pending, size_t *limit);
void pl_rdv__grow(pl_rdv__stream *st, size_t more);
/* Tells svc->on_change (the /ws/watch dashboards) of a registry change. */
void pl_rdv__notify(pl_rdv_service *svc, Peerlink__V1__RegistryChange__Kind kind,
                    const Peerlink__V1__AgentInfo *info);

/* service.c: one RegisterRequest of a stream (gRPC or WebSocket), dispatched to register.c. */
void pl_rdv__request(pl_rdv__stream *st, const Peerlink__V1__RegisterRequest *req);

/* register.c: the stream's inputs to the registry. pl_rdv__join stores a proven record in this
 * instance's registry (an agent's own, or a remote one's at the leader). */
void pl_rdv__join(pl_rdv__stream *st, const Peerlink__V1__AgentInfo *info, const char *network,
                  const uint8_t *public_key, size_t public_key_len);
void pl_rdv__hello(pl_rdv__stream *st, const Peerlink__V1__Hello *hello);
void pl_rdv__candidates(pl_rdv__stream *st, const Peerlink__V1__CandidatesUpdate *upd);
void pl_rdv__pair(pl_rdv__stream *st, const Peerlink__V1__PairRequest *req);
/* WatchPeers (watch = 1) or UnwatchPeers (0); a bad request ends the stream. */
void pl_rdv__watch(pl_rdv__stream *st, char *const *ids, size_t n, int watch);
/* Takes the agent out of the registry (others get LEFT) and ends its pairings. Idempotent. */
void pl_rdv__unregister(pl_rdv__stream *st);
/* Unregisters, then ends the stream with `code` and a message. */
void pl_rdv__fail(pl_rdv__stream *st, pl_rpc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* execute.c: carries out svc->actions over the Register streams, then clears them. A stream
 * whose send queue refuses a registry message is ended with RESOURCE_EXHAUSTED (a registry view
 * with a hole in it is worse than none: the agent registers again and gets the whole view) and
 * leaves the registry, whose notifications are carried out in turn. */
void pl_rdv__execute(pl_rdv_service *svc);

/* service.c: one ListAgents page of this instance's registry into *resp (resp->agents is the
 * caller's to free; `next` holds its token). Returns PL_RPC_OK, or a status with `msg`. */
pl_rpc_status pl_rdv__list(pl_rdv_service *svc, const Peerlink__V1__ListAgentsRequest *req,
                           Peerlink__V1__ListAgentsResponse *resp, char *next, char *msg,
                           size_t cap);

/* cluster_front.c (--redis): a local stream's registration and requests go to the leader.
 * pl_rdv__cluster_routes is 1 when they do (Redis up), 0 when this instance decides alone. */
int pl_rdv__cluster_routes(const pl_rdv_service *svc);
void pl_rdv__cluster_join(pl_rdv__stream *st, const Peerlink__V1__AgentInfo *info,
                          const char *network, const uint8_t *public_key, size_t public_key_len);
void pl_rdv__cluster_input(pl_rdv__stream *st, const Peerlink__V1__RegisterRequest *req);
/* The stream ended: the leader takes it out of the registry. */
void pl_rdv__cluster_leave(pl_rdv__stream *st);
/* ListAgents through the leader: 1 when the call is answered later, 0 to answer it here. */
int pl_rdv__cluster_list(pl_rdv_service *svc, pl_rpc_call *call,
                         const Peerlink__V1__ListAgentsRequest *req);
/* A ListAgents call is over (answered or cancelled): forget it. */
void pl_rdv__cluster_list_done(pl_rdv_service *svc, pl_rpc_call *call);

/* forward.c */
void pl_rdv__relay_from_stream(pl_rdv__stream *st, const Peerlink__V1__RelayDatagram *dg);
/* Carries out a relay decision (sends over UDP or a stream) and counts the outcome. */
void pl_rdv__relay_execute(pl_rdv_service *svc, pl_rdv_relay_out *out);

#endif
