/* The registry's decisions. Memory for an input's actions is reserved before anything changes,
 * so an input either happens with every notification it owes, or (out of memory) not at all;
 * only a departure cannot be refused, and marks the list `lost` if it could not record it. */
#include "control/rendezvous/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/hex.h"

/* The most actions one input can add, given the number of registered agents `n`: a replaced
 * registration's END, LEFTs and PAIRING_ENDEDs, REGISTERED and two JOINEDs per agent, and at
 * most one offer per agent from --auto-pair. */
static size_t worst_case(size_t n) {
  return 4 * n + PL_RDV_PAIRING_MAX_PER_AGENT + 8;
}

static int reserve(pl_rdv_actions *out, size_t more) {
  if (out->cap - out->n >= more)
    return 0;
  size_t cap = out->cap ? out->cap : 16;
  while (cap - out->n < more)
    cap *= 2;
  pl_rdv_action *v = realloc(out->v, cap * sizeof *v);
  if (v == NULL)
    return PL_ERR_NOMEM;
  out->v = v;
  out->cap = cap;
  return 0;
}

static pl_rdv_action *push(pl_rdv_actions *out, pl_rdv_action_kind kind, pl_rdv_agent *to) {
  if (reserve(out, 1) != 0) {
    out->lost = 1;
    return NULL;
  }
  pl_rdv_action *a = &out->v[out->n++];
  memset(a, 0, sizeof *a);
  a->kind = kind;
  a->to = to;
  return a;
}

static void push_change(pl_rdv_actions *out, pl_rdv_agent *to,
                        Peerlink__V1__RegistryChange__Kind change,
                        const Peerlink__V1__AgentInfo *about) {
  pl_rdv_action *a = push(out, PL_RDV_ACT_CHANGE, to);
  if (a) {
    a->change = change;
    a->about = about;
  }
}

/* Tells every registered agent except `about` that `about` changed. */
static void broadcast(pl_rdv_registry *r, const pl_agentlist_entry *about,
                      const Peerlink__V1__AgentInfo *info,
                      Peerlink__V1__RegistryChange__Kind change, pl_rdv_actions *out) {
  for (pl_agentlist_entry *e = r->list.head; e; e = e->next)
    if (e != about)
      push_change(out, e->data, change, info);
}

void pl_rdv_actions_init(pl_rdv_actions *out) {
  memset(out, 0, sizeof *out);
}

void pl_rdv_actions_clear(pl_rdv_actions *out) {
  /* Offers carried pairing secrets. */
  if (out->v)
    explicit_bzero(out->v, out->n * sizeof *out->v);
  out->n = 0;
  for (size_t i = 0; i < out->n_departed; i++)
    pl_agentlist_free_info(out->departed[i]);
  out->n_departed = 0;
  out->lost = 0;
  out->autopair_failed = 0;
}

void pl_rdv_actions_free(pl_rdv_actions *out) {
  pl_rdv_actions_clear(out);
  free(out->v);
  free(out->departed);
  memset(out, 0, sizeof *out);
}

int pl_rdv_registry_init(pl_rdv_registry *r, pl_random_fn random) {
  memset(r, 0, sizeof *r);
  pl_agentlist_init(&r->list);
  return pl_rdv_pairings_init(&r->pairings, random);
}

void pl_rdv_registry_free(pl_rdv_registry *r) {
  pl_rdv_pairings_free(&r->pairings);
  pl_agentlist_free(&r->list);
}

void pl_rdv_agent_init(pl_rdv_agent *a, void *stream) {
  memset(a, 0, sizeof *a);
  a->stream = stream;
}

void pl_rdv_agent_release(pl_rdv_agent *a) {
  free(a->public_key);
  a->public_key = NULL;
  a->public_key_len = 0;
}

pl_rdv_agent *pl_rdv_registry_find(const pl_rdv_registry *r, const char *id) {
  pl_agentlist_entry *e = pl_agentlist_find(&r->list, id);
  return e ? e->data : NULL;
}

/* ---- Pairing ------------------------------------------------------------------------------ */

static void push_offer(pl_rdv_actions *out, const pl_rdv_pairing *p, int side, int automatic,
                       int64_t start) {
  pl_rdv_action *a = push(out, PL_RDV_ACT_OFFER, p->side[side].member->owner);
  if (a == NULL)
    return;
  a->peer = p->side[1 - side].member->owner;
  memcpy(a->pairing_id, p->id_hex, sizeof a->pairing_id);
  memcpy(a->secret, p->secret, sizeof a->secret);
  a->controlling = side == 0;
  a->start_unix_ms = start;
  a->automatic = automatic;
}

