/* One incoming call: the state machine between gRPC batches and the method's handlers.
 *
 * Three tags, each with at most one batch in flight:
 *   close_tag  RECV_CLOSE_ON_SERVER, started first and alone: it completes when the call is
 *              over for any reason, which is how cancellation and disconnects are learned;
 *   recv_tag   RECV_MESSAGE, one at a time, re-armed after the handler saw the message;
 *   send_tag   SEND_INITIAL_METADATA (first batch), then one SEND_MESSAGE at a time from the
 *              write queue, SEND_STATUS_FROM_SERVER riding with the last message.
 * SEND_STATUS never shares a batch with RECV_MESSAGE. The call is freed once the close arrived
 * (on_done ran) and no batch is in flight. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/rpc_internal.h"

struct pl_rpc_call {
  pl_rpc__call_env env;
  const pl_rpc_service *svc; /* NULL: unknown method */
  const pl_rpc_method *method;
  grpc_call *gcall;
  grpc_metadata_array md;
  char *peer;
  void *data;

  pl_rpc__tag close_tag;
  pl_rpc__tag recv_tag;
  pl_rpc__tag send_tag;
  int recv_active;
  int send_active;
  int close_cancelled; /* RECV_CLOSE_ON_SERVER's out-parameter */
  grpc_byte_buffer *recv_buf;

  pl_rpc__sendq sendq;
  int initial_md_sent;

  int dispatched;       /* passed the checks: the handlers see this call, on_done is owed */
  int finishing;        /* a status is decided; nothing more is sent or received */
  int handler_finished; /* ...and the handler decided it */
  int status_started;
  pl_rpc_status code;
  grpc_slice details;
  int closed; /* the close arrived: on_done ran, the API answers PL_ERR_CLOSED */
};

static void on_close(pl_rpc__tag *tag, int ok);
static void on_recv(pl_rpc__tag *tag, int ok);
static void on_send(pl_rpc__tag *tag, int ok);

#define CALL_OF(tagp, field) ((pl_rpc_call *)((char *)(tagp)-offsetof(pl_rpc_call, field)))

static void call_free(pl_rpc_call *c) {
  pl_rpc__sendq_clear(&c->sendq);
  grpc_slice_unref(c->details);
  /* The metadata's slices belong to the call: drop the array before the call. */
  grpc_metadata_array_destroy(&c->md);
  gpr_free(c->peer);
  grpc_call_unref(c->gcall);
  pl_rpc__call_env env = c->env;
  free(c);
  env.on_freed(env.server);
}

static void maybe_free(pl_rpc_call *c) {
  if (c->closed && !c->recv_active && !c->send_active)
    call_free(c);
}

static void pump_send(pl_rpc_call *c) {
  grpc_op ops[3];
  size_t n = 0;
  if (c->send_active || c->status_started || c->closed)
    return;
  memset(ops, 0, sizeof(ops));
  if (!c->initial_md_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->initial_md_sent = 1;
  }
  grpc_byte_buffer *msg = pl_rpc__sendq_next(&c->sendq);
  if (msg) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = msg;
  }
  if (c->finishing && !c->sendq.head) {
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)c->code;
    ops[n++].data.send_status_from_server.status_details = &c->details;
    c->status_started = 1;
  }
  if (n == 0)
    return;
  c->send_active = 1;
  pl_rpc__start_batch(c->gcall, ops, n, &c->send_tag);
}

static void start_recv(pl_rpc_call *c) {
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &c->recv_buf;
  c->recv_active = 1;
  pl_rpc__start_batch(c->gcall, &op, 1, &c->recv_tag);
}

static void finish_v(pl_rpc_call *c, pl_rpc_status code, const char *fmt, va_list ap) {
  c->finishing = 1;
  c->code = code;
  if (fmt) {
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    c->details = grpc_slice_from_copied_string(buf);
  }
  pump_send(c);
}

