/* Who sees whom: networks, watched IDs, pairings, --broadcast; and the notifications that
 * follow from it. X sees Y when they share a non-empty network, X watches Y's ID, or they are
 * paired (or always, with --broadcast). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/rendezvous/registry_int.h"

#define JOINED PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED
#define LEFT PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- Networks ----------------------------------------------------------------------------- */

static size_t *member_slot(void *item) {
  return &((pl_rdv_agent *)item)->slot[1];
}

int pl_rdv_registry__group_get(pl_rdv_registry *r, const char *name, pl_rdv_group **pg) {
  pl_rdv_idmap_node *n = pl_rdv_idmap_find(&r->groups, name);
  if (n) {
    *pg = CONTAINER(n, pl_rdv_group, node);
    return 0;
  }
  pl_rdv_group *g = calloc(1, sizeof *g);
  if (g == NULL)
    return PL_ERR_NOMEM;
  snprintf(g->name, sizeof g->name, "%s", name);
  pl_rdv_seqlist_init(&g->members, member_slot);
  pl_rdv_idmap_insert(&r->groups, &g->node, g->name);
  *pg = g;
  return 0;
}

static void group_free(pl_rdv_registry *r, pl_rdv_group *g) {
  pl_rdv_idmap_remove(&r->groups, &g->node);
  pl_rdv_seqlist_free(&g->members);
  free(g);
}

void pl_rdv_registry__group_put(pl_rdv_registry *r, pl_rdv_group *g) {
  if (g->members.live == 0 && g->n_ready == 0)
    group_free(r, g);
}

void pl_rdv_registry__free_groups(pl_rdv_registry *r) {
  pl_rdv_idmap_node *n;
  while ((n = pl_rdv_idmap_next(&r->groups, NULL)) != NULL)
    group_free(r, CONTAINER(n, pl_rdv_group, node));
}

static int same_network(const pl_rdv_agent *x, const pl_rdv_agent *y) {
  return x->net == y->net && x->net->name[0] != '\0';
}

/* ---- Watches ------------------------------------------------------------------------------ */

static pl_rdv_watch *watch_find(const pl_rdv_registry *r, const char *id) {
  pl_rdv_idmap_node *n = pl_rdv_idmap_find(&r->watches, id);
  return n ? CONTAINER(n, pl_rdv_watch, node) : NULL;
}

/* The index of `t` in x's list, or -1. A list holds at most PL_RDV_WATCH_MAX. */
static long watching_index(const pl_rdv_agent *x, const pl_rdv_watch *t) {
  for (size_t i = 0; i < x->n_watching; i++)
    if (x->watching[i].target == t)
      return (long)i;
  return -1;
}

static int watches(const pl_rdv_registry *r, const pl_rdv_agent *x, const pl_rdv_agent *y) {
  if (x->n_watching == 0)
    return 0;
  const pl_rdv_watch *t = watch_find(r, y->member.id);
  return t != NULL && watching_index(x, t) >= 0;
}

int pl_rdv_registry_sees(const pl_rdv_registry *r, const pl_rdv_agent *x, const pl_rdv_agent *y) {
  if (x == y || x->info == NULL || y->info == NULL)
    return 0;
  return r->broadcast || same_network(x, y) || watches(r, x, y) ||
         pl_rdv_pairings_between(&x->member, &y->member) != NULL;
}

size_t pl_rdv_registry__viewers_max(const pl_rdv_registry *r, const pl_rdv_group *g,
                                    const char *id) {
  if (r->broadcast)
    return r->count + 1;
  const pl_rdv_watch *t = watch_find(r, id);
  return (g && g->name[0] ? g->members.live : 0) + (t ? t->n : 0) + PL_RDV_PAIRING_MAX_PER_AGENT;
}

