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

/* One Register stream: the call's data. */
typedef struct pl_rdv__stream {
  pl_rdv_service *svc;
  pl_rpc_call *call; /* NULL once the call is gone */
  int finished;      /* we ended the stream: later messages are ignored */
  /* Its send queue refused a registry message: it leaves once the current actions are done. */
  struct pl_rdv__stream *next_overflowed;
  int has_nonce;
  uint8_t nonce[PL_RDV_NONCE_LEN];
  pl_rdv_agent agent; /* agent.stream is this stream */
} pl_rdv__stream;

/* register.c: the stream's inputs to the registry. */
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

/* forward.c */
void pl_rdv__relay_from_stream(pl_rdv__stream *st, const Peerlink__V1__RelayDatagram *dg);
/* Carries out a relay decision (sends over UDP or a stream) and counts the outcome. */
void pl_rdv__relay_execute(pl_rdv_service *svc, pl_rdv_relay_out *out);

#endif
