#ifndef PEERLINK_RPC_H
#define PEERLINK_RPC_H

/* peerlink's gRPC layer: the gRPC C core driven from one libuv loop.
 *
 * Nothing outside control/rpc/ includes <grpc/grpc.h>. Programs describe their services as
 * method tables whose handlers run on the loop thread; messages are protobuf-c messages.
 *
 * Threading (see docs/rpc.md): one completion-queue thread per process blocks in
 * grpc_completion_queue_next, pushes each event onto a mutex-protected queue and wakes the
 * loop with uv_async_send; the loop thread drains the queue and makes every
 * grpc_call_start_batch call itself. Handlers therefore never race with each other.
 *
 * Every server also serves grpc.health.v1.Health and grpc.reflection.{v1,v1alpha}. */

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

/* gRPC status codes, numbered as gRPC's doc/statuscodes.md. */
typedef enum {
  PL_RPC_OK = 0,
  PL_RPC_CANCELLED = 1,
  PL_RPC_UNKNOWN = 2,
  PL_RPC_INVALID_ARGUMENT = 3,
  PL_RPC_DEADLINE_EXCEEDED = 4,
  PL_RPC_NOT_FOUND = 5,
  PL_RPC_ALREADY_EXISTS = 6,
  PL_RPC_PERMISSION_DENIED = 7,
  PL_RPC_RESOURCE_EXHAUSTED = 8,
  PL_RPC_FAILED_PRECONDITION = 9,
  PL_RPC_ABORTED = 10,
  PL_RPC_OUT_OF_RANGE = 11,
  PL_RPC_UNIMPLEMENTED = 12,
  PL_RPC_INTERNAL = 13,
  PL_RPC_UNAVAILABLE = 14,
  PL_RPC_DATA_LOSS = 15,
  PL_RPC_UNAUTHENTICATED = 16,
} pl_rpc_status;

/* "OK", "INVALID_ARGUMENT", ... */
const char *pl_rpc_status_name(pl_rpc_status code);

/* Every call, server or client side, has one bounded send queue: at most this many messages
 * pending (queued and not yet sent, the one in flight included) unless the server config or
 * the call sets another limit. A send beyond it is refused with PL_ERR_FULL and queues nothing;
 * what that means for a stream is its owner's decision (docs/rpc.md lists each stream's). */
#define PL_RPC_SEND_QUEUE_DEFAULT 1024

typedef enum {
  PL_RPC_UNARY,
  PL_RPC_SERVER_STREAMING,
  PL_RPC_CLIENT_STREAMING,
  PL_RPC_BIDI_STREAMING,
} pl_rpc_kind;

/* ------------------------------------------------------------------------------------------
 * Server
 * ---------------------------------------------------------------------------------------- */

typedef struct pl_rpc_server pl_rpc_server;
typedef struct pl_rpc_call pl_rpc_call; /* one incoming call; owned by the library */

typedef struct pl_rpc_method {
  const char *name; /* "GetStatus": the path is "/<service>/<name>" */
  pl_rpc_kind kind;
  const ProtobufCMessageDescriptor *request;
  const ProtobufCMessageDescriptor *response;
  /* A request message arrived and parsed (exactly once for UNARY and SERVER_STREAMING, once per
   * message otherwise). `msg` is freed when the handler returns. Required. */
  void (*on_request)(pl_rpc_call *call, const ProtobufCMessage *msg, void *service_data);
  /* The client half-closed its side (CLIENT/BIDI_STREAMING only). Optional. */
  void (*on_half_close)(pl_rpc_call *call, void *service_data);
  /* The call is over: finished by the handler, cancelled, deadline passed, client gone or
   * server shutting down. `cancelled` is nonzero unless the handler finished it. The call is
   * freed when this returns; drop every pointer to it. Optional. */
  void (*on_done)(pl_rpc_call *call, int cancelled, void *service_data);
} pl_rpc_method;

typedef struct pl_rpc_service {
  const char *full_name; /* "peerlink.v1.Agent" */
  const pl_rpc_method *methods;
  size_t n_methods;
  void *data; /* passed to every handler as service_data */
} pl_rpc_service;

