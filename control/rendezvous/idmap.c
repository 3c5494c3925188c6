#include "control/rendezvous/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

#define BUCKETS_MIN 16

/* FNV-1a over the key, started from the seed, then a final mix so the low bits (the bucket)
 * depend on every byte. */
static uint64_t hash_of(uint64_t seed, const char *key) {
  uint64_t h = 0xcbf29ce484222325u ^ seed;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3u;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdu;
  h ^= h >> 33;
  return h;
}

int pl_rdv_idmap_init(pl_rdv_idmap *m, uint64_t seed) {
  memset(m, 0, sizeof *m);
  m->buckets = calloc(BUCKETS_MIN, sizeof *m->buckets);
  if (m->buckets == NULL)
    return PL_ERR_NOMEM;
  m->nbuckets = BUCKETS_MIN;
  m->seed = seed;
  return 0;
}

void pl_rdv_idmap_free(pl_rdv_idmap *m) {
  free(m->buckets);
  memset(m, 0, sizeof *m);
}

pl_rdv_idmap_node *pl_rdv_idmap_find(const pl_rdv_idmap *m, const char *key) {
  uint64_t h = hash_of(m->seed, key);
  for (pl_rdv_idmap_node *n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->next)
    if (n->hash == h && strcmp(n->key, key) == 0)
      return n;
  return NULL;
}

static void grow(pl_rdv_idmap *m) {
  size_t nb = m->nbuckets * 2;
  pl_rdv_idmap_node **b = calloc(nb, sizeof *b);
  if (b == NULL)
    return;
  for (size_t i = 0; i < m->nbuckets; i++) {
    pl_rdv_idmap_node *n = m->buckets[i], *next;
    for (; n; n = next) {
      next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = nb;
}

void pl_rdv_idmap_insert(pl_rdv_idmap *m, pl_rdv_idmap_node *node, const char *key) {
  if (m->count >= m->nbuckets)
    grow(m);
  node->key = key;
  node->hash = hash_of(m->seed, key);
  pl_rdv_idmap_node **head = &m->buckets[node->hash & (m->nbuckets - 1)];
  node->next = *head;
  *head = node;
  m->count++;
}

void pl_rdv_idmap_remove(pl_rdv_idmap *m, pl_rdv_idmap_node *node) {
  for (pl_rdv_idmap_node **p = &m->buckets[node->hash & (m->nbuckets - 1)]; *p; p = &(*p)->next) {
    if (*p == node) {
      *p = node->next;
      node->next = NULL;
      m->count--;
      return;
    }
  }
}

pl_rdv_idmap_node *pl_rdv_idmap_next(const pl_rdv_idmap *m, const pl_rdv_idmap_node *node) {
  size_t i = 0;
  if (node) {
    if (node->next)
      return node->next;
    i = (node->hash & (m->nbuckets - 1)) + 1;
  }
  for (; i < m->nbuckets; i++)
    if (m->buckets[i])
      return m->buckets[i];
  return NULL;
}
