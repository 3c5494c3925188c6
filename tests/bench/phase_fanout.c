/* Event fan-out: M WatchEvents streams on one agent, then a new agent registers with the
 * agent's rendezvous. The time from opening that Register stream until every watcher has the
 * "joined" event covers the whole path: registration (with its challenge round trip), the
 * rendezvous's broadcast, the agent's registration stream, its publish to M streams. Repeated
 * for a few rounds, one new agent each. */
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/bench/bench.h"
#include "tests/bench/synth_agent.h"

#define TRIGGER_PORT_BASE 40000

typedef struct fanout fanout;

typedef struct watcher {
  fanout *f;
  pl_rpc_client_call *call;
  int ready;
  size_t seen_round;
} watcher;

typedef struct trigger {
  fanout *f;
  pl_bench_agent ag;
} trigger;

struct fanout {
  watcher *watchers;
  trigger *triggers;
  size_t m, ready, outstanding, errors;
  int registered; /* the agent reported RENDEZVOUS_STATE_REGISTERED */
  int stopping;
  int wake; /* the condition the loop waits for */

  size_t round; /* 1-based; 0 before the first */
  const char *round_id;
  uint64_t t0, t_first;
  size_t got;
  int round_done;
  pl_bench_samples first, all;
};

static void update(fanout *f) {
  if (f->errors)
    f->wake = 1;
  else if (f->stopping)
    f->wake = f->outstanding == 0;
  else if (f->round == 0)
    f->wake = f->ready == f->m && f->registered;
  else
    f->wake = f->round_done;
}

static void watcher_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  watcher *w = arg;
  fanout *f = w->f;
  const Peerlink__V1__Event *ev = ((const Peerlink__V1__WatchEventsResponse *)msg)->event;
  (void)call;
  if (!ev)
    return;
  /* include_current makes the state event come first: it tells us the stream is open. */
  if (!w->ready) {
    w->ready = 1;
    f->ready++;
  }
  if (ev->kind_case == PEERLINK__V1__EVENT__KIND_RENDEZVOUS &&
      ev->rendezvous->state == PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_REGISTERED)
    f->registered = 1;
  if (ev->kind_case == PEERLINK__V1__EVENT__KIND_PEER_LIST && ev->peer_list->joined &&
      ev->peer_list->peer && f->round_id && w->seen_round != f->round &&
      strcmp(ev->peer_list->peer->id, f->round_id) == 0) {
    uint64_t now = pl_bench_now_ns();
    w->seen_round = f->round;
    if (f->got++ == 0)
      f->t_first = now;
    if (f->got == f->m) {
      pl_bench_samples_add(&f->first, f->t_first - f->t0);
      pl_bench_samples_add(&f->all, now - f->t0);
      f->round_done = 1;
    }
  }
  update(f);
}

static void stream_ended(fanout *f, pl_rpc_status code, const char *message) {
  if (!f->stopping && f->errors++ == 0)
    fprintf(stderr, "rdv_load: fan-out stream ended: %s: %s\n", pl_rpc_status_name(code), message);
  f->outstanding--;
  update(f);
}

static void watcher_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                           void *arg) {
  watcher *w = arg;
  (void)call;
  w->call = NULL;
  stream_ended(w->f, code, message);
}

static void trigger_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  trigger *t = arg;
  const Peerlink__V1__RegisterResponse *resp = (const Peerlink__V1__RegisterResponse *)msg;
  (void)call;
  if (resp->msg_case != PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE)
    return;
  int rv = pl_bench_agent_answer(&t->ag, resp->challenge);
  if (rv != 0 && t->f->errors++ == 0)
    fprintf(stderr, "rdv_load: fan-out: cannot answer the challenge: %s\n", pl_strerror(rv));
  update(t->f);
}

static void trigger_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                           void *arg) {
  trigger *t = arg;
  (void)call;
  t->ag.call = NULL;
  stream_ended(t->f, code, message);
}

static const pl_rpc_client_callbacks watcher_cb = {watcher_message, watcher_status};
static const pl_rpc_client_callbacks trigger_cb = {trigger_message, trigger_status};

static int start_watchers(fanout *f, pl_rpc_channel *ch) {
  Peerlink__V1__WatchEventsRequest req = PEERLINK__V1__WATCH_EVENTS_REQUEST__INIT;
  req.include_current = 1;
  for (size_t i = 0; i < f->m; i++) {
    f->watchers[i].f = f;
    int rv = pl_rpc_unary(&f->watchers[i].call, ch, "/peerlink.v1.Agent/WatchEvents", &req.base,
                          &peerlink__v1__watch_events_response__descriptor, &watcher_cb,
                          &f->watchers[i], 0);
    if (rv != 0)
      return rv;
    f->outstanding++;
  }
  return 0;
}