/* Makes a pairing and offers it to both sides, controlling side first. */
static int make_pairing(pl_rdv_registry *r, pl_rdv_agent *a, pl_rdv_agent *b, int automatic,
                        int64_t now, pl_rdv_actions *out) {
  pl_rdv_pairing *p;
  if (reserve(out, 2) != 0)
    return PL_ERR_NOMEM;
  int rc = pl_rdv_pairings_create(&r->pairings, &a->member, &b->member, &p);
  if (rc != 0)
    return rc;
  int64_t start = now + PL_RDV_OFFER_START_DELAY_MS;
  push_offer(out, p, 0, automatic, start);
  push_offer(out, p, 1, automatic, start);
  return 0;
}

/* The PAIR_ERROR for `to`; the caller writes its message. NULL when out of memory. */
static pl_rdv_action *pair_error(pl_rdv_actions *out, pl_rdv_agent *to, const char *peer_id,
                                 const char *why) {
  pl_rdv_action *a = push(out, PL_RDV_ACT_PAIR_ERROR, to);
  if (a) {
    a->peer_id = peer_id;
    a->why = why;
  }
  return a;
}

int pl_rdv_registry_pair(pl_rdv_registry *r, pl_rdv_agent *a, const char *peer_id,
                         int64_t now_unix_ms, pl_rdv_actions *out) {
  pl_rdv_action *e;
  if (a->entry == NULL)
    return PL_ERR_STATE;
  if (strcmp(peer_id, a->member.id) == 0) {
    if ((e = pair_error(out, a, peer_id, "self")))
      snprintf(e->message, sizeof e->message, "pair.peer_id: an agent cannot pair with itself");
    return 0;
  }
  pl_rdv_agent *b = pl_rdv_registry_find(r, peer_id);
  if (b == NULL) {
    if ((e = pair_error(out, a, peer_id, "unknown_peer")))
      snprintf(e->message, sizeof e->message, "pair.peer_id: agent \"%.40s\" is not registered",
               peer_id);
    return 0;
  }
  int rc = make_pairing(r, a, b, 0, now_unix_ms, out);
  if (rc == PL_ERR_STATE && (e = pair_error(out, a, peer_id, "busy")))
    snprintf(e->message, sizeof e->message, "busy: one side already has %d pairings",
             PL_RDV_PAIRING_MAX_PER_AGENT);
  else if (rc != 0 && rc != PL_ERR_STATE && (e = pair_error(out, a, peer_id, "error")))
    snprintf(e->message, sizeof e->message, "rendezvous cannot make a pairing: %s",
             pl_strerror(rc));
  return 0;
}

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
static int autopair_ready(const pl_agentlist_entry *e) {
  const pl_rdv_agent *ag = e->data;
  return ag->member.n_pairings == 0 && has_server_reflexive(e->info);
}

void pl_rdv_registry_autopair(pl_rdv_registry *r, int64_t now_unix_ms, pl_rdv_actions *out) {
  if (!r->auto_pair)
    return;
  for (;;) {
    pl_agentlist_entry *a = r->list.head, *b;
    while (a && !autopair_ready(a))
      a = a->next;
    if (a == NULL)
      return;
    for (b = a->next; b && !autopair_ready(b); b = b->next) {
    }
    if (b == NULL)
      return;
    /* Fresh agents with no pairings: only memory or the random source can stop this. */
    if (make_pairing(r, a->data, b->data, 1, now_unix_ms, out) != 0) {
      out->autopair_failed = 1;
      return;
    }
  }
}

/* ---- Membership --------------------------------------------------------------------------- */

/* Keeps `info` for the LEFT changes that refer to it; NULL when out of memory. */
static const Peerlink__V1__AgentInfo *keep_departed(pl_rdv_actions *out,
                                                    const Peerlink__V1__AgentInfo *info) {
  Peerlink__V1__AgentInfo *copy;
  if (out->n_departed == out->cap_departed) {
    size_t cap = out->cap_departed ? out->cap_departed * 2 : 4;
    Peerlink__V1__AgentInfo **d = realloc(out->departed, cap * sizeof *d);
    if (d == NULL)
      return NULL;
    out->departed = d;
    out->cap_departed = cap;
  }
  if (pl_agentlist_copy_info(&copy, info) != 0)
    return NULL;
  out->departed[out->n_departed++] = copy;
  return copy;
}

