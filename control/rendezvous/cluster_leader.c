/* --redis, the leader's side: every instance's agents (this one's too) are Register streams in
 * this instance's registry whose output is a sink back over Redis to their front, so the
 * registry core, the relay and execute.c treat them exactly as local ones. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/cluster_int.h"

/* Instances with agents here whose liveness one check looks at. */
#define CHECK_MAX 256

typedef struct proxy {
  pl_rdv__stream st; /* st.sink is proxy_sink, st.sink_arg this */
  pl_rdv_cluster *c;
  pl_rdv_idmap_node node;
  char instance[PL_RDV_INSTANCE_HEX + 1];
  uint64_t serial;
  char key[PL_RDV_INSTANCE_HEX + 1 + 16 + 1]; /* "INSTANCE/SERIAL" */
  char peer[96];                              /* the agent's address as its front saw it */
} proxy;

static proxy *proxy_of(pl_rdv_idmap_node *n) {
  return n ? (proxy *)((char *)n - offsetof(proxy, node)) : NULL;
}

static void proxy_key(char *out, size_t cap, const char *instance, uint64_t serial) {
  snprintf(out, cap, "%s/%016" PRIx64, instance, serial);
}

/* --- the sink: a remote stream's output goes to its front ----------------------------------- */

static int sink_send(pl_rdv__stream *st, const Peerlink__V1__RegisterResponse *resp) {
  proxy *p = st->sink_arg;
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__Output o = PEERLINK__CLUSTER__V1__OUTPUT__INIT;
  o.stream = p->serial;
  o.response = (Peerlink__V1__RegisterResponse *)resp;
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_OUTPUT;
  m.output = &o;
  return pl_rdv__cluster_send(p->c, p->instance, &m);
}

static void sink_finish(pl_rdv__stream *st, pl_rpc_status code, const char *msg) {
  proxy *p = st->sink_arg;
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__End e = PEERLINK__CLUSTER__V1__END__INIT;
  e.stream = p->serial;
  e.code = (int32_t)code;
  e.message = (char *)(msg ? msg : "");
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_END;
  m.end = &e;
  int rv = pl_rdv__cluster_send(p->c, p->instance, &m);
  if (rv != 0)
    pl_log(PL_LOG_WARN, "end_not_sent", "instance=%s stream=%016" PRIx64 " error=\"%s\"",
           p->instance, p->serial, pl_strerror(rv));
}

static const char *sink_peer(pl_rdv__stream *st) {
  return ((proxy *)st->sink_arg)->peer;
}

/* The queue that can fill is the front's: it ends its stream when it does. */
static void sink_backlog(pl_rdv__stream *st, size_t *pending, size_t *limit) {
  (void)st;
  *pending = 0;
  *limit = 0;
}

static void sink_grow(pl_rdv__stream *st, size_t more) {
  proxy *p = st->sink_arg;
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__Grow g = PEERLINK__CLUSTER__V1__GROW__INIT;
  if (more == 0)
    return;
  g.stream = p->serial;
  g.more = more;
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_GROW;
  m.grow = &g;
  if (pl_rdv__cluster_send(p->c, p->instance, &m) != 0)
    pl_log(PL_LOG_WARN, "grow_not_sent", "instance=%s stream=%016" PRIx64, p->instance, p->serial);
}

static const pl_rdv__sink proxy_sink = {sink_send, sink_finish, sink_peer, sink_backlog, sink_grow};

/* --- remote agents ------------------------------------------------------------------------- */

static proxy *find(pl_rdv_cluster *c, const char *instance, uint64_t serial) {
  char key[sizeof((proxy *)0)->key];
  proxy_key(key, sizeof key, instance, serial);
  return proxy_of(pl_rdv_idmap_find(&c->proxies, key));
}

static void destroy(pl_rdv_cluster *c, proxy *p) {
  pl_rdv_idmap_remove(&c->proxies, &p->node);
  pl_rdv_agent_release(&p->st.agent);
  explicit_bzero(p, sizeof *p);
  free(p);
}

