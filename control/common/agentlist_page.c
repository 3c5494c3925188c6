/* Pages of an agent list in ID order. An ID is a cursor that survives any change to the list:
 * the next page starts after it whether or not that agent is still there, so a client paging
 * through a view that changes meanwhile never sees an agent twice. */
#include <stdlib.h>
#include <string.h>

#include "control/common/agentlist.h"
#include "control/common/err.h"

static int by_id(const void *x, const void *y) {
  const Peerlink__V1__AgentInfo *a = *(Peerlink__V1__AgentInfo *const *)x;
  const Peerlink__V1__AgentInfo *b = *(Peerlink__V1__AgentInfo *const *)y;
  return strcmp(a->id, b->id);
}

int pl_agentlist_page(const pl_agentlist *list, const char *except_id, const char *after,
                      size_t size, Peerlink__V1__AgentInfo ***pinfos, size_t *pn, int *pmore) {
  Peerlink__V1__AgentInfo **v = calloc(list->count ? list->count : 1, sizeof *v);
  size_t n = 0;
  if (v == NULL)
    return PL_ERR_NOMEM;
  for (pl_agentlist_entry *e = list->head; e; e = e->next) {
    if (except_id && strcmp(e->info->id, except_id) == 0)
      continue;
    if (after && after[0] && strcmp(e->info->id, after) <= 0)
      continue;
    v[n++] = e->info;
  }
  qsort(v, n, sizeof *v, by_id);
  *pmore = n > size;
  *pn = n > size ? size : n;
  *pinfos = v;
  return 0;
}
