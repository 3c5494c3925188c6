/* --redis, this instance's side of its own streams: after the Hello proved itself here, the
 * registration, every later request and ListAgents go to the leader; the leader's answers come
 * back here and go out on the stream. A stream the leader cannot be told about is ended
 * (UNAVAILABLE) rather than kept with a view nobody maintains. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/cluster_int.h"

/* The largest first view a leader may ask a stream's queue to make room for. */
#define GROW_MAX (1u << 20)

typedef struct pending_list {
  pl_rdv_idmap_node node;
  char key[17];
  pl_rpc_call *call;
  uint64_t started_us;
} pending_list;

static pl_rdv__stream *front_of(pl_rdv_idmap_node *n) {
  return n ? (pl_rdv__stream *)((char *)n - offsetof(pl_rdv__stream, front_node)) : NULL;
}

static pending_list *pending_of(pl_rdv_idmap_node *n) {
  return n ? (pending_list *)((char *)n - offsetof(pending_list, node)) : NULL;
}

static void serial_key(char out[17], uint64_t serial) {
  snprintf(out, 17, "%016" PRIx64, serial);
}

int pl_rdv__cluster_routes(const pl_rdv_service *svc) {
  return svc->cluster != NULL && svc->cluster->role != PL_RDV_CLUSTER_ISLAND;
}

static const char NO_LEADER_MSG[] =
    "the shared registry has no leader at the moment (an instance is taking over); register "
    "again";

void pl_rdv__cluster_join(pl_rdv__stream *st, const Peerlink__V1__AgentInfo *info,
                          const char *network, const uint8_t *public_key, size_t public_key_len) {
  pl_rdv_cluster *c = st->svc->cluster;
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__Join j = PEERLINK__CLUSTER__V1__JOIN__INIT;
  if (c->role == PL_RDV_CLUSTER_NO_LEADER) {
    pl_rdv__fail(st, PL_RPC_UNAVAILABLE, "%s", NO_LEADER_MSG);
    return;
  }
  uint64_t serial = ++c->next_serial;
  j.stream = serial;
  j.info = (Peerlink__V1__AgentInfo *)info;
  j.network = (char *)(network ? network : "");
  j.public_key.data = (uint8_t *)public_key;
  j.public_key.len = public_key_len;
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_JOIN;
  m.join = &j;
  int rv = pl_rdv__cluster_send(c, c->leader, &m);
  if (rv != 0) {
    pl_rdv__fail(st, PL_RPC_UNAVAILABLE,
                 "the shared registry cannot be reached (%s); register again", pl_strerror(rv));
    return;
  }
  serial_key(st->serial, serial);
  st->remote = 1;
  pl_rdv_idmap_insert(&c->fronts, &st->front_node, st->serial);
  pl_log(PL_LOG_DEBUG, "join_forwarded", "agent=%s stream=%s leader=%s", info->id, st->serial,
         c->leader);
}

void pl_rdv__cluster_input(pl_rdv__stream *st, const Peerlink__V1__RegisterRequest *req) {
  pl_rdv_cluster *c = st->svc->cluster;
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__Input in = PEERLINK__CLUSTER__V1__INPUT__INIT;
  int rv = PL_ERR_CLOSED;
  if (c) {
    in.stream = strtoull(st->serial, NULL, 16);
    in.request = (Peerlink__V1__RegisterRequest *)req;
    m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_INPUT;
    m.input = &in;
    rv = pl_rdv__cluster_send(c, c->leader, &m);
  }
  /* A request the registry never saw would leave the agent waiting for an answer: end the
   * stream, the agent registers again and asks again. */
  if (rv != 0)
    pl_rdv__fail(st, PL_RPC_UNAVAILABLE,
                 "the shared registry cannot be reached (%s); register again", pl_strerror(rv));
}

void pl_rdv__cluster_leave(pl_rdv__stream *st) {
  pl_rdv_cluster *c = st->svc->cluster;
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__Leave lv = PEERLINK__CLUSTER__V1__LEAVE__INIT;
  st->remote = 0;
  if (c == NULL)
    return;
  pl_rdv_idmap_remove(&c->fronts, &st->front_node);
  if (c->role != PL_RDV_CLUSTER_FOLLOWER && c->role != PL_RDV_CLUSTER_LEADER)
    return;
  lv.stream = strtoull(st->serial, NULL, 16);
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LEAVE;
  m.leave = &lv;
  /* Not sent: the leader loses the agent with this instance's key, or its lead, soon after. */
  int rv = pl_rdv__cluster_send(c, c->leader, &m);
  if (rv != 0)
    pl_log(PL_LOG_WARN, "leave_not_sent", "stream=%s leader=%s error=\"%s\"", st->serial, c->leader,
           pl_strerror(rv));
}