void pl_rdv_registry__notify(pl_rdv_registry *r, const pl_rdv_agent *about,
                             const Peerlink__V1__AgentInfo *info,
                             Peerlink__V1__RegistryChange__Kind change, pl_rdv_actions *out) {
  if (r->broadcast) {
    for (size_t i = 0; i < r->all.n; i++) {
      pl_rdv_agent *x = r->all.v[i].item;
      if (x && x != about)
        pl_rdv_registry__change(out, x, change, info);
    }
    return;
  }
  /* Each viewer once, in this order: its network, its watchers, its partners. */
  const pl_rdv_group *g = about->net;
  if (g->name[0] != '\0') {
    for (size_t i = 0; i < g->members.n; i++) {
      pl_rdv_agent *x = g->members.v[i].item;
      if (x && x != about)
        pl_rdv_registry__change(out, x, change, info);
    }
  }
  const pl_rdv_watch *t = watch_find(r, about->member.id);
  for (size_t i = 0; t && i < t->n; i++)
    if (!same_network(t->watchers[i], about))
      pl_rdv_registry__change(out, t->watchers[i], change, info);
  for (pl_rdv_pairing *p = about->member.pairings; p;
       p = pl_rdv_pairing_next_of(p, &about->member)) {
    pl_rdv_pairing_member *m = p->side[1 - pl_rdv_pairing_side_of(p, &about->member)].member;
    pl_rdv_agent *x = m->owner;
    if (!same_network(x, about) && !watches(r, x, about))
      pl_rdv_registry__change(out, x, change, info);
  }
}

void pl_rdv_registry__initial_view(pl_rdv_registry *r, pl_rdv_agent *a, pl_rdv_actions *out) {
  /* A newcomer watches nothing and has no pairings yet: its view is its network. */
  const pl_rdv_seqlist *l = r->broadcast ? &r->all : a->net->name[0] ? &a->net->members : NULL;
  for (size_t i = 0; l && i < l->n; i++) {
    pl_rdv_agent *x = l->v[i].item;
    if (x && x != a)
      pl_rdv_registry__change(out, a, JOINED, x->info);
  }
}

/* ---- Watch and unwatch -------------------------------------------------------------------- */

static int valid_ids(char *const *ids, size_t n, size_t *pbad) {
  for (size_t i = 0; i < n; i++) {
    if (!pl_hex_is_lower(ids[i], 32)) {
      if (pbad)
        *pbad = i;
      return 0;
    }
  }
  return 1;
}

/* 1 when `a` would start watching `id`: not its own, not watched yet. */
static int is_new(const pl_rdv_registry *r, const pl_rdv_agent *a, const char *id) {
  if (strcmp(id, a->member.id) == 0)
    return 0;
  const pl_rdv_watch *t = watch_find(r, id);
  return t == NULL || watching_index(a, t) < 0;
}

/* How many of ids[0..n) `a` would add: new, and not repeated. */
static size_t count_new(const pl_rdv_registry *r, const pl_rdv_agent *a, char *const *ids,
                        size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_new(r, a, ids[i]))
      continue;
    size_t j = 0;
    while (j < i && strcmp(ids[j], ids[i]) != 0)
      j++;
    k += j == i;
  }
  return k;
}

/* Adds `a` to the watchers of `id` (room in a->watching was made). */
static int watch_one(pl_rdv_registry *r, pl_rdv_agent *a, const char *id) {
  pl_rdv_watch *t = watch_find(r, id);
  if (t == NULL) {
    if ((t = calloc(1, sizeof *t)) == NULL)
      return PL_ERR_NOMEM;
    memcpy(t->id, id, sizeof t->id);
    pl_rdv_idmap_insert(&r->watches, &t->node, t->id);
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 2;
    pl_rdv_agent **w = realloc(t->watchers, cap * sizeof *w);
    if (w == NULL) {
      if (t->n == 0) {
        pl_rdv_idmap_remove(&r->watches, &t->node);
        free(t);
      }
      return PL_ERR_NOMEM;
    }
    t->watchers = w;
    t->cap = cap;
  }
  a->watching[a->n_watching].target = t;
  a->watching[a->n_watching].pos = t->n;
  a->n_watching++;
  t->watchers[t->n++] = a;
  return 0;
}

