/* Registration: N synthetic agents register (Hello, Challenge, signed Hello, Registered) over a
 * few channels with at most `reg_window` registrations outstanding, so the latency is the
 * rendezvous's service time while its registry grows, not the length of a queue we built ourselves.
 * They register in networks of `network_size` (0: one network for all): a newcomer costs the
 * rendezvous one "joined" per member already there plus the snapshot it sends the newcomer, so a
 * network of m means m*(m-1) messages (with one network, N*(N-1): the old broadcast's cost). The
 * phase ends when all of them arrived (drained), and only then is the rendezvous's RSS read, with
 * no write queue still holding memory. rdv_scale measures the same with one connection each. */
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "peerlink/v1/rendezvous.pb-c.h"
#include "tests/bench/bench.h"
#include "tests/bench/synth_agent.h"

#define NAME_PREFIX "bench-reg-"
#define PORT_BASE 20000
#define MAX_CONNECTIONS 64

typedef struct reg reg;

typedef struct ragent {
  reg *r;
  pl_bench_agent ag;
  uint64_t t0;
  int registered;
} ragent;

struct reg {
  pl_bench *b;
  pl_rpc_channel **ch;
  ragent *agents;
  pl_bench_identity *ids;
  char (*networks)[32];
  size_t n, next, inflight, registered, outstanding, errors;
  size_t limit, window; /* launch agents [0, limit), window at a time */
  uint64_t changes, expect_changes;
  /* 1: until the first n registered, 2: until drained, 3: until every stream ended,
   * 4: until the probes registered */
  int stage;
  int wake;
  pl_bench_samples lat, probe_lat;
  /* Distinct client ports the rendezvous saw: how many TCP connections the channels used. */
  unsigned ports[MAX_CONNECTIONS];
  size_t n_ports;
};

static void update(reg *r) {
  if (r->errors && r->stage != 3)
    r->wake = 1;
  else if (r->stage == 1 || r->stage == 4)
    r->wake = r->registered == r->limit;
  else if (r->stage == 2)
    r->wake = r->changes == r->expect_changes;
  else
    r->wake = r->outstanding == 0;
}

static void note_port(reg *r, const char *observed) {
  const char *colon = observed ? strrchr(observed, ':') : NULL;
  unsigned port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
  for (size_t i = 0; i < r->n_ports; i++)
    if (r->ports[i] == port)
      return;
  if (r->n_ports < MAX_CONNECTIONS)
    r->ports[r->n_ports++] = port;
}

static const pl_rpc_client_callbacks callbacks;

static void launch_more(reg *r) {
  while (r->inflight < r->window && r->next < r->limit && !r->errors) {
    size_t i = r->next++;
    ragent *a = &r->agents[i];
    a->r = r;
    a->ag.ident = &r->ids[i];
    a->ag.port = (uint16_t)(PORT_BASE + i % 20000);
    snprintf(a->ag.name, sizeof a->ag.name, NAME_PREFIX "%zu", i);
    a->ag.network = r->networks[r->b->network_size ? i / r->b->network_size : 0];
    a->t0 = pl_bench_now_ns();
    int rv = pl_bench_agent_start(&a->ag, r->ch[i % r->b->channels], &callbacks, a);
    if (a->ag.call)
      r->outstanding++;
    if (rv != 0 && r->errors++ == 0)
      fprintf(stderr, "rdv_load: Register: cannot start: %s\n", pl_strerror(rv));
    r->inflight++;
  }
}

static void on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  ragent *a = arg;
  reg *r = a->r;
  const Peerlink__V1__RegisterResponse *resp = (const Peerlink__V1__RegisterResponse *)msg;
  (void)call;
  if (resp->msg_case == PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE) {
    int rv = pl_bench_agent_answer(&a->ag, resp->challenge);
    if (rv != 0 && r->errors++ == 0)
      fprintf(stderr, "rdv_load: Register: cannot answer the challenge: %s\n", pl_strerror(rv));
  } else if (resp->msg_case == PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED && !a->registered) {
    pl_bench_samples_add((size_t)(a - r->agents) < r->n ? &r->lat : &r->probe_lat,
                         pl_bench_now_ns() - a->t0);
    a->registered = 1;
    r->registered++;
    r->inflight--;
    note_port(r, resp->registered->self ? resp->registered->self->observed_address : NULL);
    launch_more(r);
  } else if (resp->msg_case == PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE &&
             resp->change->kind == PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED &&
             resp->change->agent &&
             strncmp(resp->change->agent->name, NAME_PREFIX, strlen(NAME_PREFIX)) == 0) {
    /* Only our own agents count: whoever else is registered does not change the total. */
    r->changes++;
  }
  update(r);
}

