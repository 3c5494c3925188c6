#ifndef PEERLINK_COMMON_AGENTLIST_H
#define PEERLINK_COMMON_AGENTLIST_H

/* An ordered set of AgentInfo records keyed by agent ID: the rendezvous's registry and each
 * agent's view of its peers. Records are deep copies owned by the list; oldest first. */

#include <stddef.h>

#include "peerlink/v1/common.pb-c.h"

typedef struct pl_agentlist_entry {
  Peerlink__V1__AgentInfo *info; /* owned deep copy */
  void *data;                    /* the owner's per-entry pointer (e.g. the Register stream) */
  struct pl_agentlist_entry *prev, *next;
} pl_agentlist_entry;

typedef struct pl_agentlist {
  pl_agentlist_entry *head, *tail;
  size_t count;
} pl_agentlist;

void pl_agentlist_init(pl_agentlist *list);
/* Frees every entry (not the entries' data). */
void pl_agentlist_free(pl_agentlist *list);

/* Deep-copies `info`. Returns 0, PL_ERR_NOMEM. */
int pl_agentlist_copy_info(Peerlink__V1__AgentInfo **pcopy, const Peerlink__V1__AgentInfo *info);
void pl_agentlist_free_info(Peerlink__V1__AgentInfo *info);

/* Adds a copy of `info` at the tail, or replaces the record with the same ID in place (keeping
 * its position and data). *pentry receives the entry (may be NULL). Returns 0, PL_ERR_NOMEM. */
int pl_agentlist_put(pl_agentlist *list, const Peerlink__V1__AgentInfo *info,
                     pl_agentlist_entry **pentry);
pl_agentlist_entry *pl_agentlist_find(const pl_agentlist *list, const char *id);
/* Unlinks and frees the entry. */
void pl_agentlist_remove(pl_agentlist *list, pl_agentlist_entry *entry);

/* Fills an array of pointers to the records (borrowed; valid until the list changes), skipping
 * `except_id` (may be NULL). Caller frees the array with free(). Returns 0, PL_ERR_NOMEM. */
int pl_agentlist_snapshot(const pl_agentlist *list, const char *except_id,
                          Peerlink__V1__AgentInfo ***pinfos, size_t *pn);

/* One page of the list in ID order: up to `size` records (borrowed, as a snapshot's) whose ID
 * sorts after `after` (NULL or "": from the first), skipping `except_id` (may be NULL). *pmore
 * is set when records follow the page. Caller frees the array. Returns 0, PL_ERR_NOMEM. */
int pl_agentlist_page(const pl_agentlist *list, const char *except_id, const char *after,
                      size_t size, Peerlink__V1__AgentInfo ***pinfos, size_t *pn, int *pmore);

#endif
