#include "tests/unit/health/fake_rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "tests/unit/common/check.h"

void fake_call_init(pl_rpc_call *call) {
  memset(call, 0, sizeof(*call));
}

void fake_call_clear(pl_rpc_call *call) {
  for (size_t i = 0; i < call->n_sent; i++)
    free(call->sent[i]);
  fake_call_init(call);
}

int pl_rpc_call_send(pl_rpc_call *call, const ProtobufCMessage *msg) {
  if (call->closed || call->finished)
    return PL_ERR_CLOSED;
  if (call->send_error != 0)
    return call->send_error;
  if (call->pending >= pl_rpc_call_send_limit(call))
    return PL_ERR_FULL;
  if (call->n_sent == sizeof(call->sent) / sizeof(call->sent[0]))
    abort(); /* a test that sends this much is broken */
  size_t len = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = malloc(len ? len : 1);
  if (buf == NULL)
    return PL_ERR_NOMEM;
  protobuf_c_message_pack(msg, buf);
  call->sent[call->n_sent] = buf;
  call->sent_len[call->n_sent++] = len;
  if (call->hold)
    call->pending++;
  return 0;
}

int pl_rpc_call_finish(pl_rpc_call *call, pl_rpc_status code, const char *fmt, ...) {
  if (call->closed || call->finished)
    return PL_ERR_CLOSED;
  call->finished = 1;
  call->code = code;
  call->message[0] = '\0';
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->message, sizeof(call->message), fmt, ap);
    va_end(ap);
  }
  return 0;
}

int pl_rpc_call_reply(pl_rpc_call *call, const ProtobufCMessage *msg) {
  int rv = pl_rpc_call_send(call, msg);
  return rv != 0 ? rv : pl_rpc_call_finish(call, PL_RPC_OK, NULL);
}

void pl_rpc_call_set_data(pl_rpc_call *call, void *data) {
  call->data = data;
}

void *pl_rpc_call_data(const pl_rpc_call *call) {
  return call->data;
}

const char *pl_rpc_call_peer(const pl_rpc_call *call) {
  (void)call;
  return "fake:0";
}

size_t pl_rpc_call_pending(const pl_rpc_call *call) {
  return call->pending;
}

size_t pl_rpc_call_send_limit(const pl_rpc_call *call) {
  return call->send_limit ? call->send_limit : PL_RPC_SEND_QUEUE_DEFAULT;
}

void pl_rpc_call_set_send_limit(pl_rpc_call *call, size_t limit) {
  call->send_limit = limit;
}

size_t pl_rpc_call_discard_queued(pl_rpc_call *call) {
  if (call->closed || call->finished || !call->hold || call->pending < 2)
    return 0;
  size_t n = call->pending - 1;
  CHECK(n <= call->n_sent);
  for (size_t i = call->n_sent - n; i < call->n_sent; i++)
    free(call->sent[i]);
  call->n_sent -= n;
  call->pending = 1;
  return n;
}
