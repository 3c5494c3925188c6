/* rdv_scale: see scale.h. tests/bench/run.sh starts a rendezvous (with the fd limit raised) and
 * passes its addresses and pid. Phases, one after another:
 *   1. register N agents (own connection, own source address each), `window` at a time;
 *   2. wait until every JOINED their networks owe has arrived, then read the rendezvous's memory;
 *   3. pairing latency with the crowd registered (PairRequest -> both offers);
 *   4. the same while `extra` more agents register (the registration load);
 *   5. STUN answers/s and 6. relay forwarding/s, the crowd still connected. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "control/common/addr.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "tests/bench/scale.h"

static const char usage[] =
    "usage: rdv_scale --rendezvous HOST:PORT [--rendezvous-pid PID] [--udp HOST:PORT]\n"
    "                 [--rendezvous2 HOST:PORT [--rendezvous2-pid PID]]\n"
    "                 [--agents N] [--network-size K] [--window W] [--extra N] [--pairs P]\n"
    "                 [--pair-window C] [--udp-seconds S] [--timeout-ms MS] [--json PATH]\n"
    "                 [--client K] [--sync-ready PREFIX --sync-go PREFIX]\n";

static int parse_addr(const char *text, struct sockaddr_storage *ss) {
  char host[64];
  int port;
  return pl_hostport_split(text, host, &port) == 0 && pl_addr_parse(ss, host, port) == 0
             ? 0
             : PL_ERR_INVALID;
}

static int parse_args(int argc, char **argv, scale *s, const char **json) {
  static const struct option opts[] = {
      {"rendezvous", 1, 0, 'r'},
      {"rendezvous-pid", 1, 0, 'R'},
      {"udp", 1, 0, 'u'},
      {"agents", 1, 0, 'n'},
      {"network-size", 1, 0, 'k'},
      {"window", 1, 0, 'w'},
      {"extra", 1, 0, 'x'},
      {"pairs", 1, 0, 'p'},
      {"pair-window", 1, 0, 'c'},
      {"udp-seconds", 1, 0, 's'},
      {"timeout-ms", 1, 0, 't'},
      {"json", 1, 0, 'j'},
      {"rendezvous2", 1, 0, '2'},
      {"rendezvous2-pid", 1, 0, 'P'},
      {"client", 1, 0, 'K'},
      {"sync-ready", 1, 0, 'Y'},
      {"sync-go", 1, 0, 'G'},
      {"help", 0, 0, 'h'},
      {0, 0, 0, 0},
  };
  size_t v;
  int c, bad = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'r':
      s->target = optarg;
      bad |= parse_addr(optarg, &s->rdv_addr);
      break;
    case 'R': bad |= pl_bench_parse_size(optarg, 1, 1u << 22, &v), s->pid = (int)v; break;
    case '2':
      s->target2 = optarg;
      bad |= parse_addr(optarg, &s->rdv_addr2);
      break;
    case 'P': bad |= pl_bench_parse_size(optarg, 1, 1u << 22, &v), s->pid2 = (int)v; break;
    case 'u': s->has_udp = parse_addr(optarg, &s->udp_addr) == 0, bad |= !s->has_udp; break;
    case 'n': bad |= pl_bench_parse_size(optarg, 2, 1000000, &s->n); break;
    case 'k': bad |= pl_bench_parse_size(optarg, 0, 1000000, &s->network_size); break;
    case 'w': bad |= pl_bench_parse_size(optarg, 1, 100000, &s->window); break;
    case 'x': bad |= pl_bench_parse_size(optarg, 0, 1000000, &s->extra); break;
    case 'p': bad |= pl_bench_parse_size(optarg, 0, 100000, &s->pairs); break;
    case 'c': bad |= pl_bench_parse_size(optarg, 1, 1000, &s->pair_window); break;
    case 's': bad |= pl_bench_parse_size(optarg, 1, 60, &v), s->udp_seconds = (double)v; break;
    case 't': bad |= pl_bench_parse_size(optarg, 100, 3600000, &v), s->phase_timeout_ms = v; break;
    case 'j': *json = optarg; break;
    case 'K': bad |= pl_bench_parse_size(optarg, 0, 15, &v), s->client = (int)v; break;
    case 'Y': s->sync_ready = optarg; break;
    case 'G': s->sync_go = optarg; break;
    case 'h': fputs(usage, stdout); exit(0);
    default: bad = 1; break;
    }
  }
  /* client K's addresses: 2^18 of them, inside 127.64.0.0/10 */
  if (s->client >= 0 && s->n + s->extra >= (1u << 18)) {
    fprintf(stderr, "rdv_scale: --client: at most %u agents (with --extra) per client\n",
            (1u << 18) - 1);
    bad = 1;
  }
  if ((s->sync_ready == NULL) != (s->sync_go == NULL))
    bad = 1;
  if (bad || optind != argc || s->target == NULL) {
    fputs(usage, stderr);
    return PL_ERR_INVALID;
  }
  return 0;
}

