/* The pairing table: a hash on the random pairing ID (the relay looks one up per datagram) plus
 * a short list per member (at most PL_RDV_PAIRING_MAX_PER_AGENT) for teardown. */
#include "control/rendezvous/pairing.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/hex.h"

#define BUCKETS_MIN 64

/* The ID is random, so its first bytes are a good hash already. */
static size_t bucket_of(const pl_rdv_pairings *t, const uint8_t id[PL_FRAME_PAIRING_LEN]) {
  uint64_t h;
  memcpy(&h, id, sizeof h);
  return (size_t)(h & (t->nbuckets - 1));
}

int pl_rdv_pairing_member_init(pl_rdv_pairing_member *m, void *owner, const char *id) {
  memset(m, 0, sizeof *m);
  /* Lowercase only: an ID has exactly one text form. */
  if (!pl_hex_is_lower(id, 2 * PL_FRAME_ID_LEN) ||
      pl_hex_decode(m->id_raw, PL_FRAME_ID_LEN, id) != 0)
    return PL_ERR_INVALID;
  memcpy(m->id, id, 33);
  m->owner = owner;
  return 0;
}

int pl_rdv_pairings_init(pl_rdv_pairings *t, pl_random_fn random) {
  memset(t, 0, sizeof *t);
  t->buckets = calloc(BUCKETS_MIN, sizeof *t->buckets);
  if (t->buckets == NULL)
    return PL_ERR_NOMEM;
  t->nbuckets = BUCKETS_MIN;
  t->random = random;
  return 0;
}

void pl_rdv_pairings_free(pl_rdv_pairings *t) {
  for (size_t i = 0; i < t->nbuckets; i++) {
    pl_rdv_pairing *p = t->buckets[i], *next;
    for (; p; p = next) {
      next = p->hnext;
      explicit_bzero(p, sizeof *p);
      free(p);
    }
  }
  free(t->buckets);
  memset(t, 0, sizeof *t);
}

/* Doubles the bucket array when the table is full; a failed allocation only costs speed. */
static void maybe_grow(pl_rdv_pairings *t) {
  if (t->count < t->nbuckets)
    return;
  size_t n = t->nbuckets * 2;
  pl_rdv_pairing **b = calloc(n, sizeof *b);
  if (b == NULL)
    return;
  pl_rdv_pairings old = *t;
  t->buckets = b;
  t->nbuckets = n;
  for (size_t i = 0; i < old.nbuckets; i++) {
    pl_rdv_pairing *p = old.buckets[i], *next;
    for (; p; p = next) {
      next = p->hnext;
      size_t k = bucket_of(t, p->id);
      p->hnext = b[k];
      b[k] = p;
    }
  }
  free(old.buckets);
}

pl_rdv_pairing *pl_rdv_pairings_find(const pl_rdv_pairings *t,
                                     const uint8_t id[PL_FRAME_PAIRING_LEN]) {
  for (pl_rdv_pairing *p = t->buckets[bucket_of(t, id)]; p; p = p->hnext)
    if (memcmp(p->id, id, PL_FRAME_PAIRING_LEN) == 0)
      return p;
  return NULL;
}

pl_rdv_pairing *pl_rdv_pairings_find_hex(const pl_rdv_pairings *t, const char *id_hex) {
  uint8_t id[PL_FRAME_PAIRING_LEN];
  if (!pl_hex_is_lower(id_hex, PL_RDV_PAIRING_ID_HEX) || pl_hex_decode(id, sizeof id, id_hex) != 0)
    return NULL;
  return pl_rdv_pairings_find(t, id);
}

int pl_rdv_pairing_side_of(const pl_rdv_pairing *p, const pl_rdv_pairing_member *m) {
  return p->side[0].member == m ? 0 : p->side[1].member == m ? 1 : -1;
}

int pl_rdv_pairing_side_by_id(const pl_rdv_pairing *p, const uint8_t id[PL_FRAME_ID_LEN]) {
  for (int i = 0; i < 2; i++)
    if (p->side[i].member && memcmp(p->side[i].member->id_raw, id, PL_FRAME_ID_LEN) == 0)
      return i;
  return -1;
}

pl_rdv_pairing *pl_rdv_pairing_next_of(const pl_rdv_pairing *p, const pl_rdv_pairing_member *m) {
  int s = pl_rdv_pairing_side_of(p, m);
  return s < 0 ? NULL : p->side[s].next;
}

