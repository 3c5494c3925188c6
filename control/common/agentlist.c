#include "control/common/agentlist.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

void pl_agentlist_init(pl_agentlist *list) {
  memset(list, 0, sizeof *list);
}

void pl_agentlist_free(pl_agentlist *list) {
  while (list->head)
    pl_agentlist_remove(list, list->head);
}

/* A deep copy through the wire format: protobuf-c has no clone, and pack/unpack is exact. */
int pl_agentlist_copy_info(Peerlink__V1__AgentInfo **pcopy, const Peerlink__V1__AgentInfo *info) {
  size_t len = peerlink__v1__agent_info__get_packed_size(info);
  uint8_t *buf = malloc(len ? len : 1);
  if (buf == NULL)
    return PL_ERR_NOMEM;
  peerlink__v1__agent_info__pack(info, buf);
  *pcopy = peerlink__v1__agent_info__unpack(NULL, len, buf);
  free(buf);
  return *pcopy ? 0 : PL_ERR_NOMEM;
}

void pl_agentlist_free_info(Peerlink__V1__AgentInfo *info) {
  if (info)
    peerlink__v1__agent_info__free_unpacked(info, NULL);
}

pl_agentlist_entry *pl_agentlist_find(const pl_agentlist *list, const char *id) {
  for (pl_agentlist_entry *e = list->head; e; e = e->next)
    if (strcmp(e->info->id, id) == 0)
      return e;
  return NULL;
}

int pl_agentlist_put(pl_agentlist *list, const Peerlink__V1__AgentInfo *info,
                     pl_agentlist_entry **pentry) {
  Peerlink__V1__AgentInfo *copy;
  int rv = pl_agentlist_copy_info(&copy, info);
  if (rv != 0)
    return rv;
  pl_agentlist_entry *e = pl_agentlist_find(list, info->id);
  if (e) {
    pl_agentlist_free_info(e->info);
    e->info = copy;
  } else {
    e = calloc(1, sizeof *e);
    if (e == NULL) {
      pl_agentlist_free_info(copy);
      return PL_ERR_NOMEM;
    }
    e->info = copy;
    e->prev = list->tail;
    if (list->tail)
      list->tail->next = e;
    else
      list->head = e;
    list->tail = e;
    list->count++;
  }
  if (pentry)
    *pentry = e;
  return 0;
}

void pl_agentlist_remove(pl_agentlist *list, pl_agentlist_entry *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    list->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    list->tail = e->prev;
  list->count--;
  pl_agentlist_free_info(e->info);
  free(e);
}

int pl_agentlist_snapshot(const pl_agentlist *list, const char *except_id,
                          Peerlink__V1__AgentInfo ***pinfos, size_t *pn) {
  Peerlink__V1__AgentInfo **infos = calloc(list->count ? list->count : 1, sizeof *infos);
  size_t n = 0;
  if (infos == NULL)
    return PL_ERR_NOMEM;
  for (pl_agentlist_entry *e = list->head; e; e = e->next)
    if (except_id == NULL || strcmp(e->info->id, except_id) != 0)
      infos[n++] = e->info;
  *pinfos = infos;
  *pn = n;
  return 0;
}