static int run_rounds(pl_bench *b, fanout *f, pl_rpc_channel *rdv, pl_bench_identity *ids) {
  for (size_t r = 1; r <= b->rounds; r++) {
    trigger *t = &f->triggers[r - 1];
    t->ag.ident = &ids[r - 1];
    t->ag.port = (uint16_t)(TRIGGER_PORT_BASE + r);
    snprintf(t->ag.name, sizeof t->ag.name, "bench-fanout-%zu", r);
    t->ag.network = b->network; /* the agent hears only of its own network */
    f->round = r;
    f->round_id = ids[r - 1].id;
    f->got = 0;
    f->round_done = 0;
    update(f);
    t->f = f;
    f->t0 = pl_bench_now_ns();
    int rv = pl_bench_agent_start(&t->ag, rdv, &trigger_cb, t);
    if (t->ag.call)
      f->outstanding++;
    if (rv != 0)
      return rv;
    if ((rv = pl_bench_wait(b, &f->wake, b->phase_timeout_ms)) != 0)
      return rv;
    if (f->errors)
      return PL_ERR_STATE;
  }
  return 0;
}

/* On an error return calls may still point at `f`: it is left for the process exit. */
int pl_bench_fanout(pl_bench *b, pl_bench_fanout_result *res) {
  fanout *f = calloc(1, sizeof *f);
  pl_bench_identity *ids = calloc(b->rounds, sizeof *ids);
  pl_rpc_channel *agent = NULL, *rdv = NULL;
  int rv = PL_ERR_NOMEM;

  memset(res, 0, sizeof *res);
  res->watchers = b->watchers;
  if (!f || !ids)
    return PL_ERR_NOMEM;
  f->m = b->watchers;
  f->watchers = calloc(f->m, sizeof *f->watchers);
  f->triggers = calloc(b->rounds, sizeof *f->triggers);
  if (!f->watchers || !f->triggers || pl_bench_samples_init(&f->first, b->rounds) != 0 ||
      pl_bench_samples_init(&f->all, b->rounds) != 0)
    return PL_ERR_NOMEM;
  if ((rv = pl_bench_identity_make(ids, b->rounds)) != 0)
    return rv;
  if ((rv = pl_rpc_channel_new(&agent, b->loop, b->agent, NULL)) != 0 ||
      (rv = pl_rpc_channel_new(&rdv, b->loop, b->rendezvous, NULL)) != 0)
    return rv;

  res->rss_before_kib = pl_bench_proc_kib(b->agent_pid, "VmRSS");
  if ((rv = start_watchers(f, agent)) != 0)
    return rv;
  /* Every stream open and the agent registered, or the first round would time the set-up. */
  update(f);
  if ((rv = pl_bench_wait(b, &f->wake, b->phase_timeout_ms)) != 0)
    return rv;
  if (f->errors)
    return PL_ERR_STATE;
  res->rss_after_kib = pl_bench_proc_kib(b->agent_pid, "VmRSS");

  rv = run_rounds(b, f, rdv, ids);
  res->rounds = f->all.n;
  res->errors = f->errors;
  pl_bench_lat_from(&res->first, &f->first);
  pl_bench_lat_from(&res->all, &f->all);
  if (rv != 0)
    return rv;

  /* The trigger agents leave too; the registration phase counts only its own agents, so it does
   * not matter when the rendezvous gets to that. */
  f->stopping = 1;
  for (size_t i = 0; i < f->m; i++)
    if (f->watchers[i].call)
      pl_rpc_client_call_cancel(f->watchers[i].call);
  for (size_t r = 0; r < b->rounds; r++)
    if (f->triggers[r].ag.call)
      pl_rpc_client_call_cancel(f->triggers[r].ag.call);
  update(f);
  if ((rv = pl_bench_wait(b, &f->wake, b->phase_timeout_ms)) != 0)
    return rv;
  pl_rpc_channel_free(agent);
  pl_rpc_channel_free(rdv);
  pl_bench_samples_free(&f->first);
  pl_bench_samples_free(&f->all);
  free(f->watchers);
  free(f->triggers);
  free(f);
  free(ids);
  return 0;
}