/* The library ends the call itself (bad request, unknown method, no token). */
static void finish_lib(pl_rpc_call *c, pl_rpc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish_lib(pl_rpc_call *c, pl_rpc_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  finish_v(c, code, fmt, ap);
  va_end(ap);
}

void pl_rpc__server_call_begin(const pl_rpc__call_env *env, grpc_call *gcall,
                               grpc_metadata_array *md, const pl_rpc_service *svc,
                               const pl_rpc_method *method, const char *unknown_path) {
  pl_rpc_call *c = calloc(1, sizeof(*c));
  if (!c) {
    grpc_call_cancel_with_status(gcall, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
    grpc_metadata_array_destroy(md);
    grpc_call_unref(gcall);
    env->on_freed(env->server);
    return;
  }
  c->env = *env;
  c->svc = svc;
  c->method = method;
  c->gcall = gcall;
  c->md = *md;
  grpc_metadata_array_init(md);
  c->details = grpc_empty_slice();
  c->peer = grpc_call_get_peer(gcall);
  c->sendq.limit = env->send_limit;
  pl_rpc__tag_init(&c->close_tag, env->rt, on_close);
  pl_rpc__tag_init(&c->recv_tag, env->rt, on_recv);
  pl_rpc__tag_init(&c->send_tag, env->rt, on_send);

  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &c->close_cancelled;
  pl_rpc__start_batch(gcall, &op, 1, &c->close_tag);

  if (!method) {
    finish_lib(c, PL_RPC_UNIMPLEMENTED, "unknown method %s", unknown_path);
    return;
  }
  if (env->authorization && !pl_rpc__metadata_equals(&c->md, "authorization", env->authorization)) {
    finish_lib(c, PL_RPC_UNAUTHENTICATED, "missing or wrong bearer token");
    return;
  }
  c->dispatched = 1;
  /* Headers go out at once so a streaming client knows the call is established. */
  pump_send(c);
  start_recv(c);
}

static void on_close(pl_rpc__tag *tag, int ok) {
  pl_rpc_call *c = CALL_OF(tag, close_tag);
  c->closed = 1;
  if (c->dispatched && c->method->on_done) {
    int cancelled = !ok || c->close_cancelled || !c->handler_finished;
    c->method->on_done(c, cancelled, c->svc->data);
  }
  maybe_free(c);
}

static void on_send(pl_rpc__tag *tag, int ok) {
  pl_rpc_call *c = CALL_OF(tag, send_tag);
  c->send_active = 0;
  pl_rpc__sendq_sent(&c->sendq);
  /* A failed send means the call is broken; the close follows and ends it. */
  if (ok)
    pump_send(c);
  maybe_free(c);
}

static int streams_in(const pl_rpc_method *m) {
  return m->kind == PL_RPC_CLIENT_STREAMING || m->kind == PL_RPC_BIDI_STREAMING;
}

static void on_recv(pl_rpc__tag *tag, int ok) {
  pl_rpc_call *c = CALL_OF(tag, recv_tag);
  grpc_byte_buffer *bb = c->recv_buf;
  c->recv_buf = NULL;
  c->recv_active = 0;
  if (!ok || c->closed || c->finishing) {
    if (bb)
      grpc_byte_buffer_destroy(bb);
    maybe_free(c);
    return;
  }
  const pl_rpc_method *m = c->method;
  if (!bb) {
    /* Half-close. */
    if (!streams_in(m))
      finish_lib(c, PL_RPC_INTERNAL, "missing request message");
    else if (m->on_half_close)
      m->on_half_close(c, c->svc->data);
    return;
  }
  ProtobufCMessage *msg = pl_rpc__unpack(bb, m->request);
  grpc_byte_buffer_destroy(bb);
  if (!msg) {
    finish_lib(c, PL_RPC_INTERNAL, "error parsing request proto: %s", m->request->name);
    return;
  }
  m->on_request(c, msg, c->svc->data);
  protobuf_c_message_free_unpacked(msg, NULL);
  /* The handler may have finished the call. The close cannot have arrived meanwhile: it is
   * delivered by a later event on this same thread. */
  if (streams_in(m) && !c->finishing)
    start_recv(c);
}

int pl_rpc_call_send(pl_rpc_call *call, const ProtobufCMessage *msg) {
  if (call->closed || call->finishing)
    return PL_ERR_CLOSED;
  int rv = pl_rpc__sendq_push(&call->sendq, pl_rpc__pack(msg));
  if (rv == 0)
    pump_send(call);
  return rv;
}

int pl_rpc_call_finish(pl_rpc_call *call, pl_rpc_status code, const char *fmt, ...) {
  if (call->closed || call->finishing)
    return PL_ERR_CLOSED;
  call->handler_finished = 1;
  va_list ap;
  va_start(ap, fmt);
  finish_v(call, code, fmt, ap);
  va_end(ap);
  return 0;
}

int pl_rpc_call_reply(pl_rpc_call *call, const ProtobufCMessage *msg) {
  int rv = pl_rpc_call_send(call, msg);
  if (rv != 0)
    return rv;
  return pl_rpc_call_finish(call, PL_RPC_OK, NULL);
}

void pl_rpc_call_set_data(pl_rpc_call *call, void *data) {
  call->data = data;
}

void *pl_rpc_call_data(const pl_rpc_call *call) {
  return call->data;
}

const char *pl_rpc_call_peer(const pl_rpc_call *call) {
  return call->peer ? call->peer : "";
}

size_t pl_rpc_call_pending(const pl_rpc_call *call) {
  return pl_rpc__sendq_pending(&call->sendq);
}

size_t pl_rpc_call_send_limit(const pl_rpc_call *call) {
  return pl_rpc__sendq_limit(&call->sendq);
}

void pl_rpc_call_set_send_limit(pl_rpc_call *call, size_t limit) {
  call->sendq.limit = limit ? limit : call->env.send_limit;
}

size_t pl_rpc_call_discard_queued(pl_rpc_call *call) {
  /* Once finishing, the status waits for the queued messages: they are what the handler said
   * last, and dropping them now would change the stream's end. */
  if (call->closed || call->finishing)
    return 0;
  return pl_rpc__sendq_discard(&call->sendq);
}
