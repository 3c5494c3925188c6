/* rdv_load: control-plane load generator for `make bench` (tests/bench/run.sh starts the
 * programs and passes their addresses and pids).
 *
 * Phases, in this order so one never loads the next: event fan-out (needs --agent registered
 * with --rendezvous), GetStatus throughput (--agent, and --ref for the grpcio reference),
 * registration of many agents (--rendezvous). A phase whose target is not given is skipped. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "tests/bench/bench.h"
#include "tests/bench/synth_agent.h"

static const char usage[] =
    "usage: rdv_load [--rendezvous HOST:PORT] [--rendezvous-pid PID] [--agent HOST:PORT]\n"
    "                [--agent-pid PID] [--ref HOST:PORT] [--ref-pid PID] [--agents N]\n"
    "                [--channels N] [--reg-window N] [--probes N] [--calls N] [--reps N]\n"
    "                [--k K1,...] [--watchers M] [--rounds R] [--timeout-ms MS] [--json PATH]\n"
    "                [--network NAME] [--network-size K]\n";

static int parse_ks(const char *s, pl_bench *b) {
  char buf[128], *save = NULL;
  snprintf(buf, sizeof buf, "%s", s);
  b->n_ks = 0;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (b->n_ks == PL_BENCH_MAX_KS || pl_bench_parse_size(tok, 1, 4096, &b->ks[b->n_ks]) != 0)
      return PL_ERR_INVALID;
    b->n_ks++;
  }
  return b->n_ks ? 0 : PL_ERR_INVALID;
}

static int parse_args(int argc, char **argv, pl_bench *b, const char **json) {
  static const struct option opts[] = {
      {"rendezvous", 1, 0, 'r'},
      {"rendezvous-pid", 1, 0, 'R'},
      {"agent", 1, 0, 'a'},
      {"agent-pid", 1, 0, 'A'},
      {"ref", 1, 0, 'f'},
      {"ref-pid", 1, 0, 'F'},
      {"agents", 1, 0, 'n'},
      {"channels", 1, 0, 'c'},
      {"reg-window", 1, 0, 'w'},
      {"probes", 1, 0, 'P'},
      {"calls", 1, 0, 'u'},
      {"reps", 1, 0, 'p'},
      {"k", 1, 0, 'k'},
      {"watchers", 1, 0, 'm'},
      {"rounds", 1, 0, 'o'},
      {"timeout-ms", 1, 0, 't'},
      {"json", 1, 0, 'j'},
      {"network", 1, 0, 'N'},
      {"network-size", 1, 0, 'K'},
      {"help", 0, 0, 'h'},
      {0, 0, 0, 0},
  };
  size_t v;
  int c, bad = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'r': b->rendezvous = optarg; break;
    case 'a': b->agent = optarg; break;
    case 'f': b->ref = optarg; break;
    case 'j': *json = optarg; break;
    case 'N': b->network = optarg; break;
    case 'K': bad |= pl_bench_parse_size(optarg, 0, 100000, &b->network_size); break;
    case 'R':
      bad |= pl_bench_parse_size(optarg, 1, 1u << 22, &v), b->rendezvous_pid = (int)v;
      break;
    case 'A': bad |= pl_bench_parse_size(optarg, 1, 1u << 22, &v), b->agent_pid = (int)v; break;
    case 'n': bad |= pl_bench_parse_size(optarg, 2, 100000, &b->agents); break;
    case 'c': bad |= pl_bench_parse_size(optarg, 1, 64, &b->channels); break;
    case 'w': bad |= pl_bench_parse_size(optarg, 1, 100000, &b->reg_window); break;
    case 'u': bad |= pl_bench_parse_size(optarg, 1, 10000000, &b->calls); break;
    case 'k': bad |= parse_ks(optarg, b); break;
    case 'p': bad |= pl_bench_parse_size(optarg, 1, PL_BENCH_MAX_REPS, &b->reps); break;
    case 'P': bad |= pl_bench_parse_size(optarg, 0, 10000, &b->probes); break;
    case 'F': bad |= pl_bench_parse_size(optarg, 1, 1u << 22, &v), b->ref_pid = (int)v; break;
    case 'm': bad |= pl_bench_parse_size(optarg, 1, 100000, &b->watchers); break;
    case 'o': bad |= pl_bench_parse_size(optarg, 1, 1000, &b->rounds); break;
    case 't': bad |= pl_bench_parse_size(optarg, 100, 3600000, &v), b->phase_timeout_ms = v; break;
    case 'h': fputs(usage, stdout); exit(0);
    default: bad = 1; break;
    }
  }
  if (bad || optind != argc) {
    fputs(usage, stderr);
    return PL_ERR_INVALID;
  }
  return 0;
}

static void phase_failed(const char *phase, int rv) {
  fprintf(stderr, "rdv_load: %s: %s\n", phase,
          rv == PL_ERR_STATE ? "a call failed (see above)" : pl_strerror(rv));
}

int main(int argc, char **argv) {
  static pl_bench b = {
      .agents = 1000,
      .network_size = 8,
      .channels = 4,
      .reg_window = 32,
      .probes = 10,
      .calls = 5000,
      .reps = 3,
      .ks = {1, 16, 64},
      .n_ks = 3,
      .watchers = 1000,
      .rounds = 5,
      .phase_timeout_ms = 60000,
  };
  static pl_bench_results r;
  const char *json = NULL;
  int rv = 0;

  if (parse_args(argc, argv, &b, &json) != 0)
    return 2;
  if (pl_bench_crypto_init() != 0) {
    fprintf(stderr, "rdv_load: wolfCrypt_Init failed\n");
    return 1;
  }
  b.loop = uv_default_loop();
  uv_timer_init(b.loop, &b.deadline);
  r.fanout_ok = r.unary_ok = r.reg_ok = 1;

  /* A timeout leaves calls in flight that point at a phase's state: report and stop there. */
  if (b.agent && b.rendezvous) {
    fprintf(stderr, "rdv_load: fan-out: %zu streams, %zu rounds\n", b.watchers, b.rounds);
    r.fanout_ran = 1;
    if ((rv = pl_bench_fanout(&b, &r.fanout)) != 0) {
      r.fanout_ok = 0;
      phase_failed("fan-out", rv);
    }
  }
  if (rv != PL_ERR_TIMEOUT && b.agent) {
    fprintf(stderr, "rdv_load: GetStatus on the agent%s\n", b.ref ? " and the reference" : "");
    r.unary_ran = 1;
    if ((rv = pl_bench_unary(&b, &r)) != 0) {
      r.unary_ok = 0;
      phase_failed("GetStatus", rv);
    }
  }
  if (rv != PL_ERR_TIMEOUT && b.rendezvous) {
    fprintf(stderr, "rdv_load: registering %zu agents\n", b.agents);
    r.reg_ran = 1;
    if ((rv = pl_bench_register(&b, &r.reg)) != 0) {
      r.reg_ok = 0;
      phase_failed("registration", rv);
    }
  }

  pl_bench_report_table(stdout, &b, &r);
  if (json && pl_bench_report_json(json, &b, &r) != 0) {
    fprintf(stderr, "rdv_load: --json %s: cannot write\n", json);
    return 1;
  }
  /* Exit without tearing down the loop: a failed phase may have left calls on it. */
  return r.fanout_ok && r.unary_ok && r.reg_ok ? 0 : 1;
}
