/* peerlink.v1.Rendezvous: the method table, Register's message dispatch and ListAgents' pages. */
#include "control/rendezvous/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/log.h"
#include "control/common/random.h"
#include "control/rendezvous/internal.h"
#include "peerlink/v1/rendezvous.pb-c.h"

static pl_rdv__stream *stream_of(pl_rdv_service *svc, pl_rpc_call *call) {
  pl_rdv__stream *st = pl_rpc_call_data(call);
  if (st == NULL) {
    st = calloc(1, sizeof *st);
    if (st == NULL)
      return NULL;
    st->svc = svc;
    st->call = call;
    pl_rdv_agent_init(&st->agent, st);
    pl_rpc_call_set_data(call, st);
  }
  return st;
}

static void register_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__RegisterRequest *req = (const Peerlink__V1__RegisterRequest *)msg;
  pl_rdv__stream *st = stream_of(data, call);
  if (st == NULL) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  pl_rdv__request(st, req);
}

void pl_rdv__request(pl_rdv__stream *st, const Peerlink__V1__RegisterRequest *req) {
  if (st->finished)
    return;
  if (st->remote) {
    /* Registered at the leader (--redis): it decides, as it does for its own streams. */
    if (req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO)
      pl_rdv__fail(st, PL_RPC_FAILED_PRECONDITION, "hello: already registered");
    else
      pl_rdv__cluster_input(st, req);
    return;
  }
  if (st->agent.info == NULL) {
    if (req->msg_case != PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO) {
      pl_rdv__fail(st, PL_RPC_FAILED_PRECONDITION,
                   "the first message on a Register stream must be hello");
      return;
    }
    pl_rdv__hello(st, req->hello);
    return;
  }
  switch (req->msg_case) {
  case PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO:
    pl_rdv__fail(st, PL_RPC_FAILED_PRECONDITION, "hello: already registered");
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES:
    pl_rdv__candidates(st, req->candidates);
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR: pl_rdv__pair(st, req->pair); break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_RELAY: pl_rdv__relay_from_stream(st, req->relay); break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_WATCH:
    pl_rdv__watch(st, req->watch->peer_ids, req->watch->n_peer_ids, 1);
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_UNWATCH:
    pl_rdv__watch(st, req->unwatch->peer_ids, req->unwatch->n_peer_ids, 0);
    break;
  default:
    pl_rdv__fail(st, PL_RPC_INVALID_ARGUMENT,
                 "msg: one of hello, candidates, pair, relay, watch or unwatch must be set");
    break;
  }
}

static void register_on_half_close(pl_rpc_call *call, void *data) {
  pl_rdv__stream *st = pl_rpc_call_data(call);
  (void)data;
  if (st == NULL)
    pl_rpc_call_finish(call, PL_RPC_OK, "registration closed by the agent");
  else if (!st->finished)
    pl_rdv__fail(st, PL_RPC_OK, "registration closed by the agent");
}

static void register_on_done(pl_rpc_call *call, int cancelled, void *data) {
  pl_rdv__stream *st = pl_rpc_call_data(call);
  (void)cancelled;
  (void)data;
  if (st == NULL)
    return;
  pl_rdv__unregister(st);
  st->call = NULL;
  pl_rpc_call_set_data(call, NULL);
  pl_rdv_agent_release(&st->agent);
  explicit_bzero(st, sizeof *st);
  free(st);
}

pl_rpc_status pl_rdv__list(pl_rdv_service *svc, const Peerlink__V1__ListAgentsRequest *req,
                           Peerlink__V1__ListAgentsResponse *resp, char *next, char *msg,
                           size_t cap) {
  size_t total;
  if (req->page_size < 0) {
    snprintf(msg, cap, "page_size: must not be negative");
    return PL_RPC_INVALID_ARGUMENT;
  }
  int rv =
      pl_rdv_registry_list(&svc->registry, req->network, req->page_token, (size_t)req->page_size,
                           &resp->agents, &resp->n_agents, next, &total);
  if (rv == PL_ERR_INVALID) {
    snprintf(msg, cap,
             "page_token: not a token this rendezvous gave (it may have restarted); list again "
             "from an empty token");
    return PL_RPC_INVALID_ARGUMENT;
  }
  if (rv != 0) {
    snprintf(msg, cap, "rendezvous out of memory");
    return PL_RPC_RESOURCE_EXHAUSTED;
  }
  resp->next_page_token = next;
  resp->total_size = total;
  return PL_RPC_OK;
}

/* One page of the registry (registry_list.c has the token's format), from the leader's with
 * --redis. */
static void list_agents_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_rdv_service *svc = data;
  const Peerlink__V1__ListAgentsRequest *req = (const Peerlink__V1__ListAgentsRequest *)msg;
  Peerlink__V1__ListAgentsResponse resp = PEERLINK__V1__LIST_AGENTS_RESPONSE__INIT;
  char next[PL_RDV_TOKEN_LEN + 1], why[256];
  if (req->page_size < 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "page_size: must not be negative");
    return;
  }
  if (pl_rdv__cluster_list(svc, call, req))
    return;
  pl_rpc_status code = pl_rdv__list(svc, req, &resp, next, why, sizeof why);
  if (code != PL_RPC_OK) {
    pl_rpc_call_finish(call, code, "%s", why);
    return;
  }
  pl_rpc_call_reply(call, &resp.base);
  free(resp.agents);
}

static void list_agents_on_done(pl_rpc_call *call, int cancelled, void *data) {
  (void)cancelled;
  pl_rdv__cluster_list_done(data, call);
}

static const pl_rpc_method rendezvous_methods[] = {
    {
        .name = "Register",
        .kind = PL_RPC_BIDI_STREAMING,
        .request = &peerlink__v1__register_request__descriptor,
        .response = &peerlink__v1__register_response__descriptor,
        .on_request = register_on_request,
        .on_half_close = register_on_half_close,
        .on_done = register_on_done,
    },
    {
        .name = "ListAgents",
        .kind = PL_RPC_UNARY,
        .request = &peerlink__v1__list_agents_request__descriptor,
        .response = &peerlink__v1__list_agents_response__descriptor,
        .on_request = list_agents_on_request,
        .on_done = list_agents_on_done,
    },
};

int pl_rdv_service_init(pl_rdv_service *svc) {
  memset(svc, 0, sizeof *svc);
  pl_rdv_actions_init(&svc->actions);
  if (pl_rdv_registry_init(&svc->registry, pl_random_bytes) != 0)
    return PL_ERR_NOMEM;
  svc->service.full_name = "peerlink.v1.Rendezvous";
  svc->service.methods = rendezvous_methods;
  svc->service.n_methods = sizeof rendezvous_methods / sizeof rendezvous_methods[0];
  svc->service.data = svc;
  return 0;
}

void pl_rdv_service_free(pl_rdv_service *svc) {
  pl_rdv_actions_free(&svc->actions);
  pl_rdv_registry_free(&svc->registry);
}