typedef struct pl_rpc_server_config {
  const char *listen;       /* "HOST:PORT"; port 0 picks a free port */
  const char *token;        /* when set, every call must carry "authorization: Bearer <token>" or
                             * gets UNAUTHENTICATED. NULL: the listen address must be loopback. */
  size_t max_message_bytes; /* receive limit; 0 means 4 MiB. Larger → RESOURCE_EXHAUSTED */
  size_t send_queue_limit;  /* each call's send-queue limit; 0 means PL_RPC_SEND_QUEUE_DEFAULT */
  /* Each connection's TCP read buffer, which an idle connection keeps: 0 is gRPC's own (8 KiB
   * chunks); a server holding many mostly idle connections (the rendezvous) sets ~1 KiB, and
   * gRPC still grows a busy connection's reads (up to 4 MiB). Setting it disables gRPC's
   * tcp_read_chunks experiment for the process (GRPC_EXPERIMENTS, unless already set), which
   * otherwise ignores it. */
  size_t read_chunk_bytes;
  /* FileDescriptorSet (with imports) served by reflection; usually pl_descriptor_set. */
  const uint8_t *descriptor_set;
  size_t descriptor_set_len;
} pl_rpc_server_config;

/* Creates a server on `loop`. Returns 0, PL_ERR_INVALID (bad listen address, or non-loopback
 * without token), PL_ERR_NOMEM, PL_ERR_PARSE (descriptor set does not parse). */
int pl_rpc_server_new(pl_rpc_server **pserver, uv_loop_t *loop, const pl_rpc_server_config *cfg);

/* Adds a service before start. `svc` and its method table must outlive the server. Its health
 * status starts SERVING. Returns 0, PL_ERR_STATE (already started), PL_ERR_NOMEM. */
int pl_rpc_server_add_service(pl_rpc_server *server, const pl_rpc_service *svc);

/* Binds and starts serving. *pbound_port receives the bound port (may be NULL).
 * Returns 0 or PL_ERR_IO (cannot bind). */
int pl_rpc_server_start(pl_rpc_server *server, int *pbound_port);

/* Sets the health of `service` ("" is the whole server) and notifies Health.Watch streams. */
void pl_rpc_server_set_health(pl_rpc_server *server, const char *service, int serving);

/* Stops accepting calls, lets running calls finish for up to `grace_ms`, then cancels the rest
 * (each gets on_done), frees the server and calls `done` on the loop thread. */
void pl_rpc_server_shutdown(pl_rpc_server *server, uint64_t grace_ms, void (*done)(void *arg),
                            void *arg);

/* Queues `msg` on the call's write queue (the library keeps one SEND_MESSAGE in flight).
 * Returns 0, PL_ERR_FULL (pl_rpc_call_send_limit messages pending already: nothing queued, the
 * call stays open), PL_ERR_CLOSED (call already finished or cancelled), PL_ERR_NOMEM. */
int pl_rpc_call_send(pl_rpc_call *call, const ProtobufCMessage *msg);

/* Ends the call with `code` and a human-readable message (printf format; may be NULL) after
 * every queued message was sent. Returns 0 or PL_ERR_CLOSED. */
