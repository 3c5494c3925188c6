#ifndef PEERLINK_RENDEZVOUS_INTERNAL_H
#define PEERLINK_RENDEZVOUS_INTERNAL_H

/* Shared between the rendezvous's service files (register.c, pair.c, forward.c, service.c);
 * pl_rendezvous__ names are not for other modules. */

#include <stdint.h>

#include "control/common/agentlist.h"
#include "control/rendezvous/pairing.h"
#include "control/rendezvous/relay.h"
#include "control/rendezvous/service.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/rendezvous.pb-c.h"

#define PL_RDV_NONCE_LEN 32
/* Messages queued on one Register stream beyond which relayed frames are dropped: a slow
 * reader must not make the rendezvous buffer without bound. */
#define PL_RDV_STREAM_BACKLOG 256

/* One Register stream. The call's data; once registered also the registry entry's data. */
typedef struct pl_rdv_agent {
  pl_rendezvous *rv;
  pl_rpc_call *call;         /* NULL once the call is gone */
  int finished;              /* we ended the stream: later messages are ignored */
  pl_agentlist_entry *entry; /* NULL until registered, and again after unregistering */
  int has_nonce;
  uint8_t nonce[PL_RDV_NONCE_LEN];
  uint8_t *public_key;
  size_t public_key_len;
  pl_pairing_member member;
} pl_rdv_agent;

/* register.c */
void pl_rendezvous__hello(pl_rdv_agent *ag, const Peerlink__V1__Hello *hello);
void pl_rendezvous__candidates(pl_rdv_agent *ag, const Peerlink__V1__CandidatesUpdate *upd);
/* Takes the agent out of the registry (others get LEFT) and ends its pairings. Idempotent. */
void pl_rendezvous__unregister(pl_rdv_agent *ag);
/* Unregisters, then ends the stream with `code` and a message. */
void pl_rendezvous__fail(pl_rdv_agent *ag, pl_rpc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t pl_rendezvous__now_unix_ms(void);

/* pair.c */
void pl_rendezvous__pair(pl_rdv_agent *ag, const Peerlink__V1__PairRequest *req);
/* --auto-pair: pairs free agents that registered UDP endpoints, oldest first. */
void pl_rendezvous__autopair(pl_rendezvous *rv);

/* forward.c */
void pl_rendezvous__relay_from_stream(pl_rdv_agent *ag, const Peerlink__V1__RelayDatagram *dg);
/* Carries out a relay decision (sends over UDP or a stream) and counts the outcome. */
void pl_rendezvous__relay_execute(pl_rendezvous *rv, pl_relay_out *out);

#endif
