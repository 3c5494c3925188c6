/* The registry's membership: joins, updates, departures, replacement. Memory for an input's
 * actions is reserved before anything changes, so an input either happens with every
 * notification it owes, or (out of memory) not at all; only a departure cannot be refused, and
 * marks the list `lost` if it could not record it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/agentlist.h"
#include "control/common/err.h"
#include "control/common/netname.h"
#include "control/rendezvous/registry_int.h"

int pl_rdv_registry__reserve(pl_rdv_actions *out, size_t more) {
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

pl_rdv_action *pl_rdv_registry__push(pl_rdv_actions *out, pl_rdv_action_kind kind,
                                     pl_rdv_agent *to) {
  if (pl_rdv_registry__reserve(out, 1) != 0) {
    out->lost = 1;
    return NULL;
  }
  pl_rdv_action *a = &out->v[out->n++];
  memset(a, 0, sizeof *a);
  a->kind = kind;
  a->to = to;
  return a;
}

void pl_rdv_registry__change(pl_rdv_actions *out, pl_rdv_agent *to,
                             Peerlink__V1__RegistryChange__Kind change,
                             const Peerlink__V1__AgentInfo *about) {
  pl_rdv_action *a = pl_rdv_registry__push(out, PL_RDV_ACT_CHANGE, to);
  if (a) {
    a->change = change;
    a->about = about;
  }
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

static size_t *all_slot(void *item) {
  return &((pl_rdv_agent *)item)->slot[0];
}

int pl_rdv_registry_init(pl_rdv_registry *r, pl_random_fn random) {
  uint64_t seed[2] = {0, 0};
  memset(r, 0, sizeof *r);
  /* Without randomness the hash seed and the token check are guessable, nothing worse. */
  if (random)
    (void)random(seed, sizeof seed);
  r->token_key = seed[1];
  pl_rdv_seqlist_init(&r->all, all_slot);
  if (pl_rdv_idmap_init(&r->by_id, seed[0]) != 0)
    goto fail_by_id;
  if (pl_rdv_idmap_init(&r->groups, seed[0] ^ 0x9e3779b97f4a7c15u) != 0)
    goto fail_groups;
  if (pl_rdv_idmap_init(&r->watches, seed[0] ^ 0xc2b2ae3d27d4eb4fu) != 0)
    goto fail_watches;
  if (pl_rdv_pairings_init(&r->pairings, random) != 0)
    goto fail_pairings;
  return 0;

fail_pairings:
  pl_rdv_idmap_free(&r->watches);
fail_watches:
  pl_rdv_idmap_free(&r->groups);
fail_groups:
  pl_rdv_idmap_free(&r->by_id);
fail_by_id:
  return PL_ERR_NOMEM;
}

void pl_rdv_registry_free(pl_rdv_registry *r) {
  pl_rdv_pairings_free(&r->pairings);
  pl_rdv_registry__free_watches(r);
  pl_rdv_registry__free_groups(r);
  pl_rdv_idmap_free(&r->watches);
  pl_rdv_idmap_free(&r->groups);
  pl_rdv_idmap_free(&r->by_id);
  pl_rdv_seqlist_free(&r->all);
}

void pl_rdv_agent_init(pl_rdv_agent *a, void *stream) {
  memset(a, 0, sizeof *a);
  a->stream = stream;
}

void pl_rdv_agent_release(pl_rdv_agent *a) {
  free(a->public_key);
  a->public_key = NULL;
  a->public_key_len = 0;
  free(a->watching);
  a->watching = NULL;
  a->n_watching = a->cap_watching = 0;
}

pl_rdv_agent *pl_rdv_registry_find(const pl_rdv_registry *r, const char *id) {
  pl_rdv_idmap_node *n = pl_rdv_idmap_find(&r->by_id, id);
  return n ? (pl_rdv_agent *)((char *)n - offsetof(pl_rdv_agent, node)) : NULL;
}

const char *pl_rdv_registry_network(const pl_rdv_agent *a) {
  return a->net ? a->net->name : "";
}

int pl_rdv_network_valid(const char *name) {
  return pl_netname_valid(name);
}

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

