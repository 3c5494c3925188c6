/* ListAgents' pages (tokens, sizes, networks, agents leaving and joining between pages) and the
 * registry at a size where a scan per input would show: a join in a crowd costs its network's
 * size in actions, not the registry's. I/O-free, as registry_test.c. */
#include "tests/unit/rendezvous/registry_fixture.h"

/* Lists every page of `network` with `size` per page; the indexes of the agents, in order, are
 * written to got[] (-1 for agents not in agents[]). Returns how many. */
static size_t list_all(const char *network, size_t size, int *got, size_t cap, size_t *pages) {
  char token[PL_RDV_TOKEN_LEN + 1] = "";
  size_t n = 0;
  *pages = 0;
  do {
    Peerlink__V1__AgentInfo **infos;
    size_t k, total;
    char next[PL_RDV_TOKEN_LEN + 1];
    CHECK_RV(pl_rdv_registry_list(&reg, network, token, size, &infos, &k, next, &total), 0);
    CHECK(k <= (size ? size : PL_RDV_PAGE_DEFAULT));
    for (size_t i = 0; i < k && n < cap; i++)
      got[n++] = index_of_id(infos[i]->id);
    free(infos);
    (*pages)++;
    memcpy(token, next, sizeof token);
  } while (token[0]);
  return n;
}

static const char *text(const int *v, size_t n) {
  static char buf[512];
  size_t k = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && k < sizeof buf - 8; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%d", i ? " " : "", v[i]);
  return buf;
}

