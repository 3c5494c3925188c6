#include "tests/unit/agent/fake_client.h"

#include <stdlib.h>

#include "control/common/err.h"
#include "peerlink/v1/rendezvous.pb-c.h"

struct pl_rpc_channel {
  int unused;
};

int fake_channel_new_result = 0;
struct pl_rpc_client_call *fake_next_call;

const char *pl_rpc_status_name(pl_rpc_status code) {
  return code == PL_RPC_OK ? "OK" : "NOT_OK";
}

int pl_rpc_channel_new(pl_rpc_channel **pchannel, uv_loop_t *loop, const char *target,
                       const char *token) {
  (void)loop;
  (void)target;
  (void)token;
  if (fake_channel_new_result != 0)
    return fake_channel_new_result;
  *pchannel = calloc(1, sizeof **pchannel);
  return *pchannel ? 0 : PL_ERR_NOMEM;
}

void pl_rpc_channel_free(pl_rpc_channel *channel) {
  free(channel);
}

int pl_rpc_client_call_start(pl_rpc_client_call **pcall, pl_rpc_channel *channel,
                             const char *method_path, const ProtobufCMessageDescriptor *response,
                             const pl_rpc_client_callbacks *cb, void *arg, uint64_t timeout_ms) {
  (void)channel;
  (void)method_path;
  (void)response;
  (void)timeout_ms;
  if (fake_next_call == NULL)
    return PL_ERR_CLOSED; /* the tests hand the registration a call themselves */
  *pcall = fake_next_call;
  fake_next_call = NULL;
  (*pcall)->cb = cb;
  (*pcall)->arg = arg;
  return 0;
}

int pl_rpc_client_call_send(pl_rpc_client_call *call, const ProtobufCMessage *msg) {
  (void)msg;
  if (call->cancelled || call->half_closed)
    return PL_ERR_CLOSED;
  if (call->send_error)
    return call->send_error;
  call->n_sent++;
  if (msg->descriptor == &peerlink__v1__register_request__descriptor)
    call->last_case = (int)((const Peerlink__V1__RegisterRequest *)msg)->msg_case;
  return 0;
}

size_t pl_rpc_client_call_pending(const pl_rpc_client_call *call) {
  return call->pending;
}

int pl_rpc_client_call_close_send(pl_rpc_client_call *call) {
  call->half_closed = 1;
  return 0;
}

void pl_rpc_client_call_cancel(pl_rpc_client_call *call) {
  call->cancelled = 1;
}
