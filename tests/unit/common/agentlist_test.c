#include "control/common/agentlist.h"
#include "tests/unit/common/check.h"

static Peerlink__V1__AgentInfo info(char *id, char *name) {
  Peerlink__V1__AgentInfo i = PEERLINK__V1__AGENT_INFO__INIT;
  i.id = id;
  i.name = name;
  return i;
}

int main(void) {
  pl_agentlist l;
  pl_agentlist_entry *e;
  pl_agentlist_init(&l);
  Peerlink__V1__AgentInfo a = info("a", "alpha"), b = info("b", "beta"), a2 = info("a", "ALPHA");
  CHECK(pl_agentlist_put(&l, &a, &e) == 0 && l.count == 1);
  e->data = &l;
  CHECK(pl_agentlist_put(&l, &b, NULL) == 0 && l.count == 2);
  /* Replacing keeps position and data and copies deeply. */
  CHECK(pl_agentlist_put(&l, &a2, &e) == 0 && l.count == 2);
  CHECK(l.head == e && e->data == &l && strcmp(e->info->name, "ALPHA") == 0);
  CHECK(e->info->name != a2.name);

  Peerlink__V1__AgentInfo **infos;
  size_t n;
  CHECK(pl_agentlist_snapshot(&l, "a", &infos, &n) == 0 && n == 1);
  CHECK(strcmp(infos[0]->id, "b") == 0);
  free(infos);
  CHECK(pl_agentlist_snapshot(&l, NULL, &infos, &n) == 0 && n == 2);
  CHECK(strcmp(infos[0]->id, "a") == 0 && strcmp(infos[1]->id, "b") == 0);
  free(infos);

  pl_agentlist_remove(&l, pl_agentlist_find(&l, "a"));
  CHECK(l.count == 1 && l.head == l.tail && pl_agentlist_find(&l, "a") == NULL);
  pl_agentlist_free(&l);
  CHECK(l.count == 0 && l.head == NULL);
  printf("agentlist_test: ok\n");
  return 0;
}
