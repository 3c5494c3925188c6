/* Browser calls carried to the agent: the queue of response frames between the agent's
 * messages and a socket that may be slower, and the end of a call, whichever side ends it. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/bridge/internal.h"
#include "control/bridge/lpm.h"
#include "control/bridge/metadata.h"
#include "control/common/err.h"
#include "control/common/log.h"

static const char *transport_name(const pl_bridge__call *c) {
  return c->transport == PL_BRIDGE__WS ? "ws" : "grpc-web";
}

void pl_bridge__refuse(pl_bridge *b, pl_bridge_reason r, const char *transport, const char *peer,
                       const char *path) {
  b->counters.refused[r]++;
  pl_log(PL_LOG_WARN, "refused", "reason=%s transport=%s peer=%s path=%s count=%llu",
         pl_bridge_reason_name(r), transport, peer && *peer ? peer : "-",
         path && *path ? path : "-", (unsigned long long)b->counters.refused[r]);
}

pl_bridge__call *pl_bridge__call_new(pl_bridge *b, struct lws *wsi, pl_bridge__transport t,
                                     const char *path) {
  pl_bridge__call *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->bridge = b;
  c->wsi = wsi;
  c->transport = t;
  snprintf(c->path, sizeof c->path, "%s", path ? path : "");
  lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
  pl_bridge_ws_reader_init(&c->ws, b->max_message, PL_BRIDGE_HEADERS_MAX);
  pl_bridge_gw_body_init(&c->body, b->max_message);
  c->next = b->calls;
  if (b->calls)
    b->calls->prev = c;
  b->calls = c;
  b->counters.calls_active++;
  if (t == PL_BRIDGE__WS)
    b->counters.calls_ws++;
  else
    b->counters.calls_grpcweb++;
  return c;
}

static void call_free(pl_bridge__call *c) {
  pl_bridge *b = c->bridge;
  if (c->prev)
    c->prev->next = c->next;
  else
    b->calls = c->next;
  if (c->next)
    c->next->prev = c->prev;
  b->counters.calls_active--;
  for (pl_bridge__out *o = c->head, *n; o; o = n) {
    n = o->next;
    free(o);
  }
  pl_bridge_ws_reader_free(&c->ws);
  pl_bridge_gw_body_free(&c->body);
  free(c);
}

static void want_write(pl_bridge__call *c) {
  if (c->wsi)
    lws_callback_on_writable(c->wsi);
}

static void on_message(pl_rpc_client_call *rpc, const uint8_t *data, size_t len, void *arg) {
  pl_bridge__call *c = arg;
  (void)rpc;
  /* The status is decided here already; what the agent still says is not wanted. */
  if (c->ended || !c->wsi)
    return;
  size_t frame = PL_BRIDGE_LPM_HEADER + len;
  pl_bridge__out *o = malloc(sizeof *o + PL_BRIDGE_OUT_HEAD + frame + PL_BRIDGE_OUT_TAIL);
  if (!o) {
    pl_bridge__call_end(c, PL_RPC_RESOURCE_EXHAUSTED, "bridge out of memory");
    return;
  }
  o->next = NULL;
  o->len = frame;
  pl_bridge_lpm_header(o->buf + PL_BRIDGE_OUT_HEAD, 0, len);
  memcpy(o->buf + PL_BRIDGE_OUT_HEAD + PL_BRIDGE_LPM_HEADER, data, len);
  if (c->tail)
    c->tail->next = o;
  else
    c->head = o;
  c->tail = o;
  c->out_bytes += frame;
  if (c->out_bytes > PL_BRIDGE_OUT_HIGH && !c->paused && c->rpc) {
    c->paused = 1;
    pl_rpc_client_call_pause_recv(c->rpc, 1);
  }
  want_write(c);
}