/* Ends `a`'s pairings; its partners are returned in `freed` (at most
 * PL_RDV_PAIRING_MAX_PER_AGENT) for --auto-pair. */
static size_t end_pairings(pl_rdv_registry *r, pl_rdv_agent *a, pl_rdv_actions *out,
                           pl_rdv_agent **freed) {
  size_t n = 0;
  while (a->member.pairings) {
    pl_rdv_pairing *p = a->member.pairings;
    pl_rdv_pairing_member *other = p->side[1 - pl_rdv_pairing_side_of(p, &a->member)].member;
    pl_rdv_action *act = pl_rdv_registry__push(out, PL_RDV_ACT_PAIRING_ENDED, a);
    if (act) {
      act->peer = other ? other->owner : NULL;
      memcpy(act->pairing_id, p->id_hex, sizeof act->pairing_id);
    }
    pl_rdv_pairings_delete(&r->pairings, p);
    if (other && n < PL_RDV_PAIRING_MAX_PER_AGENT)
      freed[n++] = other->owner;
  }
  return n;
}

void pl_rdv_registry_leave(pl_rdv_registry *r, pl_rdv_agent *a, int64_t now_unix_ms,
                           pl_rdv_actions *out) {
  pl_rdv_agent *freed[PL_RDV_PAIRING_MAX_PER_AGENT];
  if (a->info == NULL)
    return;
  if (pl_rdv_registry__reserve(out, pl_rdv_registry__viewers_max(r, a->net, a->member.id) +
                                        4 * PL_RDV_PAIRING_MAX_PER_AGENT + 8) != 0)
    out->lost = 1;
  /* Everyone who saw it is told, pairing partners included, before the pairings go. */
  const Peerlink__V1__AgentInfo *kept = keep_departed(out, a->info);
  if (kept)
    pl_rdv_registry__notify(r, a, kept, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT, out);
  else
    out->lost = 1;
  size_t n_freed = end_pairings(r, a, out, freed);
  pl_rdv_registry__drop_watches(r, a);
  pl_rdv_idmap_remove(&r->by_id, &a->node);
  pl_rdv_seqlist_remove(&r->all, a->slot[0]);
  pl_rdv_seqlist_remove(&a->net->members, a->slot[1]);
  pl_agentlist_free_info(a->info);
  a->info = NULL;
  r->count--;
  pl_rdv_registry__ready_refresh(r, a); /* not registered: out of the queue */
  pl_rdv_registry__group_put(r, a->net);
  a->net = NULL;
  /* Its partners are free again. */
  for (size_t i = 0; i < n_freed; i++) {
    pl_rdv_registry__ready_refresh(r, freed[i]);
    pl_rdv_registry__autopair_group(r, freed[i]->net, now_unix_ms, out);
  }
}

/* The same agent registering again (say its old TCP connection is not dead yet) replaces the
 * old stream: the newest registration is the live one. Only a signed Hello gets here, so only
 * the key's holder can push a registration out. */
static void replace_older(pl_rdv_registry *r, const char *id, int64_t now, pl_rdv_actions *out) {
  pl_rdv_agent *old = pl_rdv_registry_find(r, id);
  if (old == NULL)
    return;
  pl_rdv_action *end = pl_rdv_registry__push(out, PL_RDV_ACT_END, old);
  if (end) {
    end->end = PL_RDV_END_REPLACED;
    snprintf(end->message, sizeof end->message, "replaced by a newer registration of agent %s", id);
  }
  pl_rdv_registry_leave(r, old, now, out);
}

/* Everything a join needs that can fail, before anything changes: the record's copy, the
 * network and room in the lists. */
static int prepare(pl_rdv_registry *r, const Peerlink__V1__AgentInfo *info, const char *network,
                   int64_t now, Peerlink__V1__AgentInfo **pcopy, pl_rdv_group **pg) {
  Peerlink__V1__AgentInfo tmp = *info;
  tmp.registered_unix_ms = now;
  if (pl_agentlist_copy_info(pcopy, &tmp) != 0)
    return PL_ERR_NOMEM;
  if (pl_rdv_registry__group_get(r, network, pg) != 0)
    goto fail_group;
  if (pl_rdv_seqlist_reserve(&r->all) != 0 || pl_rdv_seqlist_reserve(&(*pg)->members) != 0)
    goto fail_room;
  return 0;

fail_room:
  pl_rdv_registry__group_put(r, *pg);
fail_group:
  pl_agentlist_free_info(*pcopy);
  return PL_ERR_NOMEM;
}