static void test_pages(void) {
  int got[N];
  size_t pages, n;
  setup(0);
  for (int i = 0; i < 10; i++)
    join_in(i, i % 2 ? "odd" : "");
  pl_rdv_actions_clear(&out);

  n = list_all(NULL, 3, got, N, &pages);
  CHECK_STR_EQ(text(got, n), "0 1 2 3 4 5 6 7 8 9");
  CHECK(pages == 4);
  n = list_all("", 0, got, N, &pages); /* "" is no filter; 0 is the default size */
  CHECK(n == 10 && pages == 1);
  n = list_all("odd", 2, got, N, &pages);
  CHECK_STR_EQ(text(got, n), "1 3 5 7 9");
  CHECK(pages == 3);
  n = list_all("nobody", 2, got, N, &pages);
  CHECK(n == 0 && pages == 1);
  /* Exactly one page's worth: no empty page after it. */
  n = list_all("odd", 5, got, N, &pages);
  CHECK(n == 5 && pages == 1);

  /* Between pages: agents that left are not listed, newcomers come at the end, nobody twice. */
  Peerlink__V1__AgentInfo **infos;
  size_t k, total;
  char next[PL_RDV_TOKEN_LEN + 1], tok[PL_RDV_TOKEN_LEN + 1];
  CHECK_RV(pl_rdv_registry_list(&reg, NULL, "", 4, &infos, &k, next, &total), 0);
  CHECK(k == 4 && total == 10 && strlen(next) == PL_RDV_TOKEN_LEN);
  free(infos);
  pl_rdv_registry_leave(&reg, &agents[3], 0, &out); /* listed already */
  pl_rdv_registry_leave(&reg, &agents[5], 0, &out); /* not yet */
  join_in(3, "");                                   /* again: a newer registration */
  pl_rdv_actions_clear(&out);
  memcpy(tok, next, sizeof tok);
  CHECK_RV(pl_rdv_registry_list(&reg, NULL, tok, 100, &infos, &k, next, &total), 0);
  CHECK(total == 9 && next[0] == '\0');
  for (size_t i = 0; i < k; i++)
    got[i] = index_of_id(infos[i]->id);
  free(infos);
  CHECK_STR_EQ(text(got, k), "4 6 7 8 9 3");
  /* A token stays good however many left meanwhile (the list compacts itself). */
  for (int i = 4; i < 10; i++)
    pl_rdv_registry_leave(&reg, &agents[i], 0, &out);
  pl_rdv_actions_clear(&out);
  CHECK_RV(pl_rdv_registry_list(&reg, NULL, tok, 100, &infos, &k, next, &total), 0);
  CHECK(k == 1 && index_of_id(infos[0]->id) == 3 && total == 4);
  free(infos);

  /* Tokens this registry did not make. */
  const char *bad[] = {"x", "00000000000000020000000", "000000000000000200000000g",
                       "ZZZZZZZZZZZZZZZZZZZZZZZZ"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_RV(pl_rdv_registry_list(&reg, NULL, bad[i], 1, &infos, &k, next, &total), PL_ERR_INVALID);
  char forged[PL_RDV_TOKEN_LEN + 1];
  memcpy(forged, tok, sizeof forged);
  forged[15] = forged[15] == '0' ? '1' : '0'; /* another position, the same check */
  CHECK_RV(pl_rdv_registry_list(&reg, NULL, forged, 1, &infos, &k, next, &total), PL_ERR_INVALID);
  /* Sizes above the maximum are taken as the maximum. */
  CHECK_RV(pl_rdv_registry_list(&reg, NULL, NULL, 1u << 30, &infos, &k, next, &total), 0);
  CHECK(k == 4);
  free(infos);
  teardown();
}

/* 20,000 agents in networks of 8: each join's actions stay within its network, lookups find
 * every agent, and paging visits everyone once. */
#define BIG 20000
#define GROUP 8

static void test_crowd(void) {
  pl_rdv_agent *crowd = calloc(BIG, sizeof *crowd);
  static char cids[BIG][33], cnames[BIG][16], cnets[BIG / GROUP + 1][16];
  CHECK(crowd != NULL);
  setup(1);
  for (unsigned i = 0; i < BIG; i++) {
    fixture_id(cids[i], 0x100000 + i);
    snprintf(cnames[i], sizeof cnames[i], "c%u", i);
    if (i % GROUP == 0)
      snprintf(cnets[i / GROUP], sizeof cnets[0], "net%u", i / GROUP);
    pl_rdv_agent_init(&crowd[i], &crowd[i]);
    CHECK_RV(join_agent(&crowd[i], cids[i], cnames[i], cnets[i / GROUP], i % 2, 0), 0);
    /* REGISTERED, a JOINED each way per member already there, and a pairing at most. */
    CHECK_U64(out.n, <=, 1 + 2 * (i % GROUP) + 4);
    pl_rdv_actions_clear(&out);
  }
  CHECK(reg.count == BIG && reg.groups.count == BIG / GROUP);
  /* Half have a public endpoint; auto-pair paired them two by two in each network. */
  CHECK(reg.pairings.count == BIG / 4);
  for (unsigned i = 0; i < BIG; i += 997)
    CHECK(pl_rdv_registry_find(&reg, cids[i]) == &crowd[i]);

  char token[PL_RDV_TOKEN_LEN + 1] = "";
  size_t seen = 0, pages = 0;
  do {
    Peerlink__V1__AgentInfo **infos;
    size_t k, total;
    char next[PL_RDV_TOKEN_LEN + 1];
    CHECK_RV(pl_rdv_registry_list(&reg, NULL, token, PL_RDV_PAGE_MAX, &infos, &k, next, &total), 0);
    for (size_t i = 0; i < k; i++)
      CHECK_STR_EQ(infos[i]->id, cids[seen + i]);
    seen += k;
    pages++;
    free(infos);
    memcpy(token, next, sizeof token);
  } while (token[0]);
  CHECK(seen == BIG && pages == BIG / PL_RDV_PAGE_MAX);

  for (unsigned i = 0; i < BIG; i++) {
    pl_rdv_registry_leave(&reg, &crowd[i], 0, &out);
    CHECK_U64(out.n, <=, 2 * GROUP + 4);
    pl_rdv_actions_clear(&out);
    pl_rdv_agent_release(&crowd[i]);
  }
  free(crowd);
  teardown();
}

int main(void) {
  test_pages();
  test_crowd();
  printf("registry_list_test: ok\n");
  return 0;
}
