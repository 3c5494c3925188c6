#ifndef PEERLINK_RENDEZVOUS_SEQLIST_H
#define PEERLINK_RENDEZVOUS_SEQLIST_H

/* Items in the order of a rising sequence number (the registry's agents in registration order,
 * all of them and per network): an array with holes where items left, compacted when the holes
 * outnumber the items. Walking it is a scan of one array, and a cursor (ListAgents' page token)
 * is found by binary search on the sequence number, however many items left since.
 *
 * Each item knows its own slot (slot_of gives the address of that field), which compaction
 * rewrites; so a removal is O(1). Removing (compaction) moves items: never remove while
 * walking. */

#include <stddef.h>
#include <stdint.h>

typedef struct pl_rdv_seqlist_slot {
  uint64_t seq;
  void *item; /* NULL: a hole */
} pl_rdv_seqlist_slot;

typedef struct pl_rdv_seqlist {
  pl_rdv_seqlist_slot *v;
  size_t n, cap; /* slots used (holes included), allocated */
  size_t live;   /* items */
  size_t *(*slot_of)(void *item);
} pl_rdv_seqlist;

void pl_rdv_seqlist_init(pl_rdv_seqlist *l, size_t *(*slot_of)(void *item));
void pl_rdv_seqlist_free(pl_rdv_seqlist *l);

/* Makes room for one more append. Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_seqlist_reserve(pl_rdv_seqlist *l);
/* Appends `item` with `seq` (larger than every seq appended before) into the room reserved. */
void pl_rdv_seqlist_append(pl_rdv_seqlist *l, uint64_t seq, void *item);
/* Takes out the item in slot `slot`. May compact. */
void pl_rdv_seqlist_remove(pl_rdv_seqlist *l, size_t slot);
/* The first slot whose seq is larger than `seq` (l->n when there is none); it may be a hole. */
size_t pl_rdv_seqlist_after(const pl_rdv_seqlist *l, uint64_t seq);

#endif