static void on_deadline(uv_timer_t *t) {
  scale *s = t->data;
  s->timed_out = 1;
  uv_stop(s->loop);
}

int pl_scale_wait(scale *s) {
  s->timed_out = 0;
  pl_scale_update(s);
  uv_timer_start(&s->deadline, on_deadline, s->phase_timeout_ms, 0);
  while (!s->wake && !s->timed_out)
    uv_run(s->loop, UV_RUN_ONCE);
  uv_timer_stop(&s->deadline);
  s->wake = 0;
  return s->timed_out ? PL_ERR_TIMEOUT : 0;
}

/* Sync point k (scale.h): says so in a file, then serves the loop until the go file exists. */
static int sync_point(scale *s, int k) {
  char path[4096];
  if (s->sync_ready == NULL)
    return 0;
  snprintf(path, sizeof path, "%s%d", s->sync_ready, k);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    fprintf(stderr, "rdv_scale: cannot create %s\n", path);
    return PL_ERR_IO;
  }
  close(fd);
  snprintf(path, sizeof path, "%s%d", s->sync_go, k);
  uint64_t t0 = pl_bench_now_ns();
  while (access(path, F_OK) != 0) {
    if (pl_bench_now_ns() - t0 > s->phase_timeout_ms * 1000000ull)
      return PL_ERR_TIMEOUT;
    uv_run(s->loop, UV_RUN_NOWAIT);
    usleep(2000);
  }
  return 0;
}

/* Every connection needs a descriptor here and one in the rendezvous. */
static int raise_fd_limit(size_t need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return PL_ERR_IO;
  if (rl.rlim_cur >= need)
    return 0;
  rl.rlim_cur = need;
  if (rl.rlim_max < need)
    rl.rlim_max = need; /* root only (CAP_SYS_RESOURCE) */
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    fprintf(stderr,
            "rdv_scale: cannot raise the descriptor limit to %zu (ulimit -Hn, or run as "
            "root)\n",
            need);
    return PL_ERR_IO;
  }
  return 0;
}

/* Registers agents [s->next, limit) and fills `res`. */
static int register_phase(scale *s, size_t limit, scale_reg_result *res) {
  size_t before = s->registered;
  memset(res, 0, sizeof *res);
  res->agents = limit - s->next;
  double cpu0 = pl_bench_proc_cpu_s(s->pid), gen0 = pl_bench_proc_cpu_s(getpid());
  double cpu20 = pl_bench_proc_cpu_s(s->pid2);
  s->reg_lat.n = 0;
  uint64_t t0 = pl_bench_now_ns();
  s->limit = limit;
  s->stage = s->stage == 4 ? 4 : 1;
  pl_scale_launch(s);
  int rv = pl_scale_wait(s);
  res->seconds = (double)(pl_bench_now_ns() - t0) / 1e9;
  res->registered = s->registered - before;
  res->per_s = (double)res->registered / res->seconds;
  res->cpu_s = cpu0 >= 0 ? pl_bench_proc_cpu_s(s->pid) - cpu0 : -1;
  res->cpu2_s = cpu20 >= 0 ? pl_bench_proc_cpu_s(s->pid2) - cpu20 : 0;
  if (res->cpu_s >= 0)
    res->cpu_s += res->cpu2_s;
  res->cpu_us_per_reg =
      res->registered && res->cpu_s >= 0 ? res->cpu_s * 1e6 / (double)res->registered : -1;
  res->gen_cpu_s = pl_bench_proc_cpu_s(getpid()) - gen0;
  res->errors = s->failed;
  pl_bench_lat_from(&res->lat, &s->reg_lat);
  return rv;
}