void pl_rdv_registry_leave(pl_rdv_registry *r, pl_rdv_agent *a, int64_t now_unix_ms,
                           pl_rdv_actions *out) {
  pl_agentlist_entry *entry = a->entry;
  if (entry == NULL)
    return;
  if (reserve(out, worst_case(r->list.count)) != 0)
    out->lost = 1;
  const Peerlink__V1__AgentInfo *kept = keep_departed(out, entry->info);
  if (kept)
    broadcast(r, entry, kept, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT, out);
  else
    out->lost = 1;
  while (a->member.pairings) {
    pl_rdv_pairing *p = a->member.pairings;
    pl_rdv_pairing_member *other = p->side[1 - pl_rdv_pairing_side_of(p, &a->member)].member;
    pl_rdv_action *act = push(out, PL_RDV_ACT_PAIRING_ENDED, a);
    if (act) {
      act->peer = other ? other->owner : NULL;
      memcpy(act->pairing_id, p->id_hex, sizeof act->pairing_id);
    }
    pl_rdv_pairings_delete(&r->pairings, p);
  }
  pl_agentlist_remove(&r->list, entry);
  a->entry = NULL;
  /* Its partners are free again. */
  pl_rdv_registry_autopair(r, now_unix_ms, out);
}

int pl_rdv_registry_join(pl_rdv_registry *r, pl_rdv_agent *a, const Peerlink__V1__AgentInfo *info,
                         const uint8_t *public_key, size_t public_key_len, int64_t now_unix_ms,
                         pl_rdv_actions *out) {
  if (a->entry != NULL)
    return PL_ERR_STATE;
  pl_rdv_pairing_member member;
  if (pl_rdv_pairing_member_init(&member, a, info->id) != 0)
    return PL_ERR_INVALID;
  uint8_t *key = malloc(public_key_len ? public_key_len : 1);
  if (key == NULL || reserve(out, worst_case(r->list.count + 1)) != 0) {
    free(key);
    return PL_ERR_NOMEM;
  }
  memcpy(key, public_key, public_key_len);

  /* The same agent registering again (say its old TCP connection is not dead yet) replaces the
   * old stream: the newest registration is the live one. Only a signed Hello gets here, so only
   * the key's holder can push a registration out. */
  pl_rdv_agent *old = pl_rdv_registry_find(r, info->id);
  if (old != NULL) {
    pl_rdv_action *end = push(out, PL_RDV_ACT_END, old);
    if (end) {
      end->end = PL_RDV_END_REPLACED;
      snprintf(end->message, sizeof end->message, "replaced by a newer registration of agent %s",
               info->id);
    }
    pl_rdv_registry_leave(r, old, now_unix_ms, out);
  }

  Peerlink__V1__AgentInfo copy = *info;
  copy.registered_unix_ms = now_unix_ms;
  pl_agentlist_entry *entry;
  if (pl_agentlist_put(&r->list, &copy, &entry) != 0) {
    free(key);
    return PL_ERR_NOMEM;
  }
  pl_rdv_agent_release(a);
  a->public_key = key;
  a->public_key_len = public_key_len;
  a->member = member;
  entry->data = a;
  a->entry = entry;

  push(out, PL_RDV_ACT_REGISTERED, a);
  /* The newcomer learns who is already here from the same stream that later tells it about
   * changes, so its view never needs polling. */
  for (pl_agentlist_entry *e = r->list.head; e; e = e->next)
    if (e != entry)
      push_change(out, a, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED, e->info);
  broadcast(r, entry, entry->info, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED, out);
  pl_rdv_registry_autopair(r, now_unix_ms, out);
  return 0;
}

int pl_rdv_registry_update(pl_rdv_registry *r, pl_rdv_agent *a,
                           Peerlink__V1__Candidate *const *candidates, size_t n_candidates,
                           Peerlink__V1__NatBehavior nat_behavior, int64_t now_unix_ms,
                           pl_rdv_actions *out) {
  if (a->entry == NULL)
    return PL_ERR_STATE;
  if (reserve(out, worst_case(r->list.count)) != 0)
    return PL_ERR_NOMEM;
  Peerlink__V1__AgentInfo info = *a->entry->info;
  info.n_candidates = n_candidates;
  info.candidates = (Peerlink__V1__Candidate **)candidates;
  info.nat_behavior = nat_behavior;
  /* Replaces the record in place: same position, same data pointer. */
  if (pl_agentlist_put(&r->list, &info, NULL) != 0)
    return PL_ERR_NOMEM;
  broadcast(r, a->entry, a->entry->info, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED, out);
  pl_rdv_registry_autopair(r, now_unix_ms, out);
  return 0;
}
