/* peerlink.v1.Rendezvous: Register (bidi) keeps the registry; ListAgents reads it. */
#include "control/rendezvous/service.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/hello.h"
#include "peerlink/v1/rendezvous.pb-c.h"

#define VERSION_UNKNOWN ""

static int64_t now_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* gRPC peers look like "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000"; keep the address part. */
static const char *strip_scheme(const char *peer) {
  const char *colon = strchr(peer, ':');
  if (colon && (strncmp(peer, "ipv4:", 5) == 0 || strncmp(peer, "ipv6:", 5) == 0))
    return colon + 1;
  return peer;
}

static void send_change(pl_rpc_call *call, Peerlink__V1__RegistryChange__Kind kind,
                        Peerlink__V1__AgentInfo *info) {
  Peerlink__V1__RegistryChange change = PEERLINK__V1__REGISTRY_CHANGE__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  change.kind = kind;
  change.agent = info;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE;
  resp.change = &change;
  pl_rpc_call_send(call, &resp.base);
}

/* Tells every registered agent except `about` that `about` changed. */
static void broadcast(pl_rendezvous *rv, pl_agentlist_entry *about,
                      Peerlink__V1__RegistryChange__Kind kind) {
  for (pl_agentlist_entry *e = rv->registry.head; e; e = e->next)
    if (e != about)
      send_change(e->data, kind, about->info);
}

static void handle_hello(pl_rendezvous *rv, pl_rpc_call *call, const Peerlink__V1__Hello *hello) {
  char err[256];
  if (pl_hello_validate(hello, err, sizeof err) != 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "%s", err);
    return;
  }
  /* The same agent registering again (say its old TCP connection is not dead yet) replaces
   * the old stream: the newest registration is the live one. */
  pl_agentlist_entry *old = pl_agentlist_find(&rv->registry, hello->id);
  if (old) {
    pl_rpc_call *old_call = old->data;
    pl_rpc_call_set_data(old_call, NULL);
    broadcast(rv, old, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT);
    pl_agentlist_remove(&rv->registry, old);
    pl_rpc_call_finish(old_call, PL_RPC_ABORTED, "replaced by a newer registration of agent %s",
                       hello->id);
  }

  Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
  info.id = hello->id;
  info.name = hello->name;
  info.observed_address = (char *)strip_scheme(pl_rpc_call_peer(call));
  info.n_candidates = hello->n_candidates;
  info.candidates = hello->candidates;
  info.registered_unix_ms = now_unix_ms();
  info.cert_fingerprint = hello->cert_fingerprint;
  info.version = hello->version;

  pl_agentlist_entry *entry;
  if (pl_agentlist_put(&rv->registry, &info, &entry) != 0) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  entry->data = call;
  pl_rpc_call_set_data(call, entry);

  Peerlink__V1__Registered registered = PEERLINK__V1__REGISTERED__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  registered.self = entry->info;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED;
  resp.registered = &registered;
  pl_rpc_call_send(call, &resp.base);
  /* The newcomer learns who is already here from the same stream that later tells it about
   * changes, so its view never needs polling. */
  for (pl_agentlist_entry *e = rv->registry.head; e; e = e->next)
    if (e != entry)
      send_change(call, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED, e->info);
  broadcast(rv, entry, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED);
  pl_log(PL_LOG_INFO, "registered", "agent=%s name=\"%s\" from=%s agents=%zu", entry->info->id,
         entry->info->name, entry->info->observed_address, rv->registry.count);
}

static void handle_candidates(pl_rendezvous *rv, pl_rpc_call *call, pl_agentlist_entry *entry,
                              const Peerlink__V1__CandidatesUpdate *upd) {
  char err[256];
  if (pl_candidates_validate(upd->candidates, upd->n_candidates, "candidates.candidates", err,
                             sizeof err) != 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "%s", err);
    return;
  }
  Peerlink__V1__AgentInfo info = *entry->info;
  info.n_candidates = upd->n_candidates;
  info.candidates = upd->candidates;
  if (pl_agentlist_put(&rv->registry, &info, NULL) != 0) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  broadcast(rv, entry, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED);
}

static void register_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_rendezvous *rv = data;
  const Peerlink__V1__RegisterRequest *req = (const Peerlink__V1__RegisterRequest *)msg;
  pl_agentlist_entry *entry = pl_rpc_call_data(call);

  if (entry == NULL) {
    if (req->msg_case != PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO) {
      pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION,
                         "the first message on a Register stream must be hello");
      return;
    }
    handle_hello(rv, call, req->hello);
    return;
  }
  switch (req->msg_case) {
  case PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO:
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "hello: already registered");
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES:
    handle_candidates(rv, call, entry, req->candidates);
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR:
    pl_rpc_call_finish(call, PL_RPC_UNIMPLEMENTED,
                       "pair: pairing and offers are not built yet (NAT traversal issue)");
    break;
  default:
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "msg: one of hello, candidates or pair "
                       "must be set");
    break;
  }
}

static void register_on_half_close(pl_rpc_call *call, void *data) {
  (void)data;
  pl_rpc_call_finish(call, PL_RPC_OK, "registration closed by the agent");
}

static void register_on_done(pl_rpc_call *call, int cancelled, void *data) {
  pl_rendezvous *rv = data;
  pl_agentlist_entry *entry = pl_rpc_call_data(call);
  (void)cancelled;
  if (entry == NULL)
    return;
  pl_log(PL_LOG_INFO, "unregistered", "agent=%s name=\"%s\" agents=%zu", entry->info->id,
         entry->info->name, rv->registry.count - 1);
  broadcast(rv, entry, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT);
  pl_agentlist_remove(&rv->registry, entry);
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

void pl_rendezvous_init(pl_rendezvous *rv) {
  memset(rv, 0, sizeof *rv);
  pl_agentlist_init(&rv->registry);
  rv->service.full_name = "peerlink.v1.Rendezvous";
  rv->service.methods = rendezvous_methods;
  rv->service.n_methods = sizeof rendezvous_methods / sizeof rendezvous_methods[0];
  rv->service.data = rv;
}

void pl_rendezvous_free(pl_rendezvous *rv) {
  pl_agentlist_free(&rv->registry);
}