int pl_rdv_registry_join(pl_rdv_registry *r, pl_rdv_agent *a, const Peerlink__V1__AgentInfo *info,
                         const char *network, const uint8_t *public_key, size_t public_key_len,
                         int64_t now_unix_ms, pl_rdv_actions *out) {
  pl_rdv_pairing_member member;
  Peerlink__V1__AgentInfo *copy;
  pl_rdv_group *g;
  if (a->info != NULL)
    return PL_ERR_STATE;
  if (network == NULL)
    network = "";
  if (pl_rdv_pairing_member_init(&member, a, info->id) != 0 || !pl_rdv_network_valid(network))
    return PL_ERR_INVALID;
  uint8_t *key = malloc(public_key_len ? public_key_len : 1);
  if (key == NULL)
    return PL_ERR_NOMEM;
  memcpy(key, public_key, public_key_len);

  replace_older(r, info->id, now_unix_ms, out);
  if (prepare(r, info, network, now_unix_ms, &copy, &g) != 0) {
    free(key);
    return PL_ERR_NOMEM;
  }
  /* REGISTERED, its view and everyone's news of it, and at most a few auto-pairings. */
  size_t need = 1 + 2 * pl_rdv_registry__viewers_max(r, g, info->id) + 4 * g->n_ready + 8;
  if (pl_rdv_registry__reserve(out, need) != 0) {
    pl_agentlist_free_info(copy);
    pl_rdv_registry__group_put(r, g);
    free(key);
    return PL_ERR_NOMEM;
  }

  pl_rdv_agent_release(a);
  a->public_key = key;
  a->public_key_len = public_key_len;
  a->member = member;
  a->info = copy;
  a->seq = ++r->next_seq;
  a->net = g;
  pl_rdv_idmap_insert(&r->by_id, &a->node, a->member.id);
  pl_rdv_seqlist_append(&r->all, a->seq, a);
  pl_rdv_seqlist_append(&g->members, a->seq, a);
  r->count++;

  pl_rdv_registry__push(out, PL_RDV_ACT_REGISTERED, a);
  /* The newcomer learns who it sees from the same stream that later tells it about changes,
   * so its view never needs polling. */
  pl_rdv_registry__initial_view(r, a, out);
  pl_rdv_registry__notify(r, a, a->info, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED, out);
  pl_rdv_registry__ready_refresh(r, a);
  pl_rdv_registry__autopair_group(r, g, now_unix_ms, out);
  return 0;
}

int pl_rdv_registry_update(pl_rdv_registry *r, pl_rdv_agent *a,
                           Peerlink__V1__Candidate *const *candidates, size_t n_candidates,
                           Peerlink__V1__NatBehavior nat_behavior, int64_t now_unix_ms,
                           pl_rdv_actions *out) {
  Peerlink__V1__AgentInfo *copy;
  if (a->info == NULL)
    return PL_ERR_STATE;
  if (pl_rdv_registry__reserve(out, pl_rdv_registry__viewers_max(r, a->net, a->member.id) +
                                        4 * a->net->n_ready + 8) != 0)
    return PL_ERR_NOMEM;
  Peerlink__V1__AgentInfo info = *a->info;
  info.n_candidates = n_candidates;
  info.candidates = (Peerlink__V1__Candidate **)candidates;
  info.nat_behavior = nat_behavior;
  if (pl_agentlist_copy_info(&copy, &info) != 0)
    return PL_ERR_NOMEM;
  pl_agentlist_free_info(a->info);
  a->info = copy;
  pl_rdv_registry__notify(r, a, a->info, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED, out);
  pl_rdv_registry__ready_refresh(r, a);
  pl_rdv_registry__autopair_group(r, a->net, now_unix_ms, out);
  return 0;
}
