/* Who sees whom: no network (nobody but watched and paired agents), networks, watches,
 * pairings, --broadcast, and --auto-pair within a network. I/O-free, as registry_test.c. */
#include "tests/unit/rendezvous/registry_fixture.h"

#define JOINED PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED

static Peerlink__V1__Candidate *srflx_only[1] = {&srflx_cand};

static void update(int i) {
  CHECK_RV(pl_rdv_registry_update(&reg, &agents[i], srflx_only, 1, 0, 0, &out), 0);
}

static int watch(int i, char **list, size_t n) {
  size_t bad = 99;
  int rv = pl_rdv_registry_watch(&reg, &agents[i], list, n, &out, &bad);
  return rv == PL_ERR_INVALID ? (int)(-100 - (long)bad) : rv;
}

static int unwatch(int i, char **list, size_t n) {
  return pl_rdv_registry_unwatch(&reg, &agents[i], list, n, &out, NULL);
}

/* The default: an agent without a network hears of nobody, and nobody of it. */
static void test_no_network_is_private(void) {
  setup(0);
  join_in(0, "");
  join_in(1, NULL);
  join_in(2, "");
  expect("REG>0 REG>1 REG>2");
  update(1);
  expect("");
  CHECK(!pl_rdv_registry_sees(&reg, &agents[0], &agents[1]));
  pl_rdv_registry_leave(&reg, &agents[1], 0, &out);
  expect("");
  CHECK_STR_EQ(pl_rdv_registry_network(&agents[0]), "");
  teardown();
}

/* Agents of one network see each other and nobody else. */
static void test_networks(void) {
  setup(0);
  join_in(0, "red");
  join_in(1, "blue");
  join_in(2, "red");
  expect("REG>0 REG>1 REG>2 JOINED(0)>2 JOINED(2)>0");
  join_in(3, "");
  join_in(4, "blue");
  expect("REG>3 REG>4 JOINED(1)>4 JOINED(4)>1");
  update(2);
  expect("UPDATED(2)>0");
  CHECK(pl_rdv_registry_sees(&reg, &agents[0], &agents[2]) &&
        !pl_rdv_registry_sees(&reg, &agents[0], &agents[1]) &&
        !pl_rdv_registry_sees(&reg, &agents[0], &agents[0]));
  CHECK_STR_EQ(pl_rdv_registry_network(&agents[4]), "blue");
  pl_rdv_registry_leave(&reg, &agents[1], 0, &out);
  expect("LEFT(1)>4");
  /* The last member gone, the network is gone. */
  pl_rdv_registry_leave(&reg, &agents[4], 0, &out);
  expect("");
  CHECK(reg.groups.count == 2); /* red and "" */
  teardown();
}

/* --broadcast: everyone sees everyone, whatever their networks (the old behaviour). */
static void test_broadcast(void) {
  setup(0);
  reg.broadcast = 1;
  join_in(0, "");
  join_in(1, "red");
  expect("REG>0 REG>1 JOINED(0)>1 JOINED(1)>0");
  join_in(2, "");
  expect("REG>2 JOINED(0)>2 JOINED(1)>2 JOINED(2)>0 JOINED(2)>1");
  update(0);
  expect("UPDATED(0)>1 UPDATED(0)>2");
  pl_rdv_registry_leave(&reg, &agents[1], 0, &out);
  expect("LEFT(1)>0 LEFT(1)>2");
  teardown();
}

