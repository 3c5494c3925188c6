/* The registry core among agents of one network: who learns of a join, an update, a departure;
 * offers and pair errors; --auto-pair; a newer registration replacing an older one. No sockets,
 * no gRPC: inputs go in with synthetic time and deterministic randomness, and the test reads the
 * actions that come out (registry_fixture.h). Who sees whom across networks, watches and
 * --broadcast: registry_view_test.c; pages: registry_list_test.c. */
#include "tests/unit/rendezvous/registry_fixture.h"

static void test_membership(void) {
  setup(0);
  join(0, 0, 1000);
  expect("REG>0");
  CHECK(agents[0].info != NULL && agents[0].info->registered_unix_ms == 1000);
  CHECK(agents[0].public_key_len == 8 && agents[0].public_key[0] == 'k');
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
  CHECK(agents[1].info == NULL && reg.count == 2);
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
  CHECK_RV(pl_rdv_registry_join(&reg, &agents[7], &bad, NULL, NULL, 0, 0, &out), PL_ERR_INVALID);
  /* Nor does a network name that is not one. */
  CHECK_RV(join_agent(&agents[7], ids[7], names[7], "no spaces", 0, 0), PL_ERR_INVALID);
  CHECK(!pl_rdv_network_valid("no spaces") && pl_rdv_network_valid("") &&
        pl_rdv_network_valid("Lab-1.eu_west:2"));
  char longname[PL_RDV_NETWORK_MAX + 2];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  CHECK(!pl_rdv_network_valid(longname));
  longname[PL_RDV_NETWORK_MAX] = '\0';
  CHECK(pl_rdv_network_valid(longname));
  CHECK(out.n == 0 && agents[7].info == NULL);
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
  CHECK(out.v[0].reason == PEERLINK__V1__PAIR_ERROR__REASON__REASON_SELF);
  expect("ERR(self)>1");
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[1], ids[9], 0, &out), 0);
  CHECK_STR_CONTAINS(out.v[0].message, "is not registered");
  CHECK_STR_CONTAINS(out.v[0].message, ids[9]);
  CHECK(out.v[0].reason == PEERLINK__V1__PAIR_ERROR__REASON__REASON_UNKNOWN_PEER);
  expect("ERR(unknown_peer)>1");
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[9], ids[1], 0, &out), PL_ERR_STATE);

  /* No randomness, no pairing: said to the asker, nothing else changes. */
  fixture_fail = 1;
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[1], ids[0], 0, &out), 0);
  CHECK_STR_EQ(out.v[0].message, "rendezvous cannot make a pairing: I/O error");
  CHECK(out.v[0].reason == PEERLINK__V1__PAIR_ERROR__REASON__REASON_INTERNAL);
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
  CHECK(out.v[0].reason == PEERLINK__V1__PAIR_ERROR__REASON__REASON_BUSY);
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
  CHECK(agents[0].info == NULL && agents[0].member.n_pairings == 0);
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