static void on_status(pl_rpc_client_call *rpc, pl_rpc_status code, const char *message, void *arg) {
  pl_bridge__call *c = arg;
  (void)rpc;
  c->rpc = NULL;
  if (!c->ended) {
    c->ended = 1;
    c->code = code;
    snprintf(c->message, sizeof c->message, "%s", message);
  }
  if (!c->wsi) {
    call_free(c);
    return;
  }
  want_write(c);
}

static const pl_rpc_client_raw_callbacks raw_cb = {on_message, on_status};

void pl_bridge__call_start(pl_bridge__call *c, uint64_t timeout_ms) {
  pl_bridge *b = c->bridge;
  if (!pl_bridge_services_allow(&b->services, c->path)) {
    pl_bridge__refuse(b, PL_BRIDGE_R_SERVICE, transport_name(c), c->peer, c->path);
    pl_bridge__call_end(c, PL_RPC_UNIMPLEMENTED, "unknown method %s (not exposed by the bridge)",
                        c->path);
    return;
  }
  int rv = pl_rpc_client_call_start_raw(&c->rpc, b->channel, c->path, &raw_cb, c, timeout_ms);
  if (rv != 0) {
    c->rpc = NULL;
    pl_bridge__call_end(c, PL_RPC_UNAVAILABLE, "bridge cannot start the call: %s", pl_strerror(rv));
  }
}

void pl_bridge__call_request(pl_bridge__call *c, const uint8_t *msg, size_t len) {
  if (c->ended || !c->rpc)
    return;
  int rv = pl_rpc_client_call_send_raw(c->rpc, msg, len);
  if (rv == PL_ERR_FULL) {
    pl_bridge__refuse(c->bridge, PL_BRIDGE_R_AGENT_FULL, transport_name(c), c->peer, c->path);
    pl_bridge__call_end(c, PL_RPC_RESOURCE_EXHAUSTED,
                        "the agent reads requests too slowly: %zu messages queued",
                        pl_rpc_client_call_pending(c->rpc));
  } else if (rv != 0 && rv != PL_ERR_CLOSED) {
    pl_bridge__call_end(c, PL_RPC_RESOURCE_EXHAUSTED, "bridge cannot queue the request: %s",
                        pl_strerror(rv));
  }
}

void pl_bridge__call_half_close(pl_bridge__call *c) {
  if (!c->ended && c->rpc)
    pl_rpc_client_call_close_send(c->rpc);
}

void pl_bridge__call_end(pl_bridge__call *c, pl_rpc_status code, const char *fmt, ...) {
  if (c->ended)
    return;
  c->ended = 1;
  c->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->message, sizeof c->message, fmt, ap);
  va_end(ap);
  /* Responses not yet written would contradict the status: drop them. */
  for (pl_bridge__out *o = c->head, *n; o; o = n) {
    n = o->next;
    free(o);
  }
  c->head = c->tail = NULL;
  c->out_bytes = 0;
  if (c->rpc)
    pl_rpc_client_call_cancel(c->rpc); /* its on_status still comes, and frees nothing early */
  want_write(c);
}

pl_bridge__out *pl_bridge__call_pop(pl_bridge__call *c) {
  pl_bridge__out *o = c->head;
  if (!o)
    return NULL;
  c->head = o->next;
  if (!c->head)
    c->tail = NULL;
  c->out_bytes -= o->len;
  if (c->paused && c->out_bytes < PL_BRIDGE_OUT_LOW && c->rpc) {
    c->paused = 0;
    pl_rpc_client_call_pause_recv(c->rpc, 0);
  }
  return o;
}

void pl_bridge__call_detach(pl_bridge__call *c) {
  c->wsi = NULL;
  if (c->rpc) {
    /* A closed socket cancels its call; the status frees the call. */
    pl_rpc_client_call_cancel(c->rpc);
    return;
  }
  call_free(c);
}

size_t pl_bridge__call_trailers(const pl_bridge__call *c, char *out, size_t cap) {
  return pl_bridge_trailers_block(c->code, c->message, out, cap);
}