pl_rdv_pairing *pl_rdv_pairings_between(const pl_rdv_pairing_member *a,
                                        const pl_rdv_pairing_member *b) {
  for (pl_rdv_pairing *p = a->pairings; p; p = pl_rdv_pairing_next_of(p, a))
    if (pl_rdv_pairing_side_of(p, b) >= 0)
      return p;
  return NULL;
}

static void member_unlink(pl_rdv_pairing_member *m, pl_rdv_pairing *p) {
  pl_rdv_pairing **pp = &m->pairings;
  while (*pp && *pp != p)
    pp = &(*pp)->side[pl_rdv_pairing_side_of(*pp, m)].next;
  if (*pp) {
    *pp = p->side[pl_rdv_pairing_side_of(p, m)].next;
    m->n_pairings--;
  }
}

void pl_rdv_pairings_delete(pl_rdv_pairings *t, pl_rdv_pairing *p) {
  pl_rdv_pairing **pp = &t->buckets[bucket_of(t, p->id)];
  while (*pp && *pp != p)
    pp = &(*pp)->hnext;
  if (*pp) {
    *pp = p->hnext;
    t->count--;
  }
  for (int i = 0; i < 2; i++)
    if (p->side[i].member)
      member_unlink(p->side[i].member, p);
  /* The secret must not outlive the pairing in freed memory. */
  explicit_bzero(p, sizeof *p);
  free(p);
}

int pl_rdv_pairings_create(pl_rdv_pairings *t, pl_rdv_pairing_member *a, pl_rdv_pairing_member *b,
                           pl_rdv_pairing **pp) {
  if (a == b || strcmp(a->id, b->id) == 0)
    return PL_ERR_INVALID;
  pl_rdv_pairing *old = pl_rdv_pairings_between(a, b);
  if (old == NULL && (a->n_pairings >= PL_RDV_PAIRING_MAX_PER_AGENT ||
                      b->n_pairings >= PL_RDV_PAIRING_MAX_PER_AGENT))
    return PL_ERR_STATE;
  pl_rdv_pairing *p = calloc(1, sizeof *p);
  if (p == NULL)
    return PL_ERR_NOMEM;
  int rv = t->random(p->secret, sizeof p->secret);
  /* 64 random bits rarely collide, but a collision would merge two pairings' relay state. */
  for (int tries = 0; rv == 0; tries++) {
    rv = t->random(p->id, sizeof p->id);
    if (rv == 0 && pl_rdv_pairings_find(t, p->id) == NULL)
      break;
    if (rv == 0 && tries == 8)
      rv = PL_ERR_STATE;
  }
  if (rv == 0)
    rv = pl_frame_keys_derive(&p->keys, p->secret, sizeof p->secret);
  if (rv != 0) {
    explicit_bzero(p, sizeof *p);
    free(p);
    return rv;
  }
  if (old)
    pl_rdv_pairings_delete(t, old);
  pl_hex_encode(p->id_hex, p->id, sizeof p->id);
  pl_rdv_pairing_member *m[2] = {a, b};
  if (strcmp(a->id, b->id) > 0) {
    m[0] = b;
    m[1] = a;
  }
  for (int i = 0; i < 2; i++) {
    p->side[i].member = m[i];
    p->side[i].next = m[i]->pairings;
    m[i]->pairings = p;
    m[i]->n_pairings++;
  }
  size_t k = bucket_of(t, p->id);
  p->hnext = t->buckets[k];
  t->buckets[k] = p;
  t->count++;
  maybe_grow(t);
  *pp = p;
  return 0;
}

void pl_rdv_pairings_leave(pl_rdv_pairings *t, pl_rdv_pairing_member *m,
                           void (*gone)(void *arg, const char *id_hex,
                                        pl_rdv_pairing_member *other),
                           void *arg) {
  while (m->pairings) {
    pl_rdv_pairing *p = m->pairings;
    pl_rdv_pairing_member *other = p->side[1 - pl_rdv_pairing_side_of(p, m)].member;
    char id_hex[PL_RDV_PAIRING_ID_HEX + 1];
    memcpy(id_hex, p->id_hex, sizeof id_hex);
    pl_rdv_pairings_delete(t, p);
    if (gone)
      gone(arg, id_hex, other);
  }
}