static int pair_phase(scale *s, size_t pairs, scale_pair_result *res, int stage) {
  memset(res, 0, sizeof *res);
  s->pair_lat.n = 0;
  s->n_pairings = s->next_pair + pairs;
  s->pairs_done = s->pair_errors = 0;
  s->pairing_on = 1;
  s->stage = stage;
  pl_scale_pair_start(s);
  return 0;
}

static void pair_result(scale *s, scale_pair_result *res) {
  res->pairs = s->pairs_done;
  res->errors = s->pair_errors;
  pl_bench_lat_from(&res->lat, &s->pair_lat);
  s->pairing_on = 0;
}

static int run(scale *s) {
  int rv;
  fprintf(stderr, "rdv_scale: %zu agents, networks of %zu, %zu registering at a time%s\n", s->n,
          s->network_size, s->window, s->target2 ? ", half on each of two instances" : "");
  if ((rv = sync_point(s, 1)) != 0)
    return rv;
  s->mem.rss_before_kib = pl_bench_proc_kib(s->pid, "VmRSS");
  s->mem.rss_before2_kib = pl_bench_proc_kib(s->pid2, "VmRSS");
  long kernel0 = pl_scale_sockstat_tcp_kib();
  if ((rv = register_phase(s, s->n, &s->reg)) != 0)
    return rv;
  s->stage = 2;
  uint64_t t0 = pl_bench_now_ns();
  if ((rv = pl_scale_wait(s)) != 0)
    return rv;
  s->reg.drain_s = (double)(pl_bench_now_ns() - t0) / 1e9 + s->reg.seconds;
  s->reg.joined = s->joined;
  s->reg.expect_joined = s->expect_joined;
  s->mem.rss_after_kib = pl_bench_proc_kib(s->pid, "VmRSS");
  s->mem.hwm_kib = pl_bench_proc_kib(s->pid, "VmHWM");
  s->mem.anon_after_kib = pl_bench_proc_file_kib(s->pid, "smaps_rollup", "Anonymous");
  s->mem.kernel_tcp_kib_delta = pl_scale_sockstat_tcp_kib() - kernel0;
  s->mem.gen_rss_kib = pl_bench_proc_kib(getpid(), "VmRSS");
  s->mem.kib_per_agent =
      (double)(s->mem.rss_after_kib - s->mem.rss_before_kib) / (double)s->reg.registered;
  if (s->pid2) {
    s->mem.rss_after2_kib = pl_bench_proc_kib(s->pid2, "VmRSS");
    s->mem.hwm2_kib = pl_bench_proc_kib(s->pid2, "VmHWM");
    s->mem.anon_after2_kib = pl_bench_proc_file_kib(s->pid2, "smaps_rollup", "Anonymous");
    s->mem.kib_per_agent2 =
        (double)(s->mem.rss_after2_kib - s->mem.rss_before2_kib) / (double)s->reg.registered;
  }
  fprintf(stderr, "rdv_scale: registered %zu in %.1f s; %.1f KiB per agent\n", s->reg.registered,
          s->reg.seconds, s->mem.kib_per_agent);
  if ((rv = sync_point(s, 2)) != 0)
    return rv;

  if (s->pairs) {
    fprintf(stderr, "rdv_scale: %zu pairings, %zu at a time\n", s->pairs, s->pair_window);
    pair_phase(s, s->pairs, &s->pair_idle, 3);
    if ((rv = pl_scale_wait(s)) != 0)
      return rv;
    pair_result(s, &s->pair_idle);
  }
  if (s->extra) {
    fprintf(stderr, "rdv_scale: %zu pairings while %zu more agents register\n", s->pairs, s->extra);
    pair_phase(s, s->pairs, &s->pair_busy, 4);
    if ((rv = register_phase(s, s->n + s->extra, &s->churn)) != 0)
      return rv;
    pair_result(s, &s->pair_busy);
  }
  if ((rv = sync_point(s, 3)) != 0)
    return rv;
  if (s->has_udp) {
    fprintf(stderr, "rdv_scale: STUN for %.0f s\n", s->udp_seconds);
    if ((rv = pl_scale_stun(s, &s->stun)) != 0)
      fprintf(stderr, "rdv_scale: STUN: %s\n", pl_strerror(rv));
    fprintf(stderr, "rdv_scale: relay for %.0f s\n", s->udp_seconds);
    if ((rv = pl_scale_relay(s, &s->relay)) != 0)
      fprintf(stderr, "rdv_scale: relay: %s\n", pl_strerror(rv));
  }
  return 0;
}