static void on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                      void *arg) {
  ragent *a = arg;
  reg *r = a->r;
  (void)call;
  a->ag.call = NULL;
  if (r->stage != 3 && r->errors++ == 0)
    fprintf(stderr, "rdv_load: Register stream ended: %s: %s\n", pl_rpc_status_name(code), message);
  r->outstanding--;
  update(r);
}

static const pl_rpc_client_callbacks callbacks = {on_message, on_status};

/* Runs the loop until update() says the current stage is over. */
static int stage(reg *r, int s) {
  r->stage = s;
  r->wake = 0;
  update(r);
  int rv = pl_bench_wait(r->b, &r->wake, r->b->phase_timeout_ms);
  if (rv == 0 && r->errors && s != 3)
    rv = PL_ERR_STATE;
  return rv;
}

/* On an error return calls may still point at `r`: it is left for the process exit. */
int pl_bench_register(pl_bench *b, pl_bench_reg_result *res) {
  reg *r = calloc(1, sizeof *r);
  int rv = PL_ERR_NOMEM;
  memset(res, 0, sizeof *res);
  res->agents = b->agents;
  if (!r)
    return PL_ERR_NOMEM;
  r->b = b;
  r->n = b->agents;
  size_t k = b->network_size ? b->network_size : r->n, nets = (r->n + b->probes) / k + 1;
  for (size_t i = 0; i < r->n; i += k) {
    uint64_t m = r->n - i < k ? r->n - i : k;
    r->expect_changes += m * (m - 1);
  }
  r->networks = calloc(nets, sizeof *r->networks);
  r->ch = calloc(b->channels, sizeof *r->ch);
  r->agents = calloc(r->n + b->probes, sizeof *r->agents);
  r->ids = calloc(r->n + b->probes, sizeof *r->ids);
  for (size_t i = 0; r->networks && i < nets; i++)
    snprintf(r->networks[i], sizeof r->networks[i], "bench-reg-%zu", i);
  if (!r->networks || !r->ch || !r->agents || !r->ids ||
      pl_bench_samples_init(&r->lat, r->n) != 0 ||
      pl_bench_samples_init(&r->probe_lat, b->probes) != 0)
    return PL_ERR_NOMEM;

  uint64_t t = pl_bench_now_ns();
  if ((rv = pl_bench_identity_make(r->ids, r->n + b->probes)) != 0)
    return rv;
  res->keygen_s = (double)(pl_bench_now_ns() - t) / 1e9;
  for (size_t i = 0; i < b->channels; i++)
    if ((rv = pl_rpc_channel_new(&r->ch[i], b->loop, b->rendezvous, NULL)) != 0)
      return rv;

  res->rss_before_kib = pl_bench_proc_kib(b->rendezvous_pid, "VmRSS");
  double cpu0 = pl_bench_proc_cpu_s(b->rendezvous_pid);
  t = pl_bench_now_ns();
  r->limit = r->n;
  r->window = b->reg_window;
  launch_more(r);
  rv = stage(r, 1);
  res->register_s = (double)(pl_bench_now_ns() - t) / 1e9;
  if (rv == 0)
    rv = stage(r, 2);
  res->drain_s = (double)(pl_bench_now_ns() - t) / 1e9;
  res->cpu_s = cpu0 >= 0 ? pl_bench_proc_cpu_s(b->rendezvous_pid) - cpu0 : -1;
  res->rss_after_kib = pl_bench_proc_kib(b->rendezvous_pid, "VmRSS");
  res->rss_peak_kib = pl_bench_proc_kib(b->rendezvous_pid, "VmHWM");
  res->changes = r->changes;
  res->connections = r->n_ports;
  res->errors = r->errors;
  pl_bench_lat_from(&res->lat, &r->lat);
  if (rv != 0)
    return rv;

  r->limit = r->n + b->probes;
  r->window = 1;
  launch_more(r);
  rv = stage(r, 4);
  pl_bench_lat_from(&res->probe_lat, &r->probe_lat);
  if (rv != 0)
    return rv;

  /* Leave cleanly: cancelled streams report their status locally, without waiting for the
   * rendezvous to process N departures. */
  for (size_t i = 0; i < r->limit; i++)
    if (r->agents[i].ag.call)
      pl_rpc_client_call_cancel(r->agents[i].ag.call);
  if ((rv = stage(r, 3)) != 0)
    return rv;
  for (size_t i = 0; i < b->channels; i++)
    pl_rpc_channel_free(r->ch[i]);
  pl_bench_samples_free(&r->lat);
  pl_bench_samples_free(&r->probe_lat);
  free(r->ch);
  free(r->agents);
  free(r->ids);
  free(r->networks);
  free(r);
  return 0;
}
