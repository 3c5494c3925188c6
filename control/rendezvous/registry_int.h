#ifndef PEERLINK_RENDEZVOUS_REGISTRY_INT_H
#define PEERLINK_RENDEZVOUS_REGISTRY_INT_H

/* Shared by the registry's files: registry.c (actions, membership), registry_view.c (networks,
 * watches, who sees whom), registry_pair.c (pairings, --auto-pair), registry_list.c (pages).
 * pl_rdv_registry__ names are not for the glue. */

#include "control/rendezvous/registry.h"

/* A network: its members in registration order and its --auto-pair queue (oldest first). */
typedef struct pl_rdv_group {
  pl_rdv_idmap_node node;
  char name[PL_RDV_NETWORK_MAX + 1];
  pl_rdv_seqlist members;
  pl_rdv_agent *ready_head, *ready_tail;
  size_t n_ready;
} pl_rdv_group;

/* A watched ID, registered or not, and who watches it. */
typedef struct pl_rdv_watch {
  pl_rdv_idmap_node node;
  char id[33];
  pl_rdv_agent **watchers;
  size_t n, cap;
} pl_rdv_watch;

/* registry.c */
/* Makes room for `more` actions. Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_registry__reserve(pl_rdv_actions *out, size_t more);
/* Appends an action (zeroed but for kind and to); NULL and out->lost when out of memory. */
pl_rdv_action *pl_rdv_registry__push(pl_rdv_actions *out, pl_rdv_action_kind kind,
                                     pl_rdv_agent *to);
void pl_rdv_registry__change(pl_rdv_actions *out, pl_rdv_agent *to,
                             Peerlink__V1__RegistryChange__Kind change,
                             const Peerlink__V1__AgentInfo *about);

/* registry_view.c */
/* The network called `name` ("" included), made if needed. Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_registry__group_get(pl_rdv_registry *r, const char *name, pl_rdv_group **pg);
/* Frees `g` if nobody is in it. */
void pl_rdv_registry__group_put(pl_rdv_registry *r, pl_rdv_group *g);
/* An upper bound on the agents that see agent `id` of network `g` (or that it sees), for
 * reserving actions. */
size_t pl_rdv_registry__viewers_max(const pl_rdv_registry *r, const pl_rdv_group *g,
                                    const char *id);
/* `change` about `about` (with record `info`) to every agent that sees it. */
void pl_rdv_registry__notify(pl_rdv_registry *r, const pl_rdv_agent *about,
                             const Peerlink__V1__AgentInfo *info,
                             Peerlink__V1__RegistryChange__Kind change, pl_rdv_actions *out);
/* JOINED to `a` about every agent it sees right after joining (oldest first). */
void pl_rdv_registry__initial_view(pl_rdv_registry *r, pl_rdv_agent *a, pl_rdv_actions *out);
/* Takes `a` off every ID it watches. */
void pl_rdv_registry__drop_watches(pl_rdv_registry *r, pl_rdv_agent *a);
void pl_rdv_registry__free_watches(pl_rdv_registry *r);
void pl_rdv_registry__free_groups(pl_rdv_registry *r);

/* registry_pair.c */
/* Puts `a` into, or takes it out of, its network's --auto-pair queue as its state says. */
void pl_rdv_registry__ready_refresh(pl_rdv_registry *r, pl_rdv_agent *a);
/* Pairs the free agents of `g`, oldest first. */
void pl_rdv_registry__autopair_group(pl_rdv_registry *r, pl_rdv_group *g, int64_t now,
                                     pl_rdv_actions *out);

#endif
