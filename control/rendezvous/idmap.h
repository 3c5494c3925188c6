#ifndef PEERLINK_RENDEZVOUS_IDMAP_H
#define PEERLINK_RENDEZVOUS_IDMAP_H

/* A chained hash from a string key to a node embedded in its owner (the registry's agents by
 * ID, watched IDs, networks by name). The key is the owner's: it must stay unchanged while the
 * node is in the map. Keys are hashed with a per-map seed, so chains cannot be lengthened by
 * choosing keys without knowing it. */

#include <stddef.h>
#include <stdint.h>

typedef struct pl_rdv_idmap_node {
  struct pl_rdv_idmap_node *next;
  const char *key;
  uint64_t hash;
} pl_rdv_idmap_node;

typedef struct pl_rdv_idmap {
  pl_rdv_idmap_node **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;
  uint64_t seed;
} pl_rdv_idmap;

/* Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_idmap_init(pl_rdv_idmap *m, uint64_t seed);
/* Frees the buckets (not the nodes, which belong to their owners). */
void pl_rdv_idmap_free(pl_rdv_idmap *m);

pl_rdv_idmap_node *pl_rdv_idmap_find(const pl_rdv_idmap *m, const char *key);
/* Adds `node` under `key` (the caller made sure no node has that key). Never fails: a bucket
 * array that cannot grow only makes chains longer. */
void pl_rdv_idmap_insert(pl_rdv_idmap *m, pl_rdv_idmap_node *node, const char *key);
/* Takes `node` (which is in the map) out. */
void pl_rdv_idmap_remove(pl_rdv_idmap *m, pl_rdv_idmap_node *node);

/* Iteration in no particular order: `next` (NULL to start) gives the following node, or NULL. The
 * map must not change during it. */
pl_rdv_idmap_node *pl_rdv_idmap_next(const pl_rdv_idmap *m, const pl_rdv_idmap_node *node);

#endif
