/* A Register stream's output: its gRPC call, or the sink of a WebSocket agent (ws_register.c),
 * so that register.c and execute.c serve both alike and both are in one registry. */
#include "control/common/err.h"
#include "control/rendezvous/internal.h"

int pl_rdv__send(pl_rdv__stream *st, const Peerlink__V1__RegisterResponse *resp) {
  if (st->sink)
    return st->sink->send(st, resp);
  return st->call ? pl_rpc_call_send(st->call, &resp->base) : PL_ERR_CLOSED;
}

void pl_rdv__finish(pl_rdv__stream *st, pl_rpc_status code, const char *msg) {
  if (st->sink)
    st->sink->finish(st, code, msg);
  else if (st->call)
    pl_rpc_call_finish(st->call, code, "%s", msg);
}

const char *pl_rdv__peer(pl_rdv__stream *st) {
  if (st->sink)
    return st->sink->peer(st);
  return st->call ? pl_rpc_call_peer(st->call) : "";
}

int pl_rdv__open(const pl_rdv__stream *st) {
  return st && !st->finished && (st->sink || st->call);
}

void pl_rdv__backlog(pl_rdv__stream *st, size_t *pending, size_t *limit) {
  *pending = *limit = 0;
  if (st->sink) {
    st->sink->backlog(st, pending, limit);
  } else if (st->call) {
    *pending = pl_rpc_call_pending(st->call);
    *limit = pl_rpc_call_send_limit(st->call);
  }
}

void pl_rdv__grow(pl_rdv__stream *st, size_t more) {
  if (st->sink)
    st->sink->grow(st, more);
  else if (st->call)
    pl_rpc_call_set_send_limit(st->call, pl_rpc_call_send_limit(st->call) + more);
}

void pl_rdv__notify(pl_rdv_service *svc, Peerlink__V1__RegistryChange__Kind kind,
                    const Peerlink__V1__AgentInfo *info) {
  if (svc->on_change && info)
    svc->on_change(svc->change_arg, kind, info);
}
