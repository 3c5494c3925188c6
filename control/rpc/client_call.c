/* One outgoing call.
 *
 * Three tags, each with at most one batch in flight:
 *   status_tag  RECV_STATUS_ON_CLIENT, started first: completes when the call is over;
 *   send_tag    SEND_INITIAL_METADATA (first batch, with the token), then one SEND_MESSAGE at a
 *               time from the write queue, SEND_CLOSE_FROM_CLIENT riding with the last one;
 *   recv_tag    RECV_INITIAL_METADATA with the first RECV_MESSAGE, then RECV_MESSAGE alone.
 * Headers are never awaited before sending: a server may hold its headers until it has read a
 * request. on_status runs once the status arrived and no other batch is in flight, so it is
 * always the last callback, after every message. A raw call (no response descriptor) hands the
 * response bytes over unparsed. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/rpc_internal.h"

struct pl_rpc_client_call {
  pl_rpc__link link; /* first: the channel lists calls by it */
  pl_rpc_channel *channel;
  grpc_call *gcall;
  const ProtobufCMessageDescriptor *response; /* NULL: a raw call */
  pl_rpc_client_callbacks cb;
  void (*on_raw_message)(pl_rpc_client_call *call, const uint8_t *data, size_t len, void *arg);
  void *arg;

  pl_rpc__tag status_tag;
  pl_rpc__tag recv_tag;
  pl_rpc__tag send_tag;
  int status_active;
  int recv_active;
  int send_active;

  grpc_metadata auth;
  grpc_metadata_array initial_md;
  grpc_metadata_array trailing_md;
  grpc_status_code status;
  grpc_slice details;
  grpc_byte_buffer *recv_buf;
  int initial_md_requested;

  pl_rpc__sendq sendq;
  int initial_md_sent;
  int close_requested;
  int close_sent;

  int recv_paused; /* a test holds the responses back (pl_rpc__client_call_pause_recv) */
  int cancelled;   /* by us: no more messages are delivered */
  int done;        /* on_status ran or is running */
};

#define CALL_OF(tagp, field)                                                                       \
  ((pl_rpc_client_call *)((char *)(tagp)-offsetof(pl_rpc_client_call, field)))

static void on_status(pl_rpc__tag *tag, int ok);
static void on_recv(pl_rpc__tag *tag, int ok);
static void on_send(pl_rpc__tag *tag, int ok);

static void call_free(pl_rpc_client_call *c) {
  pl_rpc__sendq_clear(&c->sendq);
  grpc_metadata_array_destroy(&c->initial_md);
  grpc_metadata_array_destroy(&c->trailing_md);
  grpc_slice_unref(c->details);
  grpc_call_unref(c->gcall);
  /* May free the channel too, if its owner let go of it already. */
  pl_rpc__channel_detach(c->channel, &c->link);
  free(c);
}

static void maybe_done(pl_rpc_client_call *c) {
  if (c->status_active || c->recv_active || c->send_active || c->done)
    return;
  c->done = 1;
  char *msg = pl_rpc__slice_strdup(c->details);
  c->cb.on_status(c, (pl_rpc_status)c->status, msg ? msg : "", c->arg);
  free(msg);
  call_free(c);
}

static void pump_send(pl_rpc_client_call *c) {
  grpc_op ops[3];
  size_t n = 0;
  if (c->send_active || c->close_sent || c->done)
    return;
  memset(ops, 0, sizeof(ops));
  if (!c->initial_md_sent) {
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (pl_rpc__channel_authorization(c->channel)) {
      ops[n].data.send_initial_metadata.count = 1;
      ops[n].data.send_initial_metadata.metadata = &c->auth;
    }
    n++;
    c->initial_md_sent = 1;
  }
  grpc_byte_buffer *msg = pl_rpc__sendq_next(&c->sendq);
  if (msg) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = msg;
  }
  if (c->close_requested && !c->sendq.head) {
    ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    c->close_sent = 1;
  }
  if (n == 0)
    return;
  c->send_active = 1;
  pl_rpc__start_batch(c->gcall, ops, n, &c->send_tag);
}

static void start_recv(pl_rpc_client_call *c) {
  grpc_op ops[2];
  size_t n = 0;
  memset(ops, 0, sizeof(ops));
  if (!c->initial_md_requested) {
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n++].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    c->initial_md_requested = 1;
  }
  ops[n].op = GRPC_OP_RECV_MESSAGE;
  ops[n++].data.recv_message.recv_message = &c->recv_buf;
  c->recv_active = 1;
  pl_rpc__start_batch(c->gcall, ops, n, &c->recv_tag);
}

static void on_status(pl_rpc__tag *tag, int ok) {
  pl_rpc_client_call *c = CALL_OF(tag, status_tag);
  (void)ok; /* RECV_STATUS_ON_CLIENT always succeeds; the status tells what happened */
  c->status_active = 0;
  maybe_done(c);
}