int main(int argc, char **argv) {
  static scale s = {
      .n = 1000,
      .network_size = 8,
      .window = 64,
      .pairs = 1000,
      .pair_window = 4,
      .udp_seconds = 3,
      .phase_timeout_ms = 600000,
      .client = -1,
  };
  const char *json = NULL;
  if (parse_args(argc, argv, &s, &json) != 0)
    return 2;
  size_t total = s.n + s.extra;
  if (raise_fd_limit(total + 256) != 0 || pl_bench_crypto_init() != 0)
    return 1;
  s.loop = uv_default_loop();
  uv_timer_init(s.loop, &s.deadline);
  s.deadline.data = &s;
  s.ids = calloc(total, sizeof *s.ids);
  s.agents = calloc(total, sizeof *s.agents);
  s.pairings = calloc(2 * s.pairs + 1, sizeof *s.pairings);
  size_t nets = s.network_size ? total / s.network_size + 1 : 0;
  s.networks = calloc(nets + 1, sizeof *s.networks);
  if (!s.ids || !s.agents || !s.pairings || !s.networks ||
      pl_bench_samples_init(&s.reg_lat, total) != 0 ||
      pl_bench_samples_init(&s.pair_lat, 2 * s.pairs + 1) != 0)
    return 1;
  for (size_t i = 0; i < nets; i++)
    if (s.client >= 0)
      snprintf(s.networks[i], sizeof s.networks[i], "scale%d-%zu", s.client, i);
    else
      snprintf(s.networks[i], sizeof s.networks[i], "scale-%zu", i);
  /* Every JOINED the first N owe each other: m*(m-1) in a network of m. */
  for (size_t i = 0; s.network_size && i < s.n; i += s.network_size) {
    uint64_t m = s.n - i < s.network_size ? s.n - i : s.network_size;
    s.expect_joined += m * (m - 1);
  }
  uint64_t t = pl_bench_now_ns();
  if (pl_bench_identity_make(s.ids, total) != 0)
    return 1;
  fprintf(stderr, "rdv_scale: %zu P-256 keys in %.1f s\n", total,
          (double)(pl_bench_now_ns() - t) / 1e9);
  int rv = run(&s);
  if (rv != 0)
    fprintf(stderr, "rdv_scale: stopped: %s\n", pl_strerror(rv));
  pl_scale_report(stdout, &s);
  if (json && pl_scale_report_json(json, &s) != 0)
    fprintf(stderr, "rdv_scale: --json %s: cannot write\n", json);
  if (rv == 0)
    pl_scale_close_all(&s);
  /* The crowd's departures are the rendezvous's to process; we do not wait for them. */
  return rv == 0 && s.failed == 0 ? 0 : 1;
}
