#include "tests/unit/rpc/echo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

/* Per-call state, freed in on_done: ASan's leak check proves on_done ran for every call. */
typedef struct call_state {
  int64_t sum;
  int counted; /* counted in st->live */
} call_state;

static call_state *state_of(pl_rpc_call *call, echo_state *st) {
  call_state *cs = pl_rpc_call_data(call);
  if (!cs) {
    cs = calloc(1, sizeof(*cs));
    CHECK(cs != NULL);
    cs->counted = 1;
    st->live++;
    pl_rpc_call_set_data(call, cs);
  }
  return cs;
}

static void on_done(pl_rpc_call *call, int cancelled, void *data) {
  echo_state *st = data;
  call_state *cs = pl_rpc_call_data(call);
  st->done++;
  if (cancelled)
    st->done_cancelled++;
  if (cs) {
    st->live--;
    free(cs);
  }
  for (int i = 0; i < st->n_hanging; i++)
    if (st->hanging[i] == call) {
      st->hanging[i] = st->hanging[--st->n_hanging];
      break;
    }
  /* The call is over: the API must say so. */
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  CHECK(pl_rpc_call_send(call, &ev.base) == PL_ERR_CLOSED);
  CHECK(pl_rpc_call_finish(call, PL_RPC_OK, NULL) == PL_ERR_CLOSED);
  if (st->on_done)
    st->on_done(st, st->hook_arg);
}

static void echo_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  echo_state *st = data;
  const Peerlink__V1__GetStatusResponse *req = (const Peerlink__V1__GetStatusResponse *)msg;
  Peerlink__V1__GetStatusResponse resp = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  st->requests++;
  state_of(call, st);
  resp.name = req->name;
  resp.uptime_seconds = req->uptime_seconds + 1;
  /* The peer is what gRPC saw: this client on loopback. */
  CHECK(strncmp(pl_rpc_call_peer(call), "ipv4:127.0.0.1:", 15) == 0);
  CHECK(pl_rpc_call_reply(call, &resp.base) == 0);
  CHECK(pl_rpc_call_send(call, &resp.base) == PL_ERR_CLOSED);
}

static void count_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  echo_state *st = data;
  const Peerlink__V1__GetStatusResponse *req = (const Peerlink__V1__GetStatusResponse *)msg;
  st->requests++;
  state_of(call, st);
  size_t server_limit = pl_rpc_call_send_limit(call);
  if (strncmp(req->name, "limit=", 6) == 0) {
    pl_rpc_call_set_send_limit(call, strtoul(req->name + 6, NULL, 10));
    pl_rpc_call_set_send_limit(call, 0);
    CHECK(pl_rpc_call_send_limit(call) == server_limit);
    pl_rpc_call_set_send_limit(call, strtoul(req->name + 6, NULL, 10));
  }
  uint64_t sent = 0;
  for (; sent < req->uptime_seconds; sent++) {
    Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
    ev.unix_ms = (int64_t)sent;
    int rv = pl_rpc_call_send(call, &ev.base);
    if (rv == PL_ERR_FULL) {
      /* Refused without queueing, and the call goes on: the queue holds exactly the limit. */
      CHECK(pl_rpc_call_pending(call) == pl_rpc_call_send_limit(call));
      CHECK(pl_rpc_call_send(call, &ev.base) == PL_ERR_FULL);
      st->count_full++;
      break;
    }
    CHECK(rv == 0);
  }
  /* Nothing completes during a handler: every message is still pending. */
  CHECK(pl_rpc_call_pending(call) == sent);
  CHECK(pl_rpc_call_finish(call, PL_RPC_OK, "counted %d", (int)sent) == 0);
}

static void sum_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  echo_state *st = data;
  st->requests++;
  state_of(call, st)->sum += ((const Peerlink__V1__Event *)msg)->unix_ms;
}

static void sum_half_close(pl_rpc_call *call, void *data) {
  echo_state *st = data;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  st->half_closes++;
  ev.unix_ms = state_of(call, st)->sum;
  CHECK(pl_rpc_call_reply(call, &ev.base) == 0);
}

static void chat_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  echo_state *st = data;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  st->requests++;
  state_of(call, st);
  ev.unix_ms = ((const Peerlink__V1__Event *)msg)->unix_ms * 2;
  CHECK(pl_rpc_call_send(call, &ev.base) == 0);
}

static void chat_half_close(pl_rpc_call *call, void *data) {
  echo_state *st = data;
  st->half_closes++;
  state_of(call, st);
  CHECK(pl_rpc_call_finish(call, PL_RPC_OK, NULL) == 0);
}

static void hang_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  echo_state *st = data;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  (void)msg;
  st->requests++;
  state_of(call, st);
  CHECK(st->n_hanging < ECHO_MAX_HANGING);
  st->hanging[st->n_hanging++] = call;
  CHECK(pl_rpc_call_send(call, &ev.base) == 0);
  if (st->on_hang)
    st->on_hang(st, call, st->hook_arg);
}

static void flood_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  echo_state *st = data;
  (void)msg;
  st->requests++;
  state_of(call, st);
  CHECK(st->on_flood != NULL);
  st->on_flood(st, call, st->hook_arg);
}

#define REQ &peerlink__v1__get_status_response__descriptor
#define EV &peerlink__v1__event__descriptor

static const pl_rpc_method methods[] = {
    {"Echo", PL_RPC_UNARY, REQ, REQ, echo_request, NULL, on_done},
    {"Count", PL_RPC_SERVER_STREAMING, REQ, EV, count_request, NULL, on_done},
    {"Sum", PL_RPC_CLIENT_STREAMING, EV, EV, sum_request, sum_half_close, on_done},
    {"Chat", PL_RPC_BIDI_STREAMING, EV, EV, chat_request, chat_half_close, on_done},
    {"Hang", PL_RPC_SERVER_STREAMING, REQ, EV, hang_request, NULL, on_done},
    {"Flood", PL_RPC_SERVER_STREAMING, REQ, REQ, flood_request, NULL, on_done},
};

void echo_state_init(echo_state *st) {
  memset(st, 0, sizeof(*st));
}

const pl_rpc_service *echo_service(echo_state *st) {
  static pl_rpc_service svc = {"peerlink.test.Echo", methods, sizeof(methods) / sizeof(methods[0]),
                               NULL};
  svc.data = st;
  return &svc;
}

void echo_state_check_empty(const echo_state *st) {
  CHECK(st->live == 0);
  CHECK(st->n_hanging == 0);
}