void pl_rdv__front_end_all(pl_rdv_cluster *c, const char *why) {
  size_t n = c->fronts.count, k = 0;
  if (n == 0)
    return;
  pl_rdv__stream **v = malloc(n * sizeof *v);
  if (v == NULL) {
    pl_log(PL_LOG_ERROR, "registry_moved", "reason=\"out of memory\" streams=%zu", n);
    return;
  }
  for (pl_rdv_idmap_node *x = pl_rdv_idmap_next(&c->fronts, NULL); x && k < n;
       x = pl_rdv_idmap_next(&c->fronts, x))
    v[k++] = front_of(x);
  pl_log(PL_LOG_INFO, "registry_moved", "streams=%zu reason=\"%s\"", k, why);
  for (size_t i = 0; i < k; i++)
    pl_rdv__fail(v[i], PL_RPC_UNAVAILABLE, "%s", why);
  free(v);
}

/* --- the leader's answers ------------------------------------------------------------------- */

static pl_rdv__stream *find_stream(pl_rdv_cluster *c, uint64_t serial) {
  char key[17];
  serial_key(key, serial);
  return front_of(pl_rdv_idmap_find(&c->fronts, key));
}

static void on_output(pl_rdv_cluster *c, Peerlink__Cluster__V1__Output *o) {
  pl_rdv__stream *st = find_stream(c, o->stream);
  Peerlink__V1__RegisterResponse *resp = o->response;
  if (st == NULL)
    return; /* ended here already: its Leave is on the way */
  if (resp->msg_case == PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED) {
    /* STUN is every instance's own: the agent asks the one it is connected to. */
    resp->registered->udp_port = c->svc->udp_port;
    resp->registered->udp_alt_port = c->svc->udp_alt_port;
    resp->registered->stun_tcp_port = c->svc->stun_tcp_port;
    if (resp->registered->self)
      pl_log(PL_LOG_INFO, "registered", "agent=%s name=\"%s\" stream=%s leader=%s",
             resp->registered->self->id, resp->registered->self->name, st->serial, c->leader);
  }
  int rv = pl_rdv__send(st, resp);
  if (rv == 0 || rv == PL_ERR_CLOSED)
    return;
  size_t pending, limit;
  pl_rdv__backlog(st, &pending, &limit);
  pl_log(PL_LOG_WARN, "stream_overflow", "stream=%s pending=%zu limit=%zu error=\"%s\"", st->serial,
         pending, limit, pl_strerror(rv));
  pl_rdv__fail(st, PL_RPC_RESOURCE_EXHAUSTED,
               "registry updates not read: %zu messages queued (the limit); register again for "
               "the full view",
               pending);
}

static void on_end(pl_rdv_cluster *c, Peerlink__Cluster__V1__End *e) {
  pl_rdv__stream *st = find_stream(c, e->stream);
  if (st == NULL)
    return;
  pl_rpc_status code = e->code > 0 && e->code <= 16 ? (pl_rpc_status)e->code : PL_RPC_UNKNOWN;
  pl_rdv__fail(st, code, "%s", e->message);
}

static void on_grow(pl_rdv_cluster *c, Peerlink__Cluster__V1__Grow *g) {
  pl_rdv__stream *st = find_stream(c, g->stream);
  if (st)
    pl_rdv__grow(st, g->more > GROW_MAX ? GROW_MAX : (size_t)g->more);
}

static pending_list *take_list(pl_rdv_cluster *c, pending_list *p) {
  pl_rdv_idmap_remove(&c->lists, &p->node);
  pl_rpc_call_set_data(p->call, NULL);
  return p;
}

