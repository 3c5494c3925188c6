/* Pairings: PairRequest and --auto-pair make one, and both sides get an Offer with the peer,
 * its key, a fresh secret, their roles and a common start time. */
#include <stdio.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/internal.h"

/* Both offers leave together; this much head start covers the second one's delivery, so both
 * sides start probing at the same moment. */
#define START_DELAY_MS 100

static void send_offer(pl_rdv_agent *to, const pl_pairing *p, int side, pl_rdv_agent *peer,
                       int64_t start_ms) {
  Peerlink__V1__Offer offer = PEERLINK__V1__OFFER__INIT;
  Peerlink__V1__Endpoint relay = PEERLINK__V1__ENDPOINT__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  pl_rendezvous *rv = to->rv;
  if (to->call == NULL)
    return;
  offer.pairing_id = (char *)p->id_hex;
  offer.peer = peer->entry->info;
  offer.peer_public_key.data = peer->public_key;
  offer.peer_public_key.len = peer->public_key_len;
  offer.pairing_secret.data = (uint8_t *)p->secret;
  offer.pairing_secret.len = sizeof p->secret;
  offer.role =
      side == 0 ? PEERLINK__V1__ROLE__ROLE_CONTROLLING : PEERLINK__V1__ROLE__ROLE_CONTROLLED;
  offer.start_unix_ms = start_ms;
  /* An empty ip: the host the agent dialled for the rendezvous, which it can reach. */
  if (rv->udp_port != 0) {
    relay.ip = "";
    relay.port = rv->udp_port;
    offer.relay = &relay;
  }
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER;
  resp.offer = &offer;
  pl_rpc_call_send(to->call, &resp.base);
}

static int make_pairing(pl_rdv_agent *a, pl_rdv_agent *b, const char *how, char *err,
                        size_t errlen) {
  pl_rendezvous *rv = a->rv;
  pl_pairing *p;
  int rc = pl_pairings_create(&rv->pairings, &a->member, &b->member, &p);
  if (rc != 0) {
    if (rc == PL_ERR_STATE)
      snprintf(err, errlen, "busy: one side already has %d pairings", PL_PAIRING_MAX_PER_AGENT);
    else
      snprintf(err, errlen, "rendezvous cannot make a pairing: %s", pl_strerror(rc));
    return rc;
  }
  int64_t start = pl_rendezvous__now_unix_ms() + START_DELAY_MS;
  pl_rdv_agent *side0 = p->side[0].member->owner, *side1 = p->side[1].member->owner;
  send_offer(side0, p, 0, side1, start);
  send_offer(side1, p, 1, side0, start);
  pl_log(PL_LOG_INFO, "paired", "pairing=%s controlling=%s controlled=%s by=%s pairings=%zu",
         p->id_hex, side0->member.id, side1->member.id, how, rv->pairings.count);
  return 0;
}

/* `why` is a one-word reason for the log; `message` is for the person behind the agent. */
static void send_pair_error(pl_rdv_agent *ag, const char *peer_id, const char *why,
                            const char *message) {
  Peerlink__V1__PairError pe = PEERLINK__V1__PAIR_ERROR__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  pe.peer_id = (char *)peer_id;
  pe.message = (char *)message;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_PAIR_ERROR;
  resp.pair_error = &pe;
  pl_rpc_call_send(ag->call, &resp.base);
  pl_log(PL_LOG_INFO, "pair_refused", "agent=%s reason=%s", ag->member.id, why);
}

void pl_rendezvous__pair(pl_rdv_agent *ag, const Peerlink__V1__PairRequest *req) {
  pl_rendezvous *rv = ag->rv;
  char err[160];
  if (strcmp(req->peer_id, ag->member.id) == 0) {
    send_pair_error(ag, req->peer_id, "self", "pair.peer_id: an agent cannot pair with itself");
    return;
  }
  pl_agentlist_entry *e = pl_agentlist_find(&rv->registry, req->peer_id);
  if (e == NULL) {
    snprintf(err, sizeof err, "pair.peer_id: agent \"%.40s\" is not registered", req->peer_id);
    send_pair_error(ag, req->peer_id, "unknown_peer", err);
    return;
  }
  int rc = make_pairing(ag, e->data, "request", err, sizeof err);
  if (rc != 0)
    send_pair_error(ag, req->peer_id, rc == PL_ERR_STATE ? "busy" : "error", err);
}

static int has_server_reflexive(const Peerlink__V1__AgentInfo *info) {
  for (size_t i = 0; i < info->n_candidates; i++)
    if (info->candidates[i]->kind == PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE)
      return 1;
  return 0;
}

/* As the Python prototype did: an agent is ready once it registered its public UDP endpoint. */
static int autopair_ready(const pl_agentlist_entry *e) {
  const pl_rdv_agent *ag = e->data;
  return ag->call != NULL && ag->member.n_pairings == 0 && has_server_reflexive(e->info);
}

void pl_rendezvous__autopair(pl_rendezvous *rv) {
  if (!rv->auto_pair)
    return;
  for (;;) {
    pl_agentlist_entry *a = rv->registry.head, *b;
    while (a && !autopair_ready(a))
      a = a->next;
    if (a == NULL)
      return;
    for (b = a->next; b && !autopair_ready(b); b = b->next) {
    }
    if (b == NULL)
      return;
    char err[160];
    /* Fresh agents with no pairings: only a failed allocation can stop this. */
    if (make_pairing(a->data, b->data, "auto", err, sizeof err) != 0) {
      pl_log(PL_LOG_WARN, "auto_pair_failed", "a=%s b=%s", a->info->id, b->info->id);
      return;
    }
  }
}
