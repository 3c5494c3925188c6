/* The registry core: who learns of a join, an update, a departure; offers and pair errors;
 * --auto-pair; a newer registration replacing an older one. No sockets, no gRPC: inputs go in
 * with synthetic time and deterministic randomness, and the test reads the actions that come
 * out, written as "KIND(about)>to" with agents by index. */
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

static int index_of_id(const char *id) {
  for (int i = 0; i < N; i++)
    if (strcmp(ids[i], id) == 0)
      return i;
  return -1;
}

static int index_of(const pl_rdv_agent *a) {
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

static void expect(const char *want) {
  CHECK_STR_EQ(actions(), want);
  CHECK(!out.lost && !out.autopair_failed);
  pl_rdv_actions_clear(&out);
}

static Peerlink__V1__Endpoint endpoint = PEERLINK__V1__ENDPOINT__INIT;
static Peerlink__V1__Candidate host_cand = PEERLINK__V1__CANDIDATE__INIT;
static Peerlink__V1__Candidate srflx_cand = PEERLINK__V1__CANDIDATE__INIT;

static void init_candidates(void) {
  endpoint.ip = "192.0.2.1";
  endpoint.port = 4000;
  host_cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  host_cand.endpoint = &endpoint;
  srflx_cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE;
  srflx_cand.endpoint = &endpoint;
}

/* Agent i registers as ids[id]; with `srflx` it has a public UDP endpoint. */
static int join_as(int i, int id, int srflx, int64_t now) {
  Peerlink__V1__Candidate *cands[2] = {&host_cand, &srflx_cand};
  Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
  uint8_t key[8] = {'k', 'e', 'y', (uint8_t)i};
  info.id = ids[id];
  info.name = names[i];
  info.observed_address = "127.0.0.1:5000";
  info.candidates = cands;
  info.n_candidates = srflx ? 2 : 1;
  return pl_rdv_registry_join(&reg, &agents[i], &info, key, sizeof key, now, &out);
}

static void join(int i, int srflx, int64_t now) {
  CHECK_RV(join_as(i, i, srflx, now), 0);
}

static void setup(int auto_pair) {
  fixture_counter = 0;
  fixture_fail = 0;
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

static void teardown(void) {
  for (int i = 0; i < N; i++) {
    pl_rdv_registry_leave(&reg, &agents[i], 0, &out);
    pl_rdv_actions_clear(&out);
    pl_rdv_agent_release(&agents[i]);
  }
  CHECK(reg.list.count == 0 && reg.pairings.count == 0);
  pl_rdv_actions_free(&out);
  pl_rdv_registry_free(&reg);
}

static void test_membership(void) {
  setup(0);
  join(0, 0, 1000);
  expect("REG>0");
  CHECK(agents[0].entry != NULL && agents[0].entry->info->registered_unix_ms == 1000);
  CHECK(agents[0].public_key_len == 8 && agents[0].public_key[3] == 0);
  CHECK(pl_rdv_registry_find(&reg, ids[0]) == &agents[0]);
  /* The newcomer hears of everyone present (oldest first), then everyone of it. */
  join(1, 0, 1001);
  expect("REG>1 JOINED(0)>1 JOINED(1)>0");
  join(2, 0, 1002);
  expect("REG>2 JOINED(0)>2 JOINED(1)>2 JOINED(2)>0 JOINED(2)>1");
  CHECK_RV(join_as(2, 2, 0, 1003), PL_ERR_STATE);
  CHECK(out.n == 0);

  /* An update reaches the others with the new record. */
  Peerlink__V1__Candidate *cands[1] = {&srflx_cand};
  CHECK_RV(pl_rdv_registry_update(&reg, &agents[1], cands, 1,
                                  PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT,
                                  1100, &out),
           0);
  CHECK(out.n == 2 && out.v[0].about->n_candidates == 1 &&
        out.v[0].about->nat_behavior ==
            PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT);
  CHECK(out.v[0].about->registered_unix_ms == 1001);
  expect("UPDATED(1)>0 UPDATED(1)>2");
  CHECK_RV(pl_rdv_registry_update(&reg, &agents[5], cands, 1, 0, 1100, &out), PL_ERR_STATE);

  /* A departure: the LEFT record stays readable until the actions are cleared. */
  pl_rdv_registry_leave(&reg, &agents[1], 1200, &out);
  CHECK(agents[1].entry == NULL && reg.list.count == 2);
  CHECK(out.n == 2 && strcmp(out.v[0].about->name, "agent-1") == 0);
  expect("LEFT(1)>0 LEFT(1)>2");
  pl_rdv_registry_leave(&reg, &agents[1], 1200, &out);
  expect("");
  /* Registering again after leaving is a fresh join. */
  join(1, 0, 1300);
  expect("REG>1 JOINED(0)>1 JOINED(2)>1 JOINED(1)>0 JOINED(1)>2");

  /* An ID that is not canonical never gets in. */
  Peerlink__V1__AgentInfo bad = PEERLINK__V1__AGENT_INFO__INIT;
  bad.id = "0000000000000000000000000000000A";
  CHECK_RV(pl_rdv_registry_join(&reg, &agents[7], &bad, NULL, 0, 0, &out), PL_ERR_INVALID);
  CHECK(out.n == 0 && agents[7].entry == NULL);
  teardown();
}

static void test_pair(void) {
  setup(0);
  for (int i = 0; i < 3; i++)
    join(i, 0, 0);
  pl_rdv_actions_clear(&out);

  /* Whoever asks, the smaller ID controls; both get the same pairing and start time. */
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[2], ids[0], 5000, &out), 0);
  CHECK(out.n == 2);
  const pl_rdv_action *c = &out.v[0], *d = &out.v[1];
  CHECK(c->controlling && !d->controlling && c->peer == &agents[2] && d->peer == &agents[0]);
  CHECK(strcmp(c->pairing_id, d->pairing_id) == 0 && strlen(c->pairing_id) == 16);
  CHECK(memcmp(c->secret, d->secret, sizeof c->secret) == 0);
  CHECK(c->start_unix_ms == 5000 + PL_RDV_OFFER_START_DELAY_MS &&
        d->start_unix_ms == c->start_unix_ms);
  CHECK(!c->automatic);
  char first[PL_RDV_PAIRING_ID_HEX + 1];
  memcpy(first, c->pairing_id, sizeof first);
  expect("OFFER>0 OFFER>2");
  /* Asking again replaces the pairing with a fresh one. */
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[0], ids[2], 6000, &out), 0);
  CHECK(strcmp(out.v[0].pairing_id, first) != 0 && reg.pairings.count == 1);
  expect("OFFER>0 OFFER>2");

  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[1], ids[1], 0, &out), 0);
  CHECK_STR_EQ(out.v[0].message, "pair.peer_id: an agent cannot pair with itself");
  CHECK(out.v[0].peer_id != NULL && strcmp(out.v[0].peer_id, ids[1]) == 0);
  expect("ERR(self)>1");
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[1], ids[9], 0, &out), 0);
  CHECK_STR_CONTAINS(out.v[0].message, "is not registered");
  CHECK_STR_CONTAINS(out.v[0].message, ids[9]);
  expect("ERR(unknown_peer)>1");
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[9], ids[1], 0, &out), PL_ERR_STATE);

  /* No randomness, no pairing: said to the asker, nothing else changes. */
  fixture_fail = 1;
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[1], ids[0], 0, &out), 0);
  CHECK_STR_EQ(out.v[0].message, "rendezvous cannot make a pairing: I/O error");
  expect("ERR(error)>1");
  fixture_fail = 0;

  /* The per-agent limit: agent 0 pairs with 2 and then 3..17, sixteen in all. */
  for (int i = 3; i < 19; i++)
    join(i, 0, 0);
  pl_rdv_actions_clear(&out);
  for (int i = 3; i < 18; i++)
    CHECK_RV(pl_rdv_registry_pair(&reg, &agents[0], ids[i], 0, &out), 0);
  CHECK(agents[0].member.n_pairings == PL_RDV_PAIRING_MAX_PER_AGENT);
  pl_rdv_actions_clear(&out);
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[18], ids[0], 0, &out), 0);
  CHECK_STR_EQ(out.v[0].message, "busy: one side already has 16 pairings");
  expect("ERR(busy)>18");

  /* Leaving ends every pairing of the agent, each reported once with its peer. */
  pl_rdv_registry_leave(&reg, &agents[2], 0, &out);
  CHECK(agents[0].member.n_pairings == 15);
  CHECK_STR_CONTAINS(actions(), "LEFT(2)>0 LEFT(2)>1 LEFT(2)>3");
  CHECK_STR_CONTAINS(actions(), "LEFT(2)>18 ENDED(0)>2");
  pl_rdv_actions_clear(&out);
  teardown();
}