static void test_watch(void) {
  setup(0);
  join_in(0, "");
  join_in(1, "");
  join_in(2, "red");
  join_in(3, "red");
  pl_rdv_actions_clear(&out);

  /* A registered agent comes into view at once; an unregistered ID when it registers; its own
   * ID and repeats do nothing. */
  char *list[] = {ids[1], ids[5], ids[0], ids[1]};
  CHECK_RV(watch(0, list, 4), 0);
  expect("JOINED(1)>0");
  CHECK(agents[0].n_watching == 2 && reg.watches.count == 2);
  CHECK_RV(watch(0, list, 2), 0);
  expect("");
  join_in(5, "blue");
  expect("REG>5 JOINED(5)>0");
  update(1);
  update(5);
  expect("UPDATED(1)>0 UPDATED(5)>0");
  /* Watching it does not make the watched agent see the watcher. */
  update(0);
  expect("");

  /* A watcher in the same network hears of each change once. */
  char *red[] = {ids[2]};
  CHECK_RV(watch(3, red, 1), 0);
  expect("");
  CHECK_RV(watch(1, red, 1), 0);
  expect("JOINED(2)>1");
  update(2);
  expect("UPDATED(2)>3 UPDATED(2)>1");

  /* Unwatching: LEFT for those out of view now; not for one still in the network. */
  CHECK_RV(unwatch(3, red, 1), 0);
  expect("");
  char *gone[] = {ids[1], ids[9]};
  CHECK_RV(unwatch(0, gone, 2), 0);
  expect("LEFT(1)>0");
  update(1);
  expect("");

  /* A watched agent that leaves and comes back. */
  pl_rdv_registry_leave(&reg, &agents[5], 0, &out);
  expect("LEFT(5)>0");
  join_in(5, "");
  expect("REG>5 JOINED(5)>0");

  /* Bad IDs change nothing and name the first bad one. */
  char upper[33];
  snprintf(upper, sizeof upper, "%s", ids[7]);
  upper[31] = 'A';
  char *bad[] = {ids[6], upper, "short"};
  CHECK_RV(watch(0, bad, 3), -101);
  CHECK(agents[0].n_watching == 1);
  CHECK_RV(pl_rdv_registry_unwatch(&reg, &agents[0], bad, 3, &out, NULL), PL_ERR_INVALID);
  CHECK_RV(pl_rdv_registry_watch(&reg, &agents[9], list, 1, &out, NULL), PL_ERR_STATE);
  expect("");

  /* The limit counts what would be new. */
  static char many[PL_RDV_WATCH_MAX][33];
  char *mp[PL_RDV_WATCH_MAX];
  for (unsigned i = 0; i < PL_RDV_WATCH_MAX; i++) {
    fixture_id(many[i], 1000 + i);
    mp[i] = many[i];
  }
  CHECK_RV(watch(0, mp, PL_RDV_WATCH_MAX), PL_ERR_FULL);
  CHECK(agents[0].n_watching == 1);
  CHECK_RV(watch(0, mp, PL_RDV_WATCH_MAX - 1), 0);
  CHECK(agents[0].n_watching == PL_RDV_WATCH_MAX);
  CHECK_RV(watch(0, &mp[PL_RDV_WATCH_MAX - 1], 1), PL_ERR_FULL);
  CHECK_RV(watch(0, mp, 3), 0); /* nothing new */
  expect("");

  /* Many watchers of one ID, one leaving in the middle: the rest still hear. */
  char *six[] = {ids[6]};
  const int watchers[] = {1, 2, 3, 5};
  for (int i = 0; i < 4; i++)
    CHECK_RV(watch(watchers[i], six, 1), 0);
  pl_rdv_registry_leave(&reg, &agents[2], 0, &out);
  pl_rdv_actions_clear(&out);
  join_in(6, "");
  expect("REG>6 JOINED(6)>1 JOINED(6)>5 JOINED(6)>3");
  /* A leaving watcher takes its watches along; the watched ID's entry goes with the last. */
  pl_rdv_registry_leave(&reg, &agents[0], 0, &out);
  CHECK(reg.watches.count == 2); /* ids[2] (by 1) and ids[6] */
  pl_rdv_actions_clear(&out);
  teardown();
}

/* Paired agents see each other for as long as both are registered. */
static void test_paired_see_each_other(void) {
  setup(0);
  join_in(0, "");
  join_in(1, "blue");
  join_in(2, "blue");
  pl_rdv_actions_clear(&out);
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[1], ids[0], 0, &out), 0);
  expect("JOINED(0)>1 JOINED(1)>0 OFFER>0 OFFER>1");
  CHECK(pl_rdv_registry_sees(&reg, &agents[0], &agents[1]));
  /* Again: they see each other already. */
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[0], ids[1], 0, &out), 0);
  expect("OFFER>0 OFFER>1");
  /* Within a network: no JOINED. A watcher that is also paired hears once. */
  CHECK_RV(pl_rdv_registry_pair(&reg, &agents[1], ids[2], 0, &out), 0);
  expect("OFFER>1 OFFER>2");
  char *one[] = {ids[1]};
  CHECK_RV(watch(0, one, 1), 0);
  expect("");
  update(1);
  expect("UPDATED(1)>2 UPDATED(1)>0");
  CHECK_RV(unwatch(0, one, 1), 0);
  expect(""); /* still paired */
  pl_rdv_registry_leave(&reg, &agents[1], 0, &out);
  expect("LEFT(1)>2 LEFT(1)>0 ENDED(2)>1 ENDED(0)>1");
  CHECK(!pl_rdv_registry_sees(&reg, &agents[0], &agents[2]));
  teardown();
}

/* --auto-pair pairs within a network ("" included), never across. */
static void test_autopair_per_network(void) {
  setup(1);
  CHECK_RV(join_agent(&agents[0], ids[0], names[0], "red", 1, 0), 0);
  CHECK_RV(join_agent(&agents[1], ids[1], names[1], "blue", 1, 0), 0);
  CHECK_RV(join_agent(&agents[2], ids[2], names[2], "", 1, 0), 0);
  expect("REG>0 REG>1 REG>2");
  CHECK_RV(join_agent(&agents[3], ids[3], names[3], "blue", 1, 0), 0);
  expect("REG>3 JOINED(1)>3 JOINED(3)>1 OFFER>1 OFFER>3");
  /* Two without a network: they did not see each other, so each hears of the other first. */
  CHECK_RV(join_agent(&agents[4], ids[4], names[4], "", 1, 0), 0);
  CHECK(out.v[3].automatic);
  expect("REG>4 JOINED(4)>2 JOINED(2)>4 OFFER>2 OFFER>4");
  /* A freed partner goes back in its network's queue, by age. */
  CHECK_RV(join_agent(&agents[5], ids[5], names[5], "blue", 1, 0), 0);
  expect("REG>5 JOINED(1)>5 JOINED(3)>5 JOINED(5)>1 JOINED(5)>3");
  pl_rdv_registry_leave(&reg, &agents[3], 0, &out);
  expect("LEFT(3)>1 LEFT(3)>5 ENDED(1)>3 OFFER>1 OFFER>5");
  teardown();
}

int main(void) {
  test_no_network_is_private();
  test_networks();
  test_broadcast();
  test_watch();
  test_paired_see_each_other();
  test_autopair_per_network();
  printf("registry_view_test: ok\n");
  return 0;
}