/* Tells a front its stream is unknown here: the agent registers again. */
static void refuse(pl_rdv_cluster *c, const char *instance, uint64_t serial, const char *why) {
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__End e = PEERLINK__CLUSTER__V1__END__INIT;
  e.stream = serial;
  e.code = PL_RPC_UNAVAILABLE;
  e.message = (char *)why;
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_END;
  m.end = &e;
  if (pl_rdv__cluster_send(c, instance, &m) != 0)
    pl_log(PL_LOG_WARN, "end_not_sent", "instance=%s stream=%016" PRIx64, instance, serial);
}

static void on_join(pl_rdv_cluster *c, const pl_rdv_cmsg *m) {
  const Peerlink__Cluster__V1__Join *j = m->join;
  if (find(c, m->from, j->stream))
    return; /* a repeat: the first one counts */
  proxy *p = calloc(1, sizeof *p);
  if (p == NULL) {
    refuse(c, m->from, j->stream, "rendezvous leader out of memory; register again");
    return;
  }
  p->c = c;
  p->serial = j->stream;
  memcpy(p->instance, m->from, sizeof p->instance);
  proxy_key(p->key, sizeof p->key, m->from, j->stream);
  snprintf(p->peer, sizeof p->peer, "%s", j->info->observed_address);
  p->st.svc = c->svc;
  p->st.sink = &proxy_sink;
  p->st.sink_arg = p;
  pl_rdv_agent_init(&p->st.agent, &p->st);
  pl_rdv_idmap_insert(&c->proxies, &p->node, p->key);
  pl_rdv__join(&p->st, j->info, j->network, j->public_key.data, j->public_key.len);
}

static void on_list(pl_rdv_cluster *c, const pl_rdv_cmsg *m) {
  const Peerlink__Cluster__V1__ListRequest *lr = m->list_request;
  pl_rdv_cmsg out = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__ListReply reply = PEERLINK__CLUSTER__V1__LIST_REPLY__INIT;
  Peerlink__V1__ListAgentsResponse resp = PEERLINK__V1__LIST_AGENTS_RESPONSE__INIT;
  char next[PL_RDV_TOKEN_LEN + 1], why[256] = "";
  pl_rpc_status code = pl_rdv__list(c->svc, lr->list, &resp, next, why, sizeof why);
  reply.request = lr->request;
  reply.code = (int32_t)code;
  reply.message = why;
  if (code == PL_RPC_OK)
    reply.list = &resp;
  out.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REPLY;
  out.list_reply = &reply;
  int rv = pl_rdv__cluster_send(c, m->from, &out);
  if (rv != 0)
    pl_log(PL_LOG_WARN, "list_reply_not_sent", "instance=%s error=\"%s\"", m->from,
           pl_strerror(rv));
  free(resp.agents);
}

void pl_rdv__leader_message(pl_rdv_cluster *c, const pl_rdv_cmsg *m) {
  uint64_t serial = 0;
  if (m->msg_case == PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_JOIN)
    serial = m->join->stream;
  else if (m->msg_case == PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_INPUT)
    serial = m->input->stream;
  else if (m->msg_case == PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LEAVE)
    serial = m->leave->stream;
  if (c->role != PL_RDV_CLUSTER_LEADER || m->leader_epoch != c->epoch) {
    /* Meant for a lead this instance does not hold (any more): the front's agent registers
     * again with whoever leads now. */
    if (m->msg_case == PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_JOIN ||
        m->msg_case == PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_INPUT)
      refuse(c, m->from, serial, "the shared registry moved; register again");
    return;
  }
  proxy *p;
  switch (m->msg_case) {
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_JOIN: on_join(c, m); break;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_INPUT:
    p = find(c, m->from, serial);
    if (p == NULL)
      refuse(c, m->from, serial, "the shared registry does not know this stream; register again");
    else
      pl_rdv__request(&p->st, m->input->request);
    break;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LEAVE:
    p = find(c, m->from, serial);
    if (p) {
      pl_rdv__unregister(&p->st);
      destroy(c, p);
    }
    break;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REQUEST: on_list(c, m); break;
  default: break;
  }
}

