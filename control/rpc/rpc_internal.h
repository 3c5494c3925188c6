#ifndef PEERLINK_RPC_INTERNAL_H
#define PEERLINK_RPC_INTERNAL_H

/* Shared between the files of control/rpc/ only. This is the one header that includes the gRPC
 * C core; nothing outside this folder may include it. */

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "control/rpc/rpc.h"
#include "control/rpc/rpc_testing.h"

/* ------------------------------------------------------------------------------------------
 * Runtime (runtime.c): the process-wide completion queue and its thread, and one dispatcher
 * per libuv loop.
 * ---------------------------------------------------------------------------------------- */

typedef struct pl_rpc__runtime pl_rpc__runtime;
typedef struct pl_rpc__tag pl_rpc__tag;

/* Runs on the loop thread with the result of the operation started with this tag. */
typedef void (*pl_rpc__tag_fn)(pl_rpc__tag *tag, int ok);

/* Every tag handed to gRPC is one of these, embedded in the object that owns the operation.
 * A tag has at most one operation outstanding at a time: the completion-queue thread links
 * the tag itself into its loop's event list, so delivering an event allocates nothing. */
struct pl_rpc__tag {
  pl_rpc__tag_fn fn;
  pl_rpc__runtime *rt;
  pl_rpc__tag *next; /* event list link, owned by the runtime while queued */
  int ok;
};

/* Takes a reference on the runtime of `loop`, creating it (and the shared completion queue,
 * its thread and grpc_init) on first use. Returns 0, PL_ERR_NOMEM or PL_ERR_IO. */
int pl_rpc__runtime_acquire(pl_rpc__runtime **prt, uv_loop_t *loop);
/* Drops a reference. The last one on a loop closes its uv_async; the last one in the process
 * stops the thread and calls grpc_shutdown. Every tag must have been delivered. */
void pl_rpc__runtime_release(pl_rpc__runtime *rt);
grpc_completion_queue *pl_rpc__runtime_cq(const pl_rpc__runtime *rt);
uv_loop_t *pl_rpc__runtime_loop(const pl_rpc__runtime *rt);

void pl_rpc__tag_init(pl_rpc__tag *tag, pl_rpc__runtime *rt, pl_rpc__tag_fn fn);
/* Delivers `tag` with `ok` on a later turn of the loop, as if gRPC had completed it. */
void pl_rpc__tag_post(pl_rpc__tag *tag, int ok);
/* grpc_call_start_batch; a batch gRPC refuses is delivered as a failed completion, so callers
 * have one path for every outcome. */
void pl_rpc__start_batch(grpc_call *call, const grpc_op *ops, size_t nops, pl_rpc__tag *tag);

/* ------------------------------------------------------------------------------------------
 * Codec (codec.c)
 * ---------------------------------------------------------------------------------------- */

/* Serializes `msg`. Returns NULL when out of memory. */
grpc_byte_buffer *pl_rpc__pack(const ProtobufCMessage *msg);
/* Parses `bb` as `desc` after the strict wire-type check (pbcheck.c); free with
 * protobuf_c_message_free_unpacked. NULL if either refuses the bytes. */
ProtobufCMessage *pl_rpc__unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc);
/* A NUL-terminated malloc'd copy of `s` (NULL when out of memory). */
char *pl_rpc__slice_strdup(grpc_slice s);
/* Whether metadata `key` in `md` equals `value` (compared without early exit). */
int pl_rpc__metadata_equals(const grpc_metadata_array *md, const char *key, const char *value);

/* ------------------------------------------------------------------------------------------
 * Server calls (server_call.c), created by server.c
 * ---------------------------------------------------------------------------------------- */

/* What a new call needs from its server. */
typedef struct pl_rpc__call_env {
  pl_rpc__runtime *rt;
  const char *authorization; /* the required "Bearer <token>"; NULL: no check */
  size_t send_limit;         /* each call's send-queue limit (the server config's) */
  /* Called on the loop thread after the call is freed. */
  void (*on_freed)(void *server);
  void *server;
} pl_rpc__call_env;

