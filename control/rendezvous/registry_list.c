/* ListAgents' pages. A page token is the registration sequence number of the last agent listed
 * plus a check under a key this registry drew at start, so a token from another rendezvous (or
 * from before a restart) or a made-up one is refused rather than silently listing from
 * somewhere else. Pages are found by binary search, so page k costs O(log n + page), not
 * O(k * page). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rendezvous/registry_int.h"

static uint32_t check_of(uint64_t key, uint64_t seq) {
  uint64_t h = (seq ^ key) * 0x9e3779b97f4a7c15u;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9u;
  h ^= h >> 32;
  return (uint32_t)h;
}

static void token_encode(const pl_rdv_registry *r, uint64_t seq, char *out) {
  snprintf(out, PL_RDV_TOKEN_LEN + 1, "%016" PRIx64 "%08" PRIx32, seq, check_of(r->token_key, seq));
}

static int token_decode(const pl_rdv_registry *r, const char *token, uint64_t *pseq) {
  uint64_t seq = 0;
  uint32_t check = 0;
  if (strlen(token) != PL_RDV_TOKEN_LEN)
    return PL_ERR_INVALID;
  for (int i = 0; i < PL_RDV_TOKEN_LEN; i++) {
    char c = token[i];
    unsigned v;
    if (c >= '0' && c <= '9')
      v = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = (unsigned)(c - 'a' + 10);
    else
      return PL_ERR_INVALID;
    if (i < 16)
      seq = seq << 4 | v;
    else
      check = check << 4 | v;
  }
  if (check != check_of(r->token_key, seq))
    return PL_ERR_INVALID;
  *pseq = seq;
  return 0;
}

int pl_rdv_registry_list(const pl_rdv_registry *r, const char *network, const char *token,
                         size_t page_size, Peerlink__V1__AgentInfo ***pinfos, size_t *pn,
                         char *next, size_t *ptotal) {
  uint64_t after = 0;
  const pl_rdv_seqlist *l = &r->all;
  next[0] = '\0';
  *pinfos = NULL;
  *pn = 0;
  *ptotal = 0;
  if (token && token[0] && token_decode(r, token, &after) != 0)
    return PL_ERR_INVALID;
  if (page_size == 0)
    page_size = PL_RDV_PAGE_DEFAULT;
  if (page_size > PL_RDV_PAGE_MAX)
    page_size = PL_RDV_PAGE_MAX;
  if (network && network[0]) {
    pl_rdv_idmap_node *g = pl_rdv_idmap_find(&r->groups, network);
    if (g == NULL)
      return 0;
    l = &((pl_rdv_group *)((char *)g - offsetof(pl_rdv_group, node)))->members;
  }
  *ptotal = l->live;
  Peerlink__V1__AgentInfo **v = calloc(page_size, sizeof *v);
  if (v == NULL)
    return PL_ERR_NOMEM;
  size_t n = 0, i = pl_rdv_seqlist_after(l, after);
  uint64_t last = 0;
  for (; i < l->n && n < page_size; i++) {
    const pl_rdv_agent *a = l->v[i].item;
    if (a) {
      v[n++] = a->info;
      last = a->seq;
    }
  }
  /* A next page only when someone is left: holes are not agents. */
  while (i < l->n && l->v[i].item == NULL)
    i++;
  if (i < l->n)
    token_encode(r, last, next);
  *pinfos = v;
  *pn = n;
  return 0;
}