/* The same ID registering again: the older stream is ended and leaves before the newer one
 * joins, so the others see LEFT then JOINED, and the old pairings are gone. */
static void test_replace(void) {
  setup(0);
  join(0, 0, 0);
  join(1, 0, 0);
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[0], ids[1], 0, &out), 0);
  pl_rdv_actions_clear(&out);
  CHECK_RV(join_as(5, 0, 0, 10), 0);
  CHECK(out.v[0].kind == PL_RDV_ACT_END && out.v[0].end == PL_RDV_END_REPLACED);
  CHECK_STR_CONTAINS(out.v[0].message, "replaced by a newer registration of agent");
  CHECK_STR_CONTAINS(out.v[0].message, ids[0]);
  expect("END>0 LEFT(0)>1 ENDED(1)>0 REG>5 JOINED(1)>5 JOINED(0)>1");
  CHECK(agents[0].entry == NULL && agents[0].member.n_pairings == 0);
  CHECK(pl_rdv_registry_find(&reg, ids[0]) == &agents[5] && reg.pairings.count == 0);
  /* The old stream's own end, later, changes nothing. */
  pl_rdv_registry_leave(&reg, &agents[0], 20, &out);
  expect("");
  teardown();
}

/* --auto-pair: the oldest free agents with a public UDP endpoint, as they become free. */
static void test_autopair(void) {
  setup(1);
  join(0, 1, 100);
  join(1, 0, 100);
  expect("REG>0 REG>1 JOINED(0)>1 JOINED(1)>0");
  join(2, 1, 200);
  CHECK(out.v[5].kind == PL_RDV_ACT_OFFER && out.v[5].automatic && out.v[5].controlling);
  CHECK(out.v[5].start_unix_ms == 200 + PL_RDV_OFFER_START_DELAY_MS);
  expect("REG>2 JOINED(0)>2 JOINED(1)>2 JOINED(2)>0 JOINED(2)>1 OFFER>0 OFFER>2");
  join(3, 1, 300);
  expect("REG>3 JOINED(0)>3 JOINED(1)>3 JOINED(2)>3 JOINED(3)>0 JOINED(3)>1 JOINED(3)>2");
  /* Agent 1 learns its public endpoint: now it and 3 are the free ones. */
  Peerlink__V1__Candidate *cands[1] = {&srflx_cand};
  CHECK_RV(pl_rdv_registry_update(&reg, &agents[1], cands, 1, 0, 400, &out), 0);
  expect("UPDATED(1)>0 UPDATED(1)>2 UPDATED(1)>3 OFFER>1 OFFER>3");
  /* Agent 0 leaves: 2 is free but alone until 4 comes. */
  pl_rdv_registry_leave(&reg, &agents[0], 500, &out);
  expect("LEFT(0)>1 LEFT(0)>2 LEFT(0)>3 ENDED(2)>0");
  pl_rdv_registry_autopair(&reg, 550, &out);
  expect("");
  join(4, 1, 600);
  expect("REG>4 JOINED(1)>4 JOINED(2)>4 JOINED(3)>4 JOINED(4)>1 JOINED(4)>2 JOINED(4)>3 "
         "OFFER>2 OFFER>4");
  /* A random source that fails stops auto-pairing and says so. */
  fixture_fail = 1;
  join(5, 1, 700);
  join(6, 1, 700);
  CHECK(out.autopair_failed && reg.pairings.count == 2);
  pl_rdv_actions_clear(&out);
  fixture_fail = 0;
  pl_rdv_registry_autopair(&reg, 800, &out);
  expect("OFFER>5 OFFER>6");
  teardown();
}

int main(void) {
  test_membership();
  test_pair();
  test_replace();
  test_autopair();
  printf("registry_test: ok\n");
  return 0;
}