/* Takes ownership of `gcall` and `md` (left empty). `svc`/`method` NULL means the path
 * `unknown_path` matched no method: the call is answered UNIMPLEMENTED. */
void pl_rpc__server_call_begin(const pl_rpc__call_env *env, grpc_call *gcall,
                               grpc_metadata_array *md, const pl_rpc_service *svc,
                               const pl_rpc_method *method, const char *unknown_path);

/* ------------------------------------------------------------------------------------------
 * Channels (channel.c), used by client calls (client_call.c)
 * ---------------------------------------------------------------------------------------- */

/* First member of every client call, so the channel can list its calls. */
typedef struct pl_rpc__link {
  struct pl_rpc__link *prev, *next;
} pl_rpc__link;

/* Adds a call to the channel's list. Returns 0 or PL_ERR_CLOSED (channel being freed). */
int pl_rpc__channel_attach(pl_rpc_channel *ch, pl_rpc__link *call);
/* Removes a freed call; the last one frees a channel whose owner already let go of it. */
void pl_rpc__channel_detach(pl_rpc_channel *ch, pl_rpc__link *call);
grpc_channel *pl_rpc__channel_grpc(const pl_rpc_channel *ch);
pl_rpc__runtime *pl_rpc__channel_runtime(const pl_rpc_channel *ch);
/* "Bearer <token>" or NULL. */
const char *pl_rpc__channel_authorization(const pl_rpc_channel *ch);

/* Write queue (sendq.c): packed messages waiting, in order, for their SEND_MESSAGE, and the one
 * in flight (the core allows one per call). Bounded: at `limit` messages pending (the one in
 * flight included) a push is refused, so a peer that reads slowly cannot make us buffer without
 * bound. */
typedef struct pl_rpc__sendq_item {
  grpc_byte_buffer *bb;
  struct pl_rpc__sendq_item *next;
} pl_rpc__sendq_item;

typedef struct pl_rpc__sendq {
  pl_rpc__sendq_item *head, *tail;
  size_t count;               /* waiting, not counting the one in flight */
  size_t limit;               /* most messages pending; 0 means PL_RPC_SEND_QUEUE_DEFAULT */
  grpc_byte_buffer *inflight; /* handed to a SEND_MESSAGE op, not completed yet */
} pl_rpc__sendq;

/* Wraps bb in an item (taking it; destroyed when allocation fails, NULL is returned). */
pl_rpc__sendq_item *pl_rpc__sendq_item_new(grpc_byte_buffer *bb);
/* Appends an item made by pl_rpc__sendq_item_new, whatever the limit; cannot fail. For the one
 * request of a unary call, queued before anything else. */
void pl_rpc__sendq_append(pl_rpc__sendq *q, pl_rpc__sendq_item *item);
/* item_new + append, within the limit. Takes bb in every case (destroyed on failure).
 * Returns 0, PL_ERR_FULL (limit reached), PL_ERR_NOMEM (bb NULL or no memory). */
int pl_rpc__sendq_push(pl_rpc__sendq *q, grpc_byte_buffer *bb);
/* Moves the oldest waiting message in flight and returns it for the SEND_MESSAGE op (NULL when
 * none waits). Call only when nothing is in flight. */
grpc_byte_buffer *pl_rpc__sendq_next(pl_rpc__sendq *q);
/* The SEND_MESSAGE completed (or failed): frees the message in flight. */
void pl_rpc__sendq_sent(pl_rpc__sendq *q);
/* Messages not yet sent, including the one in flight. */
size_t pl_rpc__sendq_pending(const pl_rpc__sendq *q);
/* The limit in force (the default when none was set). */
size_t pl_rpc__sendq_limit(const pl_rpc__sendq *q);
/* Destroys the waiting messages, not the one in flight. Returns how many. */
size_t pl_rpc__sendq_discard(pl_rpc__sendq *q);
/* Destroys every message, waiting or in flight. */
void pl_rpc__sendq_clear(pl_rpc__sendq *q);

#endif