/* The proxies of `instance` (every one with NULL), collected: leaving changes the map. */
static proxy **collect(pl_rdv_cluster *c, const char *instance, size_t *pn) {
  size_t n = c->proxies.count, k = 0;
  *pn = 0;
  if (n == 0)
    return NULL;
  proxy **v = malloc(n * sizeof *v);
  if (v == NULL)
    return NULL;
  for (pl_rdv_idmap_node *x = pl_rdv_idmap_next(&c->proxies, NULL); x && k < n;
       x = pl_rdv_idmap_next(&c->proxies, x)) {
    proxy *p = proxy_of(x);
    if (instance == NULL || strcmp(p->instance, instance) == 0)
      v[k++] = p;
  }
  *pn = k;
  return v;
}

void pl_rdv__leader_sweep(pl_rdv_cluster *c, const char *id) {
  size_t n;
  proxy **v = collect(c, id, &n);
  if (n == 0) {
    free(v);
    return;
  }
  pl_log(PL_LOG_WARN, "instance_gone", "instance=%s agents=%zu", id, n);
  for (size_t i = 0; i < n; i++) {
    /* Its front is gone: nothing to tell it, only the agents that saw these. */
    v[i]->st.finished = 1;
    pl_rdv__unregister(&v[i]->st);
    destroy(c, v[i]);
  }
  free(v);
}

void pl_rdv__leader_drop_all(pl_rdv_cluster *c) {
  pl_rdv_actions scratch;
  size_t n;
  proxy **v = collect(c, NULL, &n);
  if (n > 0 && v == NULL) {
    pl_log(PL_LOG_ERROR, "lead_drop_failed", "reason=\"out of memory\" agents=%zu",
           c->proxies.count);
    return;
  }
  pl_rdv_actions_init(&scratch);
  /* Their fronts end their streams themselves once they hear of the new lead: the leaves'
   * notifications would only be noise for registrations that are all going. */
  for (size_t i = 0; i < n; i++) {
    pl_rdv_registry_leave(&c->svc->registry, &v[i]->st.agent, pl_clock_unix_ms(), &scratch);
    pl_rdv_actions_clear(&scratch);
    destroy(c, v[i]);
  }
  pl_rdv_actions_free(&scratch);
  free(v);
  if (n > 0)
    pl_log(PL_LOG_INFO, "lead_dropped", "agents=%zu", n);
}

/* --- liveness of the instances whose agents are here ---------------------------------------- */

typedef struct check_ctx {
  pl_rdv_cluster *c;
  uint64_t epoch;
  char id[PL_RDV_INSTANCE_HEX + 1];
} check_ctx;

static void on_checked(void *arg, const redisReply *reply, const char *err) {
  check_ctx *x = arg;
  pl_rdv_cluster *c = x->c;
  (void)err;
  if (!c->closing && reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0 &&
      c->role == PL_RDV_CLUSTER_LEADER && c->epoch == x->epoch)
    pl_rdv__leader_sweep(c, x->id);
  free(x);
}

void pl_rdv__leader_check_instances(pl_rdv_cluster *c) {
  char seen[CHECK_MAX][PL_RDV_INSTANCE_HEX + 1], key[160];
  size_t n = 0;
  for (pl_rdv_idmap_node *x = pl_rdv_idmap_next(&c->proxies, NULL); x && n < CHECK_MAX;
       x = pl_rdv_idmap_next(&c->proxies, x)) {
    proxy *p = proxy_of(x);
    size_t i = 0;
    while (i < n && strcmp(seen[i], p->instance) != 0)
      i++;
    if (i == n)
      memcpy(seen[n++], p->instance, sizeof seen[0]);
  }
  for (size_t i = 0; i < n; i++) {
    check_ctx *x = malloc(sizeof *x);
    if (x == NULL)
      return;
    x->c = c;
    x->epoch = c->epoch;
    memcpy(x->id, seen[i], sizeof x->id);
    snprintf(key, sizeof key, "%s:instance:%.32s", c->prefix, seen[i]);
    const char *argv[] = {"EXISTS", key};
    if (pl_redis_command(c->redis, on_checked, x, 2, argv, NULL) != 0)
      free(x);
  }
}