static void on_send(pl_rpc__tag *tag, int ok) {
  pl_rpc_client_call *c = CALL_OF(tag, send_tag);
  c->send_active = 0;
  pl_rpc__sendq_sent(&c->sendq);
  /* A failed send means the call is over; its status is on the way. */
  if (ok)
    pump_send(c);
  maybe_done(c);
}

/* After a message was delivered. The handler may have cancelled, which leaves the status to
 * end the call. */
static void recv_next(pl_rpc_client_call *c) {
  if (!c->cancelled && !c->recv_paused)
    start_recv(c);
  else
    maybe_done(c);
}

static void deliver_raw(pl_rpc_client_call *c, grpc_byte_buffer *bb) {
  grpc_byte_buffer_reader reader;
  /* The reader undoes any compression the peer applied. */
  if (!grpc_byte_buffer_reader_init(&reader, bb)) {
    grpc_call_cancel_with_status(c->gcall, GRPC_STATUS_INTERNAL, "cannot read response", NULL);
    c->cancelled = 1;
    return;
  }
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  if (c->on_raw_message)
    c->on_raw_message(c, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), c->arg);
  grpc_slice_unref(all);
}

static void on_recv(pl_rpc__tag *tag, int ok) {
  pl_rpc_client_call *c = CALL_OF(tag, recv_tag);
  grpc_byte_buffer *bb = c->recv_buf;
  c->recv_buf = NULL;
  c->recv_active = 0;
  if (!ok || !bb || c->cancelled) {
    /* End of the stream, or nobody wants more. */
    if (bb)
      grpc_byte_buffer_destroy(bb);
    maybe_done(c);
    return;
  }
  if (!c->response) {
    deliver_raw(c, bb);
    grpc_byte_buffer_destroy(bb);
    recv_next(c);
    return;
  }
  ProtobufCMessage *msg = pl_rpc__unpack(bb, c->response);
  grpc_byte_buffer_destroy(bb);
  if (!msg) {
    char why[256];
    snprintf(why, sizeof(why), "error parsing response proto: %s", c->response->name);
    grpc_call_cancel_with_status(c->gcall, GRPC_STATUS_INTERNAL, why, NULL);
    c->cancelled = 1;
    maybe_done(c);
    return;
  }
  if (c->cb.on_message)
    c->cb.on_message(c, msg, c->arg);
  protobuf_c_message_free_unpacked(msg, NULL);
  recv_next(c);
}

static int start(pl_rpc_client_call **pcall, pl_rpc_channel *channel, const char *method_path,
                 const ProtobufCMessageDescriptor *response, const pl_rpc_client_callbacks *cb,
                 void *arg, uint64_t timeout_ms, pl_rpc__sendq_item *first) {
  if (!method_path || !cb || !cb->on_status)
    return PL_ERR_INVALID;
  pl_rpc_client_call *c = calloc(1, sizeof(*c));
  if (!c)
    return PL_ERR_NOMEM;
  int rv = pl_rpc__channel_attach(channel, &c->link);
  if (rv != 0) {
    free(c);
    return rv;
  }
  c->channel = channel;
  c->response = response;
  c->cb = *cb;
  c->arg = arg;
  pl_rpc__runtime *rt = pl_rpc__channel_runtime(channel);
  pl_rpc__tag_init(&c->status_tag, rt, on_status);
  pl_rpc__tag_init(&c->recv_tag, rt, on_recv);
  pl_rpc__tag_init(&c->send_tag, rt, on_send);
  grpc_metadata_array_init(&c->initial_md);
  grpc_metadata_array_init(&c->trailing_md);
  c->details = grpc_empty_slice();
  if (pl_rpc__channel_authorization(channel)) {
    /* The channel owns the string and outlives its calls. */
    c->auth.key = grpc_slice_from_static_string("authorization");
    c->auth.value = grpc_slice_from_static_string(pl_rpc__channel_authorization(channel));
  }

  gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
  if (timeout_ms > 0)
    deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                            gpr_time_from_millis((int64_t)timeout_ms, GPR_TIMESPAN));
  grpc_slice method = grpc_slice_from_copied_string(method_path);
  c->gcall = grpc_channel_create_call(pl_rpc__channel_grpc(channel), NULL, GRPC_PROPAGATE_DEFAULTS,
                                      pl_rpc__runtime_cq(rt), method, NULL, deadline, NULL);
  grpc_slice_unref(method);
  if (!c->gcall) {
    pl_rpc__channel_detach(channel, &c->link);
    free(c);
    return PL_ERR_NOMEM;
  }

  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  op.data.recv_status_on_client.trailing_metadata = &c->trailing_md;
  op.data.recv_status_on_client.status = &c->status;
  op.data.recv_status_on_client.status_details = &c->details;
  c->status_active = 1;
  pl_rpc__start_batch(c->gcall, &op, 1, &c->status_tag);

  if (first) {
    pl_rpc__sendq_append(&c->sendq, first);
    c->close_requested = 1;
  }
  pump_send(c);
  start_recv(c);
  if (pcall)
    *pcall = c;
  return 0;
}