/* Takes entry i of a's list out, both sides. */
static void unwatch_at(pl_rdv_registry *r, pl_rdv_agent *a, size_t i) {
  pl_rdv_watch *t = a->watching[i].target;
  size_t pos = a->watching[i].pos;
  /* Swap-remove on both sides; the watcher moved into `pos` learns its new place. */
  t->watchers[pos] = t->watchers[--t->n];
  if (pos < t->n) {
    pl_rdv_agent *moved = t->watchers[pos];
    moved->watching[watching_index(moved, t)].pos = pos;
  }
  a->watching[i] = a->watching[--a->n_watching];
  if (t->n == 0) {
    pl_rdv_idmap_remove(&r->watches, &t->node);
    free(t->watchers);
    free(t);
  }
}

int pl_rdv_registry_watch(pl_rdv_registry *r, pl_rdv_agent *a, char *const *ids, size_t n_ids,
                          pl_rdv_actions *out, size_t *pbad) {
  if (a->info == NULL)
    return PL_ERR_STATE;
  if (!valid_ids(ids, n_ids, pbad))
    return PL_ERR_INVALID;
  size_t more = count_new(r, a, ids, n_ids);
  if (a->n_watching + more > PL_RDV_WATCH_MAX)
    return PL_ERR_FULL;
  if (a->n_watching + more > a->cap_watching) {
    size_t cap = a->n_watching + more;
    pl_rdv_watching *w = realloc(a->watching, cap * sizeof *w);
    if (w == NULL)
      return PL_ERR_NOMEM;
    a->watching = w;
    a->cap_watching = cap;
  }
  if (pl_rdv_registry__reserve(out, more) != 0)
    return PL_ERR_NOMEM;
  for (size_t i = 0; i < n_ids; i++) {
    if (!is_new(r, a, ids[i]))
      continue;
    pl_rdv_agent *y = pl_rdv_registry_find(r, ids[i]);
    int saw = y && pl_rdv_registry_sees(r, a, y);
    if (watch_one(r, a, ids[i]) != 0)
      return PL_ERR_NOMEM;
    if (y && !saw)
      pl_rdv_registry__change(out, a, JOINED, y->info);
  }
  return 0;
}

int pl_rdv_registry_unwatch(pl_rdv_registry *r, pl_rdv_agent *a, char *const *ids, size_t n_ids,
                            pl_rdv_actions *out, size_t *pbad) {
  if (a->info == NULL)
    return PL_ERR_STATE;
  if (!valid_ids(ids, n_ids, pbad))
    return PL_ERR_INVALID;
  if (pl_rdv_registry__reserve(out, n_ids) != 0)
    return PL_ERR_NOMEM;
  for (size_t i = 0; i < n_ids; i++) {
    pl_rdv_watch *t = watch_find(r, ids[i]);
    long k = t ? watching_index(a, t) : -1;
    if (k < 0)
      continue;
    unwatch_at(r, a, (size_t)k);
    pl_rdv_agent *y = pl_rdv_registry_find(r, ids[i]);
    if (y && !pl_rdv_registry_sees(r, a, y))
      pl_rdv_registry__change(out, a, LEFT, y->info);
  }
  return 0;
}

void pl_rdv_registry__drop_watches(pl_rdv_registry *r, pl_rdv_agent *a) {
  while (a->n_watching > 0)
    unwatch_at(r, a, a->n_watching - 1);
}

void pl_rdv_registry__free_watches(pl_rdv_registry *r) {
  pl_rdv_idmap_node *n;
  while ((n = pl_rdv_idmap_next(&r->watches, NULL)) != NULL) {
    pl_rdv_watch *t = CONTAINER(n, pl_rdv_watch, node);
    pl_rdv_idmap_remove(&r->watches, n);
    free(t->watchers);
    free(t);
  }
}
