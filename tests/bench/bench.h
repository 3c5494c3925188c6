#ifndef PEERLINK_TESTS_BENCH_BENCH_H
#define PEERLINK_TESTS_BENCH_BENCH_H

/* rdv_load: a control-plane load generator built on the project's own gRPC client (rpc.h), one
 * libuv loop. Each phase starts its calls, then runs the loop until its own completion flag is
 * set or a deadline passes, so phases run one after another and never overlap. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "control/rpc/rpc.h"

#define PL_BENCH_MAX_KS 8
#define PL_BENCH_MAX_REPS 15

typedef struct pl_bench {
  uv_loop_t *loop;
  uv_timer_t deadline;
  int timed_out;

  /* Targets (HOST:PORT) and the pids whose RSS and CPU time are read (0: not read). */
  const char *rendezvous, *agent, *ref;
  int rendezvous_pid, agent_pid, ref_pid;

  size_t agents;       /* synthetic agents registered in the registration phase */
  size_t network_size; /* ...in networks of this many (0: all in one) */
  const char *network; /* the agent's network, which the fan-out's new agents join */
  size_t channels;     /* channels they are spread over */
  size_t reg_window;   /* registrations in flight at once */
  size_t probes;       /* then registered one at a time, for the unloaded latency */
  size_t calls;        /* unary calls per run */
  size_t reps;         /* runs per concurrency level and server, taking turns */
  size_t ks[PL_BENCH_MAX_KS], n_ks;
  size_t watchers; /* WatchEvents streams in the fan-out phase */
  size_t rounds;   /* events triggered in the fan-out phase */
  uint64_t phase_timeout_ms;
} pl_bench;

/* Latency samples in nanoseconds; percentiles sort them in place. */
typedef struct pl_bench_samples {
  uint64_t *ns;
  size_t n, cap;
} pl_bench_samples;

int pl_bench_samples_init(pl_bench_samples *s, size_t cap);  /* 0 or PL_ERR_NOMEM */
void pl_bench_samples_add(pl_bench_samples *s, uint64_t ns); /* dropped when full */
/* Nearest-rank percentile (0 < p <= 100) in microseconds; 0 when there are no samples. */
double pl_bench_samples_pct_us(pl_bench_samples *s, double p);
void pl_bench_samples_free(pl_bench_samples *s);

uint64_t pl_bench_now_ns(void);
/* A "Vm..." line of /proc/PID/status in KiB ("VmRSS", "VmHWM": peak RSS), or -1.
 * A small blocking read: fine between phases. */
long pl_bench_proc_kib(int pid, const char *field);
/* The same from another /proc/PID file of "Key: value kB" lines ("smaps_rollup"). */
long pl_bench_proc_file_kib(int pid, const char *file, const char *field);
/* A decimal in [min, max] (command-line flags). Returns 0 or PL_ERR_INVALID. */
int pl_bench_parse_size(const char *s, size_t min, size_t max, size_t *out);
/* CPU time (user + system, all threads) `pid` has used, in seconds, or -1. */
double pl_bench_proc_cpu_s(int pid);

/* Runs the loop until *done is nonzero or timeout_ms passes. Returns 0 or PL_ERR_TIMEOUT. */
int pl_bench_wait(pl_bench *b, const int *done, uint64_t timeout_ms);

/* Results, printed as a table and written as JSON by report.c. */
typedef struct pl_bench_lat {
  double p50_us, p99_us, max_us;
  size_t n;
} pl_bench_lat;
void pl_bench_lat_from(pl_bench_lat *lat, pl_bench_samples *s);

typedef struct pl_bench_reg_result {
  size_t agents, connections, errors;
  double keygen_s, register_s, drain_s; /* drain: until every registry change was delivered */
  size_t changes;                       /* registry changes received in all */
  double cpu_s;                         /* rendezvous CPU until drained, or -1 */
  pl_bench_lat lat, probe_lat;
  long rss_before_kib, rss_after_kib, rss_peak_kib;
} pl_bench_reg_result;

typedef struct pl_bench_unary_result {
  size_t k, calls, errors;
  double seconds, calls_per_s;
  double cpu_us_per_call; /* the server's CPU, all runs; -1 when its pid is unknown */
  pl_bench_lat lat;
} pl_bench_unary_result;

typedef struct pl_bench_fanout_result {
  size_t watchers, rounds, errors;
  pl_bench_lat first, all; /* trigger → first watcher, trigger → every watcher, over rounds */
  long rss_before_kib, rss_after_kib;
} pl_bench_fanout_result;

typedef struct pl_bench_results pl_bench_results;
struct pl_bench_results {
  pl_bench_fanout_result fanout;
  pl_bench_unary_result unary_agent[PL_BENCH_MAX_KS], unary_ref[PL_BENCH_MAX_KS];
  size_t n_unary;
  pl_bench_reg_result reg;
  int fanout_ran, unary_ran, reg_ran; /* a phase whose target was not given is skipped */
  int fanout_ok, unary_ok, reg_ok;
};

/* Phases. Each returns 0, PL_ERR_TIMEOUT, PL_ERR_NOMEM, PL_ERR_STATE (a call failed: see
 * stderr) or PL_ERR_CRYPTO (key generation). After PL_ERR_TIMEOUT calls are still in flight and
 * point at the phase's state: do not run the loop again (rdv_load exits). */
int pl_bench_fanout(pl_bench *b, pl_bench_fanout_result *res);
/* GetStatus on b->agent and, taking turns with it, on b->ref when set. */
int pl_bench_unary(pl_bench *b, pl_bench_results *r);
int pl_bench_register(pl_bench *b, pl_bench_reg_result *res);

void pl_bench_report_table(FILE *f, const pl_bench *b, const pl_bench_results *r);
int pl_bench_report_json(const char *path, const pl_bench *b, const pl_bench_results *r);

#endif