int pl_rpc_call_finish(pl_rpc_call *call, pl_rpc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pl_rpc_call_send(msg) then pl_rpc_call_finish(OK); returns what the failing one returned. */
int pl_rpc_call_reply(pl_rpc_call *call, const ProtobufCMessage *msg);

void pl_rpc_call_set_data(pl_rpc_call *call, void *data);
void *pl_rpc_call_data(const pl_rpc_call *call);
/* The client's address as gRPC reports it, e.g. "ipv4:127.0.0.1:54321". */
const char *pl_rpc_call_peer(const pl_rpc_call *call);
/* Number of messages queued and not yet sent, the one in flight included. */
size_t pl_rpc_call_pending(const pl_rpc_call *call);
/* The call's send-queue limit: the server config's unless set for this call. */
size_t pl_rpc_call_send_limit(const pl_rpc_call *call);
/* Sets this call's limit (0: back to the server's). Messages already queued stay queued. */
void pl_rpc_call_set_send_limit(pl_rpc_call *call, size_t limit);
/* Drops the messages still waiting behind the one in flight (for streams where only the newest
 * message matters, e.g. a status). Returns how many; 0 once the call is finishing or over. */
size_t pl_rpc_call_discard_queued(pl_rpc_call *call);

/* ------------------------------------------------------------------------------------------
 * Client
 * ---------------------------------------------------------------------------------------- */

typedef struct pl_rpc_channel pl_rpc_channel;
typedef struct pl_rpc_client_call pl_rpc_client_call;

typedef struct pl_rpc_client_callbacks {
  /* A response message arrived; freed after return. Optional. */
  void (*on_message)(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg);
  /* The call ended (last callback). `message` is the server's grpc-message or ours.
   * The call is freed after this returns. Required. */
  void (*on_status)(pl_rpc_client_call *call, pl_rpc_status code, const char *message, void *arg);
} pl_rpc_client_callbacks;

/* An insecure channel to `target` ("HOST:PORT"); `token` (may be NULL) is sent as
 * "authorization: Bearer <token>". Returns 0, PL_ERR_INVALID, PL_ERR_NOMEM. */
int pl_rpc_channel_new(pl_rpc_channel **pchannel, uv_loop_t *loop, const char *target,
                       const char *token);
/* Cancels the channel's calls (their on_status runs with CANCELLED) and frees it. */
void pl_rpc_channel_free(pl_rpc_channel *channel);

/* Starts a call to `method_path` ("/peerlink.v1.Agent/GetStatus"). Responses are parsed with
 * `response`. timeout_ms 0 means no deadline. For unary and server-streaming calls send one
 * message and close_send. Returns 0, PL_ERR_NOMEM, PL_ERR_CLOSED. */
int pl_rpc_client_call_start(pl_rpc_client_call **pcall, pl_rpc_channel *channel,
                             const char *method_path, const ProtobufCMessageDescriptor *response,
                             const pl_rpc_client_callbacks *cb, void *arg, uint64_t timeout_ms);
/* Queues a request message. Returns 0, PL_ERR_FULL (pl_rpc_client_call_send_limit messages
 * pending already: nothing queued, the call goes on), PL_ERR_CLOSED, PL_ERR_NOMEM. */
int pl_rpc_client_call_send(pl_rpc_client_call *call, const ProtobufCMessage *msg);
/* Number of request messages queued and not yet sent, the one in flight included. */
size_t pl_rpc_client_call_pending(const pl_rpc_client_call *call);
/* The call's send-queue limit: PL_RPC_SEND_QUEUE_DEFAULT unless set for this call. */
size_t pl_rpc_client_call_send_limit(const pl_rpc_client_call *call);
/* Sets this call's limit (0: back to the default). Messages already queued stay queued. */
void pl_rpc_client_call_set_send_limit(pl_rpc_client_call *call, size_t limit);
/* Half-closes after queued messages are sent. */
int pl_rpc_client_call_close_send(pl_rpc_client_call *call);
/* Cancels; on_status follows with CANCELLED (or the status that raced it). */
void pl_rpc_client_call_cancel(pl_rpc_client_call *call);

/* Raw mode, for a proxy that forwards protobuf bytes it does not parse (peerlink-bridge).
 * Response messages arrive as bytes, unchecked; on_status is as above (the last callback). */
typedef struct pl_rpc_client_raw_callbacks {
  /* A response message arrived; `data` is valid until return. Optional. */
  void (*on_message)(pl_rpc_client_call *call, const uint8_t *data, size_t len, void *arg);
  /* As pl_rpc_client_callbacks.on_status. Required. */
  void (*on_status)(pl_rpc_client_call *call, pl_rpc_status code, const char *message, void *arg);
} pl_rpc_client_raw_callbacks;

/* Starts a raw call to `method_path`; requests go with pl_rpc_client_call_send_raw, the other
 * client functions work as for any call. Returns 0, PL_ERR_INVALID (no on_status),
 * PL_ERR_NOMEM, PL_ERR_CLOSED (channel being freed). */
int pl_rpc_client_call_start_raw(pl_rpc_client_call **pcall, pl_rpc_channel *channel,
                                 const char *method_path, const pl_rpc_client_raw_callbacks *cb,
                                 void *arg, uint64_t timeout_ms);
/* Queues `len` bytes as one request message, as they are (any call, raw or not). Returns 0,
 * PL_ERR_FULL, PL_ERR_CLOSED, PL_ERR_NOMEM, as pl_rpc_client_call_send. */
int pl_rpc_client_call_send_raw(pl_rpc_client_call *call, const void *data, size_t len);
/* paused = 1: once the response now awaited has arrived, stop asking gRPC for more, so the
 * server's messages wait in HTTP/2 flow control (a proxy whose own reader is slow); 0 reads
 * again. on_status still comes when the call ends. */
void pl_rpc_client_call_pause_recv(pl_rpc_client_call *call, int paused);

/* Convenience: one request, one response, callbacks as above. */
int pl_rpc_unary(pl_rpc_client_call **pcall, pl_rpc_channel *channel, const char *method_path,
                 const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response,
                 const pl_rpc_client_callbacks *cb, void *arg, uint64_t timeout_ms);

#endif
