#ifndef PEERLINK_TESTS_RENDEZVOUS_REGISTRY_FIXTURE_H
#define PEERLINK_TESTS_RENDEZVOUS_REGISTRY_FIXTURE_H

/* The registry tests' common ground: N agents with IDs 1..N, their inputs, and the actions that
 * come out, written as "KIND(about)>to" with agents by index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rendezvous/registry.h"
#include "tests/unit/common/check.h"
#include "tests/unit/rendezvous/fixture.h"

#define N 24

static pl_rdv_registry reg;
static pl_rdv_actions out;
static pl_rdv_agent agents[N];
static char ids[N][33];
static char names[N][24];

static inline int index_of_id(const char *id) {
  for (int i = 0; i < N; i++)
    if (strcmp(ids[i], id) == 0)
      return i;
  return -1;
}

static inline int index_of(const pl_rdv_agent *a) {
  return a ? (int)(a - agents) : -1;
}

static const char *change_name(Peerlink__V1__RegistryChange__Kind k) {
  switch (k) {
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED: return "JOINED";
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT: return "LEFT";
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED: return "UPDATED";
  default: return "?";
  }
}

/* The actions so far, one word each, e.g. "REG>1 JOINED(0)>1 JOINED(1)>0". */
static const char *actions(void) {
  static char buf[4096];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < out.n && n < sizeof buf - 64; i++) {
    const pl_rdv_action *a = &out.v[i];
    int to = index_of(a->to);
    const char *sep = i ? " " : "";
    switch (a->kind) {
    case PL_RDV_ACT_REGISTERED: n += snprintf(buf + n, sizeof buf - n, "%sREG>%d", sep, to); break;
    case PL_RDV_ACT_CHANGE:
      n += snprintf(buf + n, sizeof buf - n, "%s%s(%d)>%d", sep, change_name(a->change),
                    index_of_id(a->about->id), to);
      break;
    case PL_RDV_ACT_OFFER: n += snprintf(buf + n, sizeof buf - n, "%sOFFER>%d", sep, to); break;
    case PL_RDV_ACT_PAIR_ERROR:
      n += snprintf(buf + n, sizeof buf - n, "%sERR(%s)>%d", sep, a->why, to);
      break;
    case PL_RDV_ACT_END: n += snprintf(buf + n, sizeof buf - n, "%sEND>%d", sep, to); break;
    case PL_RDV_ACT_PAIRING_ENDED:
      n += snprintf(buf + n, sizeof buf - n, "%sENDED(%d)>%d", sep, index_of(a->peer), to);
      break;
    }
  }
  return buf;
}

static inline void expect(const char *want) {
  CHECK_STR_EQ(actions(), want);
  CHECK(!out.lost && !out.autopair_failed);
  pl_rdv_actions_clear(&out);
}

static Peerlink__V1__Endpoint endpoint = PEERLINK__V1__ENDPOINT__INIT;
static Peerlink__V1__Candidate host_cand = PEERLINK__V1__CANDIDATE__INIT;
static Peerlink__V1__Candidate srflx_cand = PEERLINK__V1__CANDIDATE__INIT;

static inline void init_candidates(void) {
  endpoint.ip = "192.0.2.1";
  endpoint.port = 4000;
  host_cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  host_cand.endpoint = &endpoint;
  srflx_cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE;
  srflx_cand.endpoint = &endpoint;
}

/* Agent slot `a` (of `agents`) registers as `id` in `network`; with `srflx` it has a public UDP
 * endpoint. */
static inline int join_agent(pl_rdv_agent *a, const char *id, const char *name, const char *network,
                             int srflx, int64_t now) {
  Peerlink__V1__Candidate *cands[2] = {&host_cand, &srflx_cand};
  Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
  uint8_t key[8] = {'k', 'e', 'y', (uint8_t)name[0]};
  info.id = (char *)id;
  info.name = (char *)name;
  info.observed_address = "127.0.0.1:5000";
  info.candidates = cands;
  info.n_candidates = srflx ? 2 : 1;
  return pl_rdv_registry_join(&reg, a, &info, network, key, sizeof key, now, &out);
}

/* The network every join() uses; tests set it. */
static const char *net = "lab";

static inline int join_as(int i, int id, int srflx, int64_t now) {
  return join_agent(&agents[i], ids[id], names[i], net, srflx, now);
}

static inline void join(int i, int srflx, int64_t now) {
  CHECK_RV(join_as(i, i, srflx, now), 0);
}

static inline void join_in(int i, const char *network) {
  CHECK_RV(join_agent(&agents[i], ids[i], names[i], network, 0, 0), 0);
}

static inline void setup(int auto_pair) {
  fixture_counter = 0;
  fixture_fail = 0;
  net = "lab";
  CHECK_RV(pl_rdv_registry_init(&reg, fixture_random), 0);
  reg.auto_pair = auto_pair;
  pl_rdv_actions_init(&out);
  init_candidates();
  for (int i = 0; i < N; i++) {
    fixture_id(ids[i], (unsigned)i + 1);
    snprintf(names[i], sizeof names[i], "agent-%d", i);
    pl_rdv_agent_init(&agents[i], &agents[i]);
  }
}

static inline void teardown(void) {
  for (int i = 0; i < N; i++) {
    pl_rdv_registry_leave(&reg, &agents[i], 0, &out);
    pl_rdv_actions_clear(&out);
    pl_rdv_agent_release(&agents[i]);
  }
  CHECK(reg.count == 0 && reg.pairings.count == 0 && reg.groups.count == 0 &&
        reg.watches.count == 0);
  pl_rdv_actions_free(&out);
  pl_rdv_registry_free(&reg);
}

#endif
