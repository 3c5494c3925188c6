#ifndef PEERLINK_BRIDGE_INTERNAL_H
#define PEERLINK_BRIDGE_INTERNAL_H

/* Shared between the files of control/bridge/ (the libwebsockets glue). */

#include <libwebsockets.h>

#include "control/bridge/access.h"
#include "control/bridge/bridge.h"
#include "control/bridge/gwbody.h"
#include "control/bridge/reasons.h"
#include "control/bridge/services.h"
#include "control/bridge/wsframe.h"
#include "control/rpc/rpc.h"

#define PL_BRIDGE_PROTOCOL_WS "grpc-websockets"
#define PL_BRIDGE_HEADERS_MAX 8192
/* Responses queued for a slow browser, in bytes: above HIGH the bridge stops reading from the
 * agent (HTTP/2 flow control holds the rest), below LOW it reads again. */
#define PL_BRIDGE_OUT_HIGH (1u << 20)
#define PL_BRIDGE_OUT_LOW (256u << 10)
/* Room before a queued frame (LWS_PRE and a chunk-size line) and after it (the chunk's CRLF). */
#define PL_BRIDGE_OUT_HEAD (LWS_PRE + 16)
#define PL_BRIDGE_OUT_TAIL 2

typedef struct pl_bridge__call pl_bridge__call;

/* Per-connection data lws allocates for each protocol (http.c, ws.c check they fit). */
#define PL_BRIDGE__HTTP_PSS_SIZE 64
#define PL_BRIDGE__WS_PSS_SIZE 32

struct pl_bridge {
  uv_loop_t *loop;
  struct lws_context *ctx; /* NULL once libwebsockets finished destroying it */
  struct lws_vhost *vhost;
  pl_rpc_channel *channel;
  pl_bridge_services services;
  pl_bridge_access access;
  char **allow_origins;
  char *ui_dir;
  size_t max_message;
  pl_bridge_counters counters;
  pl_bridge__call *calls; /* live calls */
  int stopping;
};

/* One response frame waiting for the socket. */
typedef struct pl_bridge__out {
  struct pl_bridge__out *next;
  size_t len; /* frame bytes at buf + PL_BRIDGE_OUT_HEAD */
  unsigned char buf[];
} pl_bridge__out;

typedef enum { PL_BRIDGE__WS, PL_BRIDGE__GRPCWEB } pl_bridge__transport;

/* One browser call: its connection (wsi) and its call to the agent (rpc) have lifetimes of
 * their own; the call is freed once both are gone. */
struct pl_bridge__call {
  pl_bridge *bridge;
  pl_bridge__call *prev, *next;
  struct lws *wsi;         /* NULL once the connection is closed or the response done */
  pl_rpc_client_call *rpc; /* NULL until started and once its status arrived */
  pl_bridge__transport transport;
  char path[256];
  char peer[64];

  pl_bridge__out *head, *tail;
  size_t out_bytes;
  int paused;

  int ended; /* the status is decided (the agent's, or the bridge's own) */
  pl_rpc_status code;
  char message[512];
  int headers_written;
  int trailer_written;

  /* request side */
  pl_bridge_ws_reader ws;
  pl_bridge_gw_body body;
  int body_done;
  int close_after;       /* a malformed request: the connection closes after the response */
  char token[256];       /* presented by the browser ("" when none) */
  char cors_origin[256]; /* an allowed cross-origin (gRPC-Web responses carry CORS headers) */
};

/* call.c */
pl_bridge__call *pl_bridge__call_new(pl_bridge *b, struct lws *wsi, pl_bridge__transport t,
                                     const char *path);
/* Checks the service and starts the agent call. Ends the call (UNIMPLEMENTED, UNAVAILABLE)
 * when it cannot start. */
void pl_bridge__call_start(pl_bridge__call *c, uint64_t timeout_ms);
/* A request message, or the end of them. */
void pl_bridge__call_request(pl_bridge__call *c, const uint8_t *msg, size_t len);
void pl_bridge__call_half_close(pl_bridge__call *c);
/* Decides the status here (cancelling the agent call) unless it is decided already. */
void pl_bridge__call_end(pl_bridge__call *c, pl_rpc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The next queued frame (the caller frees it), or NULL; reading from the agent resumes when
 * the queue has drained enough. */
pl_bridge__out *pl_bridge__call_pop(pl_bridge__call *c);
/* The connection is gone (or done with this call): cancels the agent call if live; frees the
 * call once its status arrived. */
void pl_bridge__call_detach(pl_bridge__call *c);
/* A refusal: counted, and logged on one line. */
void pl_bridge__refuse(pl_bridge *b, pl_bridge_reason r, const char *transport, const char *peer,
                       const char *path);
/* The trailer block for the call's status, as "key: value\r\n" lines. */
size_t pl_bridge__call_trailers(const pl_bridge__call *c, char *out, size_t cap);

/* ws.c, http.c */
int pl_bridge__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len);
int pl_bridge__http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len);
/* grpcweb.c: the gRPC-Web side of the HTTP protocol */
int pl_bridge__grpcweb_begin(pl_bridge *b, struct lws *wsi, pl_bridge__call **pcall,
                             const char *path, int cross_origin);
int pl_bridge__grpcweb_body(pl_bridge__call *c, const void *in, size_t len);
int pl_bridge__grpcweb_body_done(pl_bridge__call *c);
/* Returns -1 when the connection must close, 1 when the call's response is complete (the HTTP
 * side drops it), else 0. */
int pl_bridge__grpcweb_writeable(pl_bridge__call *c);
/* static.c: GET of a file under --ui. Returns what the HTTP callback should return. */
int pl_bridge__static_serve(pl_bridge *b, struct lws *wsi, const char *path);

/* Headers of the request being served (lws_hdr_copy / custom headers); "" when absent. */
int pl_bridge__header(struct lws *wsi, enum lws_token_indexes tok, char *out, size_t cap);
int pl_bridge__custom_header(struct lws *wsi, const char *name_colon, char *out, size_t cap);
/* The token the request presents (cookie or x-peerlink-token), "" when none. */
void pl_bridge__request_token(struct lws *wsi, char *out, size_t cap);
/* Host and Origin checks for a request; refuses (counted) and returns 0 when it may not be
 * served. *pcross as pl_bridge_access_origin_ok. */
int pl_bridge__request_allowed(pl_bridge *b, struct lws *wsi, const char *transport, int *pcross,
                               char *origin, size_t origin_cap);

#endif
