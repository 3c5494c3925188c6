/* registry_scale: the rendezvous's registry core (I/O-free) at sizes one machine's descriptor
 * limit may not allow over real connections: N agents join in networks of K, then pairings,
 * watches, every ListAgents page, and departures. Reports the time per input, the actions per
 * input and the core's own memory per agent (RSS, the records included), so a row at 100,000
 * shows whether anything in the core grows with the registry instead of with the network.
 *
 *   registry_scale [N] [K]        (defaults 100000 and 8) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/rendezvous/registry.h"
#include "tests/bench/bench.h"

static int counter_random(void *buf, size_t len) {
  static uint64_t x = 0x9e3779b97f4a7c15u;
  uint8_t *p = buf;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (uint8_t)x;
  }
  return 0;
}

static double per_op_us(uint64_t t0, size_t n) {
  return n ? (double)(pl_bench_now_ns() - t0) / 1e3 / (double)n : 0;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
  size_t k = argc > 2 ? strtoul(argv[2], NULL, 10) : 8;
  static pl_rdv_registry reg;
  pl_rdv_actions out;
  pl_rdv_agent *agents = calloc(n, sizeof *agents);
  char(*ids)[33] = calloc(n, sizeof *ids);
  char(*nets)[32] = calloc(n / (k ? k : 1) + 1, sizeof *nets);
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  Peerlink__V1__Candidate cand = PEERLINK__V1__CANDIDATE__INIT;
  Peerlink__V1__Candidate *cands[1] = {&cand};
  uint8_t key[91] = {0x30};
  size_t max_actions = 0, actions = 0;
  if (n < 2 || !agents || !ids || !nets || pl_rdv_registry_init(&reg, counter_random) != 0)
    return 1;
  pl_rdv_actions_init(&out);
  ep.ip = "192.0.2.1";
  ep.port = 4000;
  cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  cand.endpoint = &ep;
  long rss0 = pl_bench_proc_kib(getpid(), "VmRSS");

  uint64_t t = pl_bench_now_ns();
  for (size_t i = 0; i < n; i++) {
    Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
    char name[32];
    snprintf(ids[i], sizeof ids[i], "%032zx", i + 1);
    snprintf(name, sizeof name, "agent-%zu", i);
    if (k && i % k == 0)
      snprintf(nets[i / k], sizeof nets[0], "net-%zu", i / k);
    info.id = ids[i];
    info.name = name;
    info.observed_address = "127.0.0.1:40000";
    info.cert_fingerprint = "00000000000000000000000000000000000000000000000000000000000000";
    info.version = "bench";
    info.candidates = cands;
    info.n_candidates = 1;
    pl_rdv_agent_init(&agents[i], &agents[i]);
    if (pl_rdv_registry_join(&reg, &agents[i], &info, k ? nets[i / k] : "", key, sizeof key, 0,
                             &out) != 0)
      return 1;
    actions += out.n;
    max_actions = out.n > max_actions ? out.n : max_actions;
    pl_rdv_actions_clear(&out);
  }
  double join_us = per_op_us(t, n);
  long rss1 = pl_bench_proc_kib(getpid(), "VmRSS");

  size_t pairs = n / 2;
  t = pl_bench_now_ns();
  for (size_t i = 0; i < pairs; i++) {
    pl_rdv_registry_pair(&reg, &agents[i], ids[n - 1 - i], 0, &out);
    pl_rdv_actions_clear(&out);
  }
  double pair_us = per_op_us(t, pairs);

  t = pl_bench_now_ns();
  for (size_t i = 0; i < n; i++) {
    char *watch[1] = {ids[(i + n / 3) % n]};
    pl_rdv_registry_watch(&reg, &agents[i], watch, 1, &out, NULL);
    pl_rdv_actions_clear(&out);
  }
  double watch_us = per_op_us(t, n);

  char token[PL_RDV_TOKEN_LEN + 1] = "";
  size_t pages = 0, listed = 0;
  t = pl_bench_now_ns();
  do {
    Peerlink__V1__AgentInfo **infos;
    size_t got, total;
    char next[PL_RDV_TOKEN_LEN + 1];
    if (pl_rdv_registry_list(&reg, NULL, token, PL_RDV_PAGE_MAX, &infos, &got, next, &total) != 0)
      return 1;
    free(infos);
    listed += got;
    pages++;
    memcpy(token, next, sizeof token);
  } while (token[0]);
  double page_us = per_op_us(t, pages);
  long rss2 = pl_bench_proc_kib(getpid(), "VmRSS");

  t = pl_bench_now_ns();
  for (size_t i = 0; i < n; i++) {
    pl_rdv_registry_leave(&reg, &agents[i], 0, &out);
    pl_rdv_actions_clear(&out);
    pl_rdv_agent_release(&agents[i]);
  }
  double leave_us = per_op_us(t, n);

  printf("\nRegistry core (I/O-free): %zu agents in networks of %zu\n", n, k);
  printf("  join   %7.2f us each (%.1f actions on average, %zu at most)\n", join_us,
         (double)actions / (double)n, max_actions);
  printf("  pair   %7.2f us each (%zu pairings)\n", pair_us, pairs);
  printf("  watch  %7.2f us each\n", watch_us);
  printf("  list   %7.2f us per page of %d (%zu pages, %zu agents)\n", page_us, PL_RDV_PAGE_MAX,
         pages, listed);
  printf("  leave  %7.2f us each\n", leave_us);
  printf("  memory %.2f KiB per agent registered, %.2f KiB with pairings and a watch each\n\n",
         (double)(rss1 - rss0) / (double)n, (double)(rss2 - rss0) / (double)n);
  pl_rdv_actions_free(&out);
  pl_rdv_registry_free(&reg);
  free(agents);
  free(ids);
  free(nets);
  return 0;
}
