/* Unary GetStatus throughput and latency with K calls in flight on one channel: a closed loop,
 * each finished call starts the next, so the server is never idle and never flooded. The same
 * code drives the agent and the grpcio reference server, so only the server differs. */
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
  pl_bench_samples lat;
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
    pl_bench_samples_add(&run->lat, pl_bench_now_ns() - s->t0);
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

/* Runs `total` calls with `k` in flight. Returns 0, PL_ERR_NOMEM, PL_ERR_TIMEOUT. */
static int run_closed_loop(pl_bench *b, pl_rpc_channel *ch, size_t k, size_t total,
                           pl_bench_unary_result *res) {
  unary_run run = {.ch = ch, .total = total};
  slot *slots = calloc(k, sizeof *slots);
  int rv = PL_ERR_NOMEM;
  if (!slots || pl_bench_samples_init(&run.lat, total) != 0)
    goto out;
  uint64_t t0 = pl_bench_now_ns();
  for (size_t i = 0; i < k && i < total; i++) {
    slots[i].run = &run;
    start_one(&slots[i]);
  }
  rv = pl_bench_wait(b, &run.done, b->phase_timeout_ms);
  if (res) {
    res->k = k;
    res->calls = total;
    res->errors = run.errors + (run.total - run.finished);
    res->seconds = (double)(pl_bench_now_ns() - t0) / 1e9;
    res->calls_per_s = (double)run.lat.n / res->seconds;
    pl_bench_lat_from(&res->lat, &run.lat);
  }
  if (rv == 0 && run.errors)
    rv = PL_ERR_STATE;
out:
  /* After a timeout calls still point at the slots and `run`: leave them; the program exits. */
  if (rv != PL_ERR_TIMEOUT) {
    pl_bench_samples_free(&run.lat);
    free(slots);
  }
  return rv;
}

int pl_bench_unary(pl_bench *b, const char *target, pl_bench_unary_result *res, size_t *pn) {
  pl_rpc_channel *ch;
  int rv = pl_rpc_channel_new(&ch, b->loop, target, NULL);
  *pn = 0;
  if (rv != 0)
    return rv;
  /* Connection set-up and the server's first-call paths are not what we measure. */
  if ((rv = run_closed_loop(b, ch, WARMUP_K, WARMUP_CALLS, NULL)) != 0)
    goto out;
  for (size_t i = 0; i < b->n_ks; i++) {
    rv = run_closed_loop(b, ch, b->ks[i], b->calls, &res[i]);
    *pn = i + 1;
    if (rv != 0)
      break;
  }
out:
  if (rv != PL_ERR_TIMEOUT)
    pl_rpc_channel_free(ch);
  return rv;
}
