/* The rendezvous's registry core driven by bytes: what agents send (network names, watched IDs,
 * pair requests, ListAgents page tokens and networks) in any order and any shape, against eight
 * agents that join, update and leave. Each record is [op][agent][len][len bytes]. After every
 * input the registry must still agree with itself: its count, every registered agent found by
 * its ID, every page walk ending; at the end everything leaves and is freed (ASan: no leak). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/rendezvous/registry.h"

#define AGENTS 8

static int fuzz_random(void *buf, size_t len) {
  memset(buf, 0x5a, len);
  return 0;
}

static void ids_from(const uint8_t *p, size_t len, char **ids, size_t *n, char (*store)[40]) {
  /* Comma-separated words, each at most 39 bytes (so a wrong length is possible too). */
  *n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len && *n < 8; i++) {
    if (i == len || p[i] == ',') {
      size_t w = i - start < 39 ? i - start : 39;
      memcpy(store[*n], p + start, w);
      store[*n][w] = '\0';
      ids[*n] = store[*n];
      (*n)++;
      start = i + 1;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static pl_rdv_registry reg;
  static pl_rdv_agent agents[AGENTS];
  static char agent_ids[AGENTS][33];
  pl_rdv_actions out;
  Peerlink__V1__Candidate host = PEERLINK__V1__CANDIDATE__INIT;
  Peerlink__V1__Candidate srflx = PEERLINK__V1__CANDIDATE__INIT;
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  Peerlink__V1__Candidate *cands[2] = {&host, &srflx};
  if (pl_rdv_registry_init(&reg, fuzz_random) != 0)
    return 0;
  reg.auto_pair = size > 0 && (data[0] & 1);
  reg.broadcast = size > 0 && (data[0] & 2);
  pl_rdv_actions_init(&out);
  ep.ip = "192.0.2.1";
  ep.port = 1;
  host.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  host.endpoint = &ep;
  srflx.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE;
  srflx.endpoint = &ep;
  for (int i = 0; i < AGENTS; i++) {
    snprintf(agent_ids[i], sizeof agent_ids[i], "%032x", (unsigned)i + 1);
    pl_rdv_agent_init(&agents[i], &agents[i]);
  }

  size_t pos = size > 0 ? 1 : 0;
  while (pos + 3 <= size) {
    uint8_t op = data[pos] % 8, who = data[pos + 1] % AGENTS;
    size_t len = data[pos + 2];
    const uint8_t *p = data + pos + 3;
    if (len > size - pos - 3)
      len = size - pos - 3;
    pos += 3 + len;
    pl_rdv_agent *a = &agents[who];
    char text[256], store[8][40], *ids[8];
    size_t n;
    memcpy(text, p, len);
    text[len] = '\0';
    switch (op) {
    case 0: { /* join, payload = network name */
      Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
      info.id = agent_ids[who];
      info.name = "fuzz";
      info.candidates = cands;
      info.n_candidates = len & 1 ? 2 : 1;
      uint8_t key[4] = {1, 2, 3, who};
      pl_rdv_registry_join(&reg, a, &info, text, key, sizeof key, 0, &out);
      break;
    }
    case 1: pl_rdv_registry_leave(&reg, a, 0, &out); break;
    case 2: pl_rdv_registry_update(&reg, a, cands, len & 1 ? 2 : 1, 0, 0, &out); break;
    case 3: /* pair with the agent the first byte names, or with the payload as an ID */
      pl_rdv_registry_pair(&reg, a, len == 1 ? agent_ids[p[0] % AGENTS] : text, 0, &out);
      break;
    case 4:
    case 5:
      ids_from(p, len, ids, &n, store);
      for (size_t i = 0; i < n; i++) /* a byte names one of the agents' IDs */
        if (strlen(ids[i]) == 1)
          ids[i] = agent_ids[(uint8_t)ids[i][0] % AGENTS];
      if (op == 4)
        pl_rdv_registry_watch(&reg, a, ids, n, &out, NULL);
      else
        pl_rdv_registry_unwatch(&reg, a, ids, n, &out, NULL);
      break;
    case 6: { /* one ListAgents page: payload = token, or network after a '|' */
      Peerlink__V1__AgentInfo **infos;
      size_t got, total;
      char next[PL_RDV_TOKEN_LEN + 1];
      char *bar = strchr(text, '|');
      if (bar)
        *bar = '\0';
      if (pl_rdv_registry_list(&reg, bar ? bar + 1 : NULL, text, who, &infos, &got, next, &total) ==
          0)
        free(infos);
      break;
    }
    default: pl_rdv_registry_autopair(&reg, 0, &out); break;
    }
    pl_rdv_actions_clear(&out);

    /* The registry agrees with itself. */
    size_t registered = 0;
    for (int i = 0; i < AGENTS; i++) {
      if (agents[i].info) {
        registered++;
        if (pl_rdv_registry_find(&reg, agent_ids[i]) != &agents[i])
          abort();
      }
    }
    if (registered != reg.count)
      abort();
    char token[PL_RDV_TOKEN_LEN + 1] = "";
    size_t listed = 0;
    for (int pages = 0; pages <= AGENTS; pages++) {
      Peerlink__V1__AgentInfo **infos;
      size_t got, total;
      char next[PL_RDV_TOKEN_LEN + 1];
      if (pl_rdv_registry_list(&reg, NULL, token, 3, &infos, &got, next, &total) != 0)
        abort();
      free(infos);
      listed += got;
      memcpy(token, next, sizeof token);
      if (!token[0])
        break;
    }
    if (listed != reg.count || token[0])
      abort();
  }

  for (int i = 0; i < AGENTS; i++) {
    pl_rdv_registry_leave(&reg, &agents[i], 0, &out);
    pl_rdv_actions_clear(&out);
    pl_rdv_agent_release(&agents[i]);
  }
  if (reg.count || reg.pairings.count || reg.groups.count || reg.watches.count)
    abort();
  pl_rdv_actions_free(&out);
  pl_rdv_registry_free(&reg);
  return 0;
}
