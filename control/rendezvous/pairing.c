/* The pairing table: a hash on the random pairing ID (the relay looks one up per datagram) plus
 * a short list per member (at most PL_PAIRING_MAX_PER_AGENT) for teardown. */
#include "control/rendezvous/pairing.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

#define BUCKETS_MIN 64

static int hex_nibble(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Lowercase hex only: an ID has exactly one text form. */
static int hex_decode(uint8_t *out, const char *hex, size_t outlen) {
  for (size_t i = 0; i < outlen; i++) {
    int hi = hex_nibble(hex[2 * i]), lo = hi < 0 ? -1 : hex_nibble(hex[2 * i + 1]);
    if (lo < 0)
      return PL_ERR_INVALID;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return hex[2 * outlen] == '\0' ? 0 : PL_ERR_INVALID;
}

static void hex_encode(char *out, const uint8_t *in, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 0x0f];
  }
  out[2 * len] = '\0';
}

/* The ID is random, so its first bytes are a good hash already. */
static size_t bucket_of(const pl_pairings *t, const uint8_t id[PL_FRAME_PAIRING_LEN]) {
  uint64_t h;
  memcpy(&h, id, sizeof h);
  return (size_t)(h & (t->nbuckets - 1));
}

int pl_pairing_member_init(pl_pairing_member *m, void *owner, const char *id) {
  memset(m, 0, sizeof *m);
  if (id == NULL || strlen(id) != 32 || hex_decode(m->id_raw, id, PL_FRAME_ID_LEN) != 0)
    return PL_ERR_INVALID;
  memcpy(m->id, id, 33);
  m->owner = owner;
  return 0;
}

int pl_pairings_init(pl_pairings *t, pl_random_fn random) {
  memset(t, 0, sizeof *t);
  t->buckets = calloc(BUCKETS_MIN, sizeof *t->buckets);
  if (t->buckets == NULL)
    return PL_ERR_NOMEM;
  t->nbuckets = BUCKETS_MIN;
  t->random = random;
  return 0;
}

void pl_pairings_free(pl_pairings *t) {
  for (size_t i = 0; i < t->nbuckets; i++) {
    pl_pairing *p = t->buckets[i], *next;
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
static void maybe_grow(pl_pairings *t) {
  if (t->count < t->nbuckets)
    return;
  size_t n = t->nbuckets * 2;
  pl_pairing **b = calloc(n, sizeof *b);
  if (b == NULL)
    return;
  pl_pairings old = *t;
  t->buckets = b;
  t->nbuckets = n;
  for (size_t i = 0; i < old.nbuckets; i++) {
    pl_pairing *p = old.buckets[i], *next;
    for (; p; p = next) {
      next = p->hnext;
      size_t k = bucket_of(t, p->id);
      p->hnext = b[k];
      b[k] = p;
    }
  }
  free(old.buckets);
}

pl_pairing *pl_pairings_find(const pl_pairings *t, const uint8_t id[PL_FRAME_PAIRING_LEN]) {
  for (pl_pairing *p = t->buckets[bucket_of(t, id)]; p; p = p->hnext)
    if (memcmp(p->id, id, PL_FRAME_PAIRING_LEN) == 0)
      return p;
  return NULL;
}

pl_pairing *pl_pairings_find_hex(const pl_pairings *t, const char *id_hex) {
  uint8_t id[PL_FRAME_PAIRING_LEN];
  if (id_hex == NULL || strlen(id_hex) != PL_PAIRING_ID_HEX ||
      hex_decode(id, id_hex, sizeof id) != 0)
    return NULL;
  return pl_pairings_find(t, id);
}

int pl_pairing_side_of(const pl_pairing *p, const pl_pairing_member *m) {
  return p->side[0].member == m ? 0 : p->side[1].member == m ? 1 : -1;
}

int pl_pairing_side_by_id(const pl_pairing *p, const uint8_t id[PL_FRAME_ID_LEN]) {
  for (int i = 0; i < 2; i++)
    if (p->side[i].member && memcmp(p->side[i].member->id_raw, id, PL_FRAME_ID_LEN) == 0)
      return i;
  return -1;
}

pl_pairing *pl_pairing_next_of(const pl_pairing *p, const pl_pairing_member *m) {
  int s = pl_pairing_side_of(p, m);
  return s < 0 ? NULL : p->side[s].next;
}

pl_pairing *pl_pairings_between(const pl_pairing_member *a, const pl_pairing_member *b) {
  for (pl_pairing *p = a->pairings; p; p = pl_pairing_next_of(p, a))
    if (pl_pairing_side_of(p, b) >= 0)
      return p;
  return NULL;
}

static void member_unlink(pl_pairing_member *m, pl_pairing *p) {
  pl_pairing **pp = &m->pairings;
  while (*pp && *pp != p)
    pp = &(*pp)->side[pl_pairing_side_of(*pp, m)].next;
  if (*pp) {
    *pp = p->side[pl_pairing_side_of(p, m)].next;
    m->n_pairings--;
  }
}

void pl_pairings_delete(pl_pairings *t, pl_pairing *p) {
  pl_pairing **pp = &t->buckets[bucket_of(t, p->id)];
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

int pl_pairings_create(pl_pairings *t, pl_pairing_member *a, pl_pairing_member *b,
                       pl_pairing **pp) {
  if (a == b || strcmp(a->id, b->id) == 0)
    return PL_ERR_INVALID;
  pl_pairing *old = pl_pairings_between(a, b);
  if (old == NULL &&
      (a->n_pairings >= PL_PAIRING_MAX_PER_AGENT || b->n_pairings >= PL_PAIRING_MAX_PER_AGENT))
    return PL_ERR_STATE;
  pl_pairing *p = calloc(1, sizeof *p);
  if (p == NULL)
    return PL_ERR_NOMEM;
  int rv = t->random(p->secret, sizeof p->secret);
  /* 64 random bits rarely collide, but a collision would merge two pairings' relay state. */
  for (int tries = 0; rv == 0; tries++) {
    rv = t->random(p->id, sizeof p->id);
    if (rv == 0 && pl_pairings_find(t, p->id) == NULL)
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
    pl_pairings_delete(t, old);
  hex_encode(p->id_hex, p->id, sizeof p->id);
  pl_pairing_member *m[2] = {a, b};
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

void pl_pairings_leave(pl_pairings *t, pl_pairing_member *m,
                       void (*gone)(void *arg, const char *id_hex, pl_pairing_member *other),
                       void *arg) {
  while (m->pairings) {
    pl_pairing *p = m->pairings;
    pl_pairing_member *other = p->side[1 - pl_pairing_side_of(p, m)].member;
    char id_hex[PL_PAIRING_ID_HEX + 1];
    memcpy(id_hex, p->id_hex, sizeof id_hex);
    pl_pairings_delete(t, p);
    if (gone)
      gone(arg, id_hex, other);
  }
}