int pl_rpc_client_call_start(pl_rpc_client_call **pcall, pl_rpc_channel *channel,
                             const char *method_path, const ProtobufCMessageDescriptor *response,
                             const pl_rpc_client_callbacks *cb, void *arg, uint64_t timeout_ms) {
  /* NULL is how start() knows a raw call. */
  if (!response)
    return PL_ERR_INVALID;
  return start(pcall, channel, method_path, response, cb, arg, timeout_ms, NULL);
}

int pl_rpc_client_call_start_raw(pl_rpc_client_call **pcall, pl_rpc_channel *channel,
                                 const char *method_path, const pl_rpc_client_raw_callbacks *cb,
                                 void *arg, uint64_t timeout_ms) {
  if (!cb || !cb->on_status)
    return PL_ERR_INVALID;
  pl_rpc_client_call *c = NULL;
  const pl_rpc_client_callbacks typed = {NULL, cb->on_status};
  int rv = start(&c, channel, method_path, NULL, &typed, arg, timeout_ms, NULL);
  if (rv != 0)
    return rv;
  /* No callback can run before the loop turns, so setting it after start() is in time. */
  c->on_raw_message = cb->on_message;
  if (pcall)
    *pcall = c;
  return 0;
}

int pl_rpc_unary(pl_rpc_client_call **pcall, pl_rpc_channel *channel, const char *method_path,
                 const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response,
                 const pl_rpc_client_callbacks *cb, void *arg, uint64_t timeout_ms) {
  if (!response)
    return PL_ERR_INVALID;
  /* Everything that can fail happens before the call exists, so an error means no callback. */
  pl_rpc__sendq_item *m = pl_rpc__sendq_item_new(pl_rpc__pack(request));
  if (!m)
    return PL_ERR_NOMEM;
  int rv = start(pcall, channel, method_path, response, cb, arg, timeout_ms, m);
  if (rv != 0) {
    grpc_byte_buffer_destroy(m->bb);
    free(m);
  }
  return rv;
}

static int enqueue(pl_rpc_client_call *c, grpc_byte_buffer *bb) {
  int rv = pl_rpc__sendq_push(&c->sendq, bb);
  if (rv == 0)
    pump_send(c);
  return rv;
}

static int can_send(const pl_rpc_client_call *c) {
  return !c->done && !c->cancelled && !c->close_requested;
}

int pl_rpc_client_call_send(pl_rpc_client_call *call, const ProtobufCMessage *msg) {
  if (!can_send(call))
    return PL_ERR_CLOSED;
  return enqueue(call, pl_rpc__pack(msg));
}

int pl_rpc__client_call_send_raw(pl_rpc_client_call *call, const void *data, size_t len) {
  return pl_rpc_client_call_send_raw(call, data, len);
}

int pl_rpc_client_call_send_raw(pl_rpc_client_call *call, const void *data, size_t len) {
  if (!can_send(call))
    return PL_ERR_CLOSED;
  grpc_slice slice = grpc_slice_from_copied_buffer(data, len);
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return enqueue(call, bb);
}

size_t pl_rpc_client_call_pending(const pl_rpc_client_call *call) {
  return pl_rpc__sendq_pending(&call->sendq);
}

size_t pl_rpc_client_call_send_limit(const pl_rpc_client_call *call) {
  return pl_rpc__sendq_limit(&call->sendq);
}

void pl_rpc_client_call_set_send_limit(pl_rpc_client_call *call, size_t limit) {
  call->sendq.limit = limit;
}

int pl_rpc_client_call_close_send(pl_rpc_client_call *call) {
  if (!can_send(call))
    return PL_ERR_CLOSED;
  call->close_requested = 1;
  pump_send(call);
  return 0;
}

void pl_rpc__client_call_pause_recv(pl_rpc_client_call *call, int paused) {
  pl_rpc_client_call_pause_recv(call, paused);
}

void pl_rpc_client_call_pause_recv(pl_rpc_client_call *call, int paused) {
  call->recv_paused = paused;
  if (!paused && !call->recv_active && !call->done && !call->cancelled)
    start_recv(call);
}

void pl_rpc_client_call_cancel(pl_rpc_client_call *call) {
  if (call->done || call->cancelled)
    return;
  call->cancelled = 1;
  grpc_call_cancel(call->gcall, NULL);
}