static void on_list_reply(pl_rdv_cluster *c, Peerlink__Cluster__V1__ListReply *r) {
  char key[17];
  serial_key(key, r->request);
  pending_list *p = pending_of(pl_rdv_idmap_find(&c->lists, key));
  if (p == NULL)
    return; /* timed out or cancelled */
  pl_rpc_call *call = take_list(c, p)->call;
  free(p);
  if (r->code == 0)
    pl_rpc_call_reply(call, &r->list->base);
  else
    pl_rpc_call_finish(call, r->code <= 16 ? (pl_rpc_status)r->code : PL_RPC_UNKNOWN, "%s",
                       r->message);
}

void pl_rdv__front_message(pl_rdv_cluster *c, const pl_rdv_cmsg *cm) {
  pl_rdv_cmsg *m = (pl_rdv_cmsg *)cm; /* ours to adjust: parsed for this call */
  if ((c->role != PL_RDV_CLUSTER_FOLLOWER && c->role != PL_RDV_CLUSTER_LEADER) ||
      strcmp(m->from, c->leader) != 0 || m->leader_epoch != c->epoch) {
    pl_log(PL_LOG_DEBUG, "cluster_message_stale", "kind=%s from=%s", pl_rdv_cmsg_kind_name(m),
           m->from);
    return;
  }
  switch (m->msg_case) {
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_OUTPUT: on_output(c, m->output); break;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_END: on_end(c, m->end); break;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_GROW: on_grow(c, m->grow); break;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REPLY:
    on_list_reply(c, m->list_reply);
    break;
  default: break;
  }
}

/* --- ListAgents ----------------------------------------------------------------------------- */

int pl_rdv__cluster_list(pl_rdv_service *svc, pl_rpc_call *call,
                         const Peerlink__V1__ListAgentsRequest *req) {
  pl_rdv_cluster *c = svc->cluster;
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__ListRequest lr = PEERLINK__CLUSTER__V1__LIST_REQUEST__INIT;
  if (!pl_rdv__cluster_routes(svc))
    return 0;
  if (c->role == PL_RDV_CLUSTER_NO_LEADER) {
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "%s", NO_LEADER_MSG);
    return 1;
  }
  pending_list *p = calloc(1, sizeof *p);
  if (p == NULL) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return 1;
  }
  uint64_t n = ++c->next_request;
  serial_key(p->key, n);
  p->call = call;
  p->started_us = pl_clock_now_us();
  lr.request = n;
  lr.list = (Peerlink__V1__ListAgentsRequest *)req;
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REQUEST;
  m.list_request = &lr;
  int rv = pl_rdv__cluster_send(c, c->leader, &m);
  if (rv != 0) {
    free(p);
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "the shared registry cannot be reached (%s)",
                       pl_strerror(rv));
    return 1;
  }
  pl_rdv_idmap_insert(&c->lists, &p->node, p->key);
  pl_rpc_call_set_data(call, p);
  return 1;
}

void pl_rdv__cluster_list_done(pl_rdv_service *svc, pl_rpc_call *call) {
  pending_list *p = pl_rpc_call_data(call);
  if (p == NULL || svc->cluster == NULL)
    return;
  take_list(svc->cluster, p);
  free(p);
}

void pl_rdv__front_expire_lists(pl_rdv_cluster *c, int all) {
  uint64_t now = pl_clock_now_us();
  for (;;) {
    pending_list *late = NULL;
    for (pl_rdv_idmap_node *x = pl_rdv_idmap_next(&c->lists, NULL); x;
         x = pl_rdv_idmap_next(&c->lists, x)) {
      pending_list *p = pending_of(x);
      if (all || now - p->started_us >= (uint64_t)PL_RDV_CLUSTER_LIST_TIMEOUT_MS * 1000) {
        late = p;
        break;
      }
    }
    if (late == NULL)
      return;
    pl_rpc_call *call = take_list(c, late)->call;
    free(late);
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE,
                       all ? "the shared registry moved before it answered; list again"
                           : "the shared registry's leader did not answer in time; list again");
  }
}

void pl_rdv__front_free(pl_rdv_cluster *c) {
  /* Streams and calls are gone by now (the server shut down); only their records could be. */
  pl_rdv_idmap_node *x;
  while ((x = pl_rdv_idmap_next(&c->lists, NULL)) != NULL) {
    pending_list *p = pending_of(x);
    pl_rdv_idmap_remove(&c->lists, x);
    free(p);
  }
}
