/* peerlink.v1.Rendezvous: the method table, Register's message dispatch and ListAgents. */
#include "control/rendezvous/service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/internal.h"
#include "peerlink/v1/rendezvous.pb-c.h"

static int random_bytes(void *buf, size_t len) {
  uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return PL_ERR_IO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static pl_rdv_agent *agent_of(pl_rendezvous *rv, pl_rpc_call *call) {
  pl_rdv_agent *ag = pl_rpc_call_data(call);
  if (ag == NULL) {
    ag = calloc(1, sizeof *ag);
    if (ag == NULL)
      return NULL;
    ag->rv = rv;
    ag->call = call;
    pl_rpc_call_set_data(call, ag);
  }
  return ag;
}

static void register_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Peerlink__V1__RegisterRequest *req = (const Peerlink__V1__RegisterRequest *)msg;
  pl_rdv_agent *ag = agent_of(data, call);
  if (ag == NULL) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  if (ag->finished)
    return;
  if (ag->entry == NULL) {
    if (req->msg_case != PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO) {
      pl_rendezvous__fail(ag, PL_RPC_FAILED_PRECONDITION,
                          "the first message on a Register stream must be hello");
      return;
    }
    pl_rendezvous__hello(ag, req->hello);
    return;
  }
  switch (req->msg_case) {
  case PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO:
    pl_rendezvous__fail(ag, PL_RPC_FAILED_PRECONDITION, "hello: already registered");
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES:
    pl_rendezvous__candidates(ag, req->candidates);
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR: pl_rendezvous__pair(ag, req->pair); break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_RELAY:
    pl_rendezvous__relay_from_stream(ag, req->relay);
    break;
  default:
    pl_rendezvous__fail(ag, PL_RPC_INVALID_ARGUMENT,
                        "msg: one of hello, candidates, pair or relay must be set");
    break;
  }
}

static void register_on_half_close(pl_rpc_call *call, void *data) {
  pl_rdv_agent *ag = pl_rpc_call_data(call);
  (void)data;
  if (ag == NULL)
    pl_rpc_call_finish(call, PL_RPC_OK, "registration closed by the agent");
  else if (!ag->finished)
    pl_rendezvous__fail(ag, PL_RPC_OK, "registration closed by the agent");
}

static void register_on_done(pl_rpc_call *call, int cancelled, void *data) {
  pl_rdv_agent *ag = pl_rpc_call_data(call);
  (void)cancelled;
  (void)data;
  if (ag == NULL)
    return;
  pl_rendezvous__unregister(ag);
  ag->call = NULL;
  pl_rpc_call_set_data(call, NULL);
  free(ag->public_key);
  explicit_bzero(ag, sizeof *ag);
  free(ag);
}

static void list_agents_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_rendezvous *rv = data;
  Peerlink__V1__ListAgentsResponse resp = PEERLINK__V1__LIST_AGENTS_RESPONSE__INIT;
  (void)msg;
  if (pl_agentlist_snapshot(&rv->registry, NULL, &resp.agents, &resp.n_agents) != 0) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  pl_rpc_call_reply(call, &resp.base);
  free(resp.agents);
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
    },
};

int pl_rendezvous_init(pl_rendezvous *rv) {
  memset(rv, 0, sizeof *rv);
  pl_agentlist_init(&rv->registry);
  if (pl_pairings_init(&rv->pairings, random_bytes) != 0)
    return PL_ERR_NOMEM;
  rv->service.full_name = "peerlink.v1.Rendezvous";
  rv->service.methods = rendezvous_methods;
  rv->service.n_methods = sizeof rendezvous_methods / sizeof rendezvous_methods[0];
  rv->service.data = rv;
  return 0;
}

void pl_rendezvous_free(pl_rendezvous *rv) {
  pl_pairings_free(&rv->pairings);
  pl_agentlist_free(&rv->registry);
}
