#include "control/rendezvous/seqlist.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

void pl_rdv_seqlist_init(pl_rdv_seqlist *l, size_t *(*slot_of)(void *item)) {
  memset(l, 0, sizeof *l);
  l->slot_of = slot_of;
}

void pl_rdv_seqlist_free(pl_rdv_seqlist *l) {
  free(l->v);
  l->v = NULL;
  l->n = l->cap = l->live = 0;
}

int pl_rdv_seqlist_reserve(pl_rdv_seqlist *l) {
  if (l->n < l->cap)
    return 0;
  size_t cap = l->cap ? l->cap * 2 : 8;
  pl_rdv_seqlist_slot *v = realloc(l->v, cap * sizeof *v);
  if (v == NULL)
    return PL_ERR_NOMEM;
  l->v = v;
  l->cap = cap;
  return 0;
}

void pl_rdv_seqlist_append(pl_rdv_seqlist *l, uint64_t seq, void *item) {
  l->v[l->n].seq = seq;
  l->v[l->n].item = item;
  *l->slot_of(item) = l->n;
  l->n++;
  l->live++;
}

static void compact(pl_rdv_seqlist *l) {
  size_t k = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (l->v[i].item == NULL)
      continue;
    l->v[k] = l->v[i];
    *l->slot_of(l->v[k].item) = k;
    k++;
  }
  l->n = k;
  /* Give memory back after a crowd left, but keep room to grow again without reallocating. */
  if (l->cap > 64 && l->n < l->cap / 4) {
    pl_rdv_seqlist_slot *v = realloc(l->v, (l->cap / 2) * sizeof *v);
    if (v != NULL) {
      l->v = v;
      l->cap /= 2;
    }
  }
}

void pl_rdv_seqlist_remove(pl_rdv_seqlist *l, size_t slot) {
  l->v[slot].item = NULL;
  l->live--;
  /* Trailing holes cost nothing to drop; otherwise compact once holes are the majority, so a
   * walk never visits more than twice the live items (amortised O(1) per removal). */
  while (l->n > 0 && l->v[l->n - 1].item == NULL)
    l->n--;
  if (l->n - l->live > l->live + 16)
    compact(l);
}

size_t pl_rdv_seqlist_after(const pl_rdv_seqlist *l, uint64_t seq) {
  size_t lo = 0, hi = l->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (l->v[mid].seq <= seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}
