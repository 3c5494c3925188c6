/* Pairings: PairRequest's offers and errors, and --auto-pair, which pairs the free agents of one
 * network oldest first. Each network keeps its free agents in a queue ordered by registration,
 * so auto-pairing costs O(1) per pairing instead of a scan of the registry. */
#include <stdio.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rendezvous/registry_int.h"

#define JOINED PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED

static void push_offer(pl_rdv_actions *out, const pl_rdv_pairing *p, int side, int automatic,
                       int64_t start) {
  pl_rdv_action *a = pl_rdv_registry__push(out, PL_RDV_ACT_OFFER, p->side[side].member->owner);
  if (a == NULL)
    return;
  a->peer = p->side[1 - side].member->owner;
  memcpy(a->pairing_id, p->id_hex, sizeof a->pairing_id);
  memcpy(a->secret, p->secret, sizeof a->secret);
  a->controlling = side == 0;
  a->start_unix_ms = start;
  a->automatic = automatic;
}

/* Makes a pairing and offers it to both sides, controlling side first; a side that did not see
 * the other learns of it first (JOINED), so its view holds every agent it is paired with. */
static int make_pairing(pl_rdv_registry *r, pl_rdv_agent *a, pl_rdv_agent *b, int automatic,
                        int64_t now, pl_rdv_actions *out) {
  pl_rdv_pairing *p;
  if (pl_rdv_registry__reserve(out, 4) != 0)
    return PL_ERR_NOMEM;
  int a_saw = pl_rdv_registry_sees(r, a, b), b_saw = pl_rdv_registry_sees(r, b, a);
  int rc = pl_rdv_pairings_create(&r->pairings, &a->member, &b->member, &p);
  if (rc != 0)
    return rc;
  if (!a_saw)
    pl_rdv_registry__change(out, a, JOINED, b->info);
  if (!b_saw)
    pl_rdv_registry__change(out, b, JOINED, a->info);
  int64_t start = now + PL_RDV_OFFER_START_DELAY_MS;
  push_offer(out, p, 0, automatic, start);
  push_offer(out, p, 1, automatic, start);
  pl_rdv_registry__ready_refresh(r, a);
  pl_rdv_registry__ready_refresh(r, b);
  return 0;
}

/* The PAIR_ERROR for `to`; the caller writes its message. NULL when out of memory. */
static pl_rdv_action *pair_error(pl_rdv_actions *out, pl_rdv_agent *to, const char *peer_id,
                                 const char *why, Peerlink__V1__PairError__Reason reason) {
  pl_rdv_action *a = pl_rdv_registry__push(out, PL_RDV_ACT_PAIR_ERROR, to);
  if (a) {
    a->peer_id = peer_id;
    a->why = why;
    a->reason = reason;
  }
  return a;
}

int pl_rdv_registry_pair(pl_rdv_registry *r, pl_rdv_agent *a, const char *peer_id,
                         int64_t now_unix_ms, pl_rdv_actions *out) {
  pl_rdv_action *e;
  if (a->info == NULL)
    return PL_ERR_STATE;
  if (strcmp(peer_id, a->member.id) == 0) {
    if ((e = pair_error(out, a, peer_id, "self", PEERLINK__V1__PAIR_ERROR__REASON__REASON_SELF)))
      snprintf(e->message, sizeof e->message, "pair.peer_id: an agent cannot pair with itself");
    return 0;
  }
  pl_rdv_agent *b = pl_rdv_registry_find(r, peer_id);
  if (b == NULL) {
    if ((e = pair_error(out, a, peer_id, "unknown_peer",
                        PEERLINK__V1__PAIR_ERROR__REASON__REASON_UNKNOWN_PEER)))
      snprintf(e->message, sizeof e->message, "pair.peer_id: agent \"%.40s\" is not registered",
               peer_id);
    return 0;
  }
  int rc = make_pairing(r, a, b, 0, now_unix_ms, out);
  if (rc == PL_ERR_STATE &&
      (e = pair_error(out, a, peer_id, "busy", PEERLINK__V1__PAIR_ERROR__REASON__REASON_BUSY)))
    snprintf(e->message, sizeof e->message, "busy: one side already has %d pairings",
             PL_RDV_PAIRING_MAX_PER_AGENT);
  else if (rc != 0 && rc != PL_ERR_STATE &&
           (e = pair_error(out, a, peer_id, "error",
                           PEERLINK__V1__PAIR_ERROR__REASON__REASON_INTERNAL)))
    snprintf(e->message, sizeof e->message, "rendezvous cannot make a pairing: %s",
             pl_strerror(rc));
  return 0;
}

/* ---- --auto-pair ------------------------------------------------------------------------- */

static int has_server_reflexive(const Peerlink__V1__AgentInfo *info) {
  for (size_t i = 0; i < info->n_candidates; i++) {
    const Peerlink__V1__Candidate *c = info->candidates[i];
    if (c->kind == PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE &&
        c->transport != PEERLINK__V1__TRANSPORT__TRANSPORT_TCP)
      return 1;
  }
  return 0;
}

/* As the Python prototype did: an agent is ready once it registered its public UDP endpoint. */
static int wants_pairing(const pl_rdv_registry *r, const pl_rdv_agent *a) {
  return r->auto_pair && a->info != NULL && a->member.n_pairings == 0 &&
         has_server_reflexive(a->info);
}

void pl_rdv_registry__ready_refresh(pl_rdv_registry *r, pl_rdv_agent *a) {
  pl_rdv_group *g = a->net;
  int want = g != NULL && wants_pairing(r, a);
  if (want == a->ready)
    return;
  if (want) {
    /* Oldest first: most come last (a newcomer); a partner freed by a departure may be older. */
    pl_rdv_agent *after = g->ready_tail;
    while (after && after->seq > a->seq)
      after = after->ready_prev;
    a->ready_prev = after;
    a->ready_next = after ? after->ready_next : g->ready_head;
    if (a->ready_next)
      a->ready_next->ready_prev = a;
    else
      g->ready_tail = a;
    if (after)
      after->ready_next = a;
    else
      g->ready_head = a;
    g->n_ready++;
  } else {
    if (a->ready_prev)
      a->ready_prev->ready_next = a->ready_next;
    else
      g->ready_head = a->ready_next;
    if (a->ready_next)
      a->ready_next->ready_prev = a->ready_prev;
    else
      g->ready_tail = a->ready_prev;
    a->ready_prev = a->ready_next = NULL;
    g->n_ready--;
  }
  a->ready = want;
}

void pl_rdv_registry__autopair_group(pl_rdv_registry *r, pl_rdv_group *g, int64_t now,
                                     pl_rdv_actions *out) {
  while (g && g->n_ready >= 2) {
    /* Fresh agents with no pairings: only memory or the random source can stop this. */
    if (make_pairing(r, g->ready_head, g->ready_head->ready_next, 1, now, out) != 0) {
      out->autopair_failed = 1;
      return;
    }
  }
}

void pl_rdv_registry_autopair(pl_rdv_registry *r, int64_t now_unix_ms, pl_rdv_actions *out) {
  if (!r->auto_pair)
    return;
  /* Pairing changes no network's membership, so the map holds still while we walk it. */
  for (pl_rdv_idmap_node *n = pl_rdv_idmap_next(&r->groups, NULL); n;
       n = pl_rdv_idmap_next(&r->groups, n))
    pl_rdv_registry__autopair_group(r, (pl_rdv_group *)((char *)n - offsetof(pl_rdv_group, node)),
                                    now_unix_ms, out);
}
