/* Unary GetStatus throughput and latency with K calls in flight on one channel: a closed loop,
 * each finished call starts the next, so the server is never idle and never flooded. The same
 * code drives the agent and the grpcio reference server, so only the server differs.
 *
 * On a shared 2-core machine a single run of either is noisy, so the two servers take turns
 * (agent, reference, agent, ...) for `reps` runs per K: drift hits both alike. calls/s is the
 * median run; latency percentiles are over every call of every run. */
#include <stdlib.h>

#include "control/common/err.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/bench/bench.h"

#define WARMUP_CALLS 500
#define WARMUP_K 8
#define CALL_TIMEOUT_MS 10000

typedef struct unary_run unary_run;

typedef struct slot {
  unary_run *run;
  uint64_t t0;
  int got;
} slot;

struct unary_run {
  pl_rpc_channel *ch;
  size_t total, started, finished, errors;
  int done;
  pl_bench_samples *lat;
};

static void start_one(slot *s);

static void on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  slot *s = arg;
  (void)call;
  (void)msg;
  s->got = 1;
}

static void on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                      void *arg) {
  slot *s = arg;
  unary_run *run = s->run;
  (void)call;
  if (code == PL_RPC_OK && s->got) {
    if (run->lat)
      pl_bench_samples_add(run->lat, pl_bench_now_ns() - s->t0);
  } else if (run->errors++ == 0) {
    fprintf(stderr, "rdv_load: GetStatus: %s: %s\n", pl_rpc_status_name(code), message);
  }
  if (++run->finished == run->total)
    run->done = 1;
  else if (run->started < run->total)
    start_one(s);
}

static const pl_rpc_client_callbacks callbacks = {on_message, on_status};

static void start_one(slot *s) {
  unary_run *run = s->run;
  Peerlink__V1__GetStatusRequest req = PEERLINK__V1__GET_STATUS_REQUEST__INIT;
  s->got = 0;
  run->started++;
  s->t0 = pl_bench_now_ns();
  if (pl_rpc_unary(NULL, run->ch, "/peerlink.v1.Agent/GetStatus", &req.base,
                   &peerlink__v1__get_status_response__descriptor, &callbacks, s,
                   CALL_TIMEOUT_MS) != 0) {
    /* No callback follows a failed start: account for the call here. */
    run->errors++;
    if (++run->finished == run->total)
      run->done = 1;
  }
}

/* Runs `total` calls with `k` in flight, adding latencies to `lat` (may be NULL) and the run
 * to *res's errors and seconds. Returns 0, PL_ERR_NOMEM, PL_ERR_TIMEOUT, PL_ERR_STATE. */
static int run_closed_loop(pl_bench *b, pl_rpc_channel *ch, size_t k, size_t total,
                           pl_bench_samples *lat, pl_bench_unary_result *res, double *prate) {
  unary_run run = {.ch = ch, .total = total, .lat = lat};
  slot *slots = calloc(k, sizeof *slots);
  if (!slots)
    return PL_ERR_NOMEM;
  uint64_t t0 = pl_bench_now_ns();
  for (size_t i = 0; i < k && i < total; i++) {
    slots[i].run = &run;
    start_one(&slots[i]);
  }
  int rv = pl_bench_wait(b, &run.done, b->phase_timeout_ms);
  /* After a timeout calls still point at the slots and `run`: leave them; the program exits. */
  if (rv == PL_ERR_TIMEOUT)
    return rv;
  free(slots);
  double seconds = (double)(pl_bench_now_ns() - t0) / 1e9;
  if (res) {
    res->errors += run.errors;
    res->seconds += seconds;
  }
  if (prate)
    *prate = (double)(total - run.errors) / seconds;
  return run.errors ? PL_ERR_STATE : 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One K: `reps` alternating runs on each channel (ch[1] may be NULL); pid[s] is the server's. */
static int run_k(pl_bench *b, pl_rpc_channel *ch[2], const int pid[2], size_t k,
                 pl_bench_unary_result *res[2]) {
  pl_bench_samples lat[2] = {{0}};
  double rates[2][PL_BENCH_MAX_REPS] = {{0}}, cpu[2] = {0, 0};
  int rv = 0;
  for (int s = 0; s < 2 && ch[s]; s++) {
    res[s]->k = k;
    res[s]->calls = b->calls * b->reps;
    if (pl_bench_samples_init(&lat[s], res[s]->calls) != 0)
      return PL_ERR_NOMEM;
  }
  for (size_t rep = 0; rep < b->reps && rv == 0; rep++) {
    for (int s = 0; s < 2 && ch[s] && rv == 0; s++) {
      double cpu0 = pl_bench_proc_cpu_s(pid[s]);
      rv = run_closed_loop(b, ch[s], k, b->calls, &lat[s], res[s], &rates[s][rep]);
      /* Each server's CPU per call does not depend on how much CPU the client took. */
      cpu[s] = cpu0 >= 0 && cpu[s] >= 0 ? cpu[s] + pl_bench_proc_cpu_s(pid[s]) - cpu0 : -1;
    }
  }
  if (rv == PL_ERR_TIMEOUT)
    return rv;
  for (int s = 0; s < 2 && ch[s]; s++) {
    qsort(rates[s], b->reps, sizeof rates[s][0], cmp_double);
    res[s]->calls_per_s = rv == 0 ? rates[s][b->reps / 2] : 0;
    res[s]->cpu_us_per_call = cpu[s] >= 0 ? cpu[s] * 1e6 / (double)res[s]->calls : -1;
    pl_bench_lat_from(&res[s]->lat, &lat[s]);
    pl_bench_samples_free(&lat[s]);
  }
  return rv;
}

int pl_bench_unary(pl_bench *b, pl_bench_results *r) {
  pl_rpc_channel *ch[2] = {NULL, NULL};
  const int pid[2] = {b->agent_pid, b->ref_pid};
  int rv;
  r->n_unary = 0;
  if ((rv = pl_rpc_channel_new(&ch[0], b->loop, b->agent, NULL)) != 0)
    return rv;
  if (b->ref && (rv = pl_rpc_channel_new(&ch[1], b->loop, b->ref, NULL)) != 0)
    return rv;
  /* Connection set-up and each server's first-call paths are not what we measure. */
  for (int s = 0; s < 2 && ch[s]; s++)
    if ((rv = run_closed_loop(b, ch[s], WARMUP_K, WARMUP_CALLS, NULL, NULL, NULL)) != 0)
      return rv;
  for (size_t i = 0; i < b->n_ks && rv == 0; i++) {
    pl_bench_unary_result *res[2] = {&r->unary_agent[i], &r->unary_ref[i]};
    rv = run_k(b, ch, pid, b->ks[i], res);
    r->n_unary = i + 1;
  }
  if (rv == PL_ERR_TIMEOUT)
    return rv;
  for (int s = 0; s < 2; s++)
    if (ch[s])
      pl_rpc_channel_free(ch[s]);
  return rv;
}
