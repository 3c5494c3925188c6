/* grpc-websockets (improbable-eng's protocol): one WebSocket per call at the method path.
 *
 * The server side: a header frame (0x80 + length + "key: value\r\n" block) before anything
 * else, one WebSocket message per gRPC response frame, a trailer frame, then a clean Close 1000.
 *
 * The close is made from a timer callback, never from SERVER_WRITEABLE: under a libuv loop,
 * lws 4.1.6 sends no Close frame for a close returned from WRITEABLE, browsers report 1006, and
 * nice-grpc-web then fails a call that succeeded (fixed upstream only in 5.0). */

#include <stdlib.h>
#include <string.h>

#include "control/bridge/internal.h"
#include "control/bridge/lpm.h"
#include "control/bridge/metadata.h"
#include "control/common/err.h"

typedef struct ws_pss {
  pl_bridge__call *call;
  int closing; /* the trailer is out; the close timer is set */
} ws_pss;

_Static_assert(sizeof(ws_pss) <= PL_BRIDGE__WS_PSS_SIZE, "lws allocates this much");

static const char response_headers[] = "content-type: application/grpc-web+proto\r\n";

static pl_bridge *bridge_of(struct lws *wsi) {
  return lws_context_user(lws_get_context(wsi));
}

typedef struct header_ctx {
  pl_bridge__call *call;
  uint64_t timeout_ms;
} header_ctx;

static int on_header(void *arg, const char *key, const char *value) {
  header_ctx *h = arg;
  if (strcmp(key, "grpc-timeout") == 0) {
    if (pl_bridge_timeout_parse(value, &h->timeout_ms) != 0)
      return PL_ERR_PARSE;
  } else if (strcmp(key, PL_BRIDGE_TOKEN_HEADER) == 0) {
    snprintf(h->call->token, sizeof h->call->token, "%s", value);
  }
  /* Nothing else is forwarded: the agent sees the bridge's own metadata only (its token). */
  return 0;
}

static int on_headers(void *arg, const char *block, size_t len) {
  pl_bridge__call *c = arg;
  pl_bridge *b = c->bridge;
  header_ctx h = {c, 0};
  if (pl_bridge_headers_parse(block, len, on_header, &h) != 0) {
    c->ws.reason = PL_BRIDGE_R_BAD_HEADERS;
    return PL_ERR_PARSE;
  }
  if (!pl_bridge_access_token_ok(&b->access, c->token[0] ? c->token : NULL)) {
    pl_bridge__refuse(b, PL_BRIDGE_R_TOKEN, "ws", c->peer, c->path);
    pl_bridge__call_end(c, PL_RPC_UNAUTHENTICATED,
                        "this bridge needs its token: send it as metadata \"%s\" or open the UI "
                        "with ?token=",
                        PL_BRIDGE_TOKEN_HEADER);
    return 0;
  }
  pl_bridge__call_start(c, h.timeout_ms);
  return 0;
}

static int on_message(void *arg, const uint8_t *msg, size_t len) {
  pl_bridge__call_request(arg, msg, len);
  return 0;
}

static int on_half_close(void *arg) {
  pl_bridge__call_half_close(arg);
  return 0;
}

static const pl_bridge_ws_events events = {on_headers, on_message, on_half_close};

/* Returns what the callback returns. */
static int on_receive(struct lws *wsi, ws_pss *pss, const void *in, size_t len) {
  pl_bridge__call *c = pss->call;
  /* After the status is decided the rest of the request does not matter (a half-close often
   * arrives after a unary call's answer). */
  if (!c || c->ended)
    return 0;
  int rv = pl_bridge_ws_reader_recv(&c->ws, in, len, lws_is_first_fragment(wsi),
                                    lws_is_final_fragment(wsi), &events, c);
  if (rv == PL_ERR_PARSE) {
    const char *why = pl_bridge_reason_name(c->ws.reason);
    pl_bridge__refuse(c->bridge, c->ws.reason, "ws", c->peer, c->path);
    pl_bridge__call_end(c, PL_RPC_INTERNAL, "malformed grpc-websockets message: %s", why);
    /* From RECEIVE the Close frame does go out (unlike from WRITEABLE). */
    lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, (unsigned char *)why, strlen(why));
    return -1;
  }
  if (rv == PL_ERR_TOO_BIG) {
    pl_bridge__refuse(c->bridge, PL_BRIDGE_R_TOO_BIG, "ws", c->peer, c->path);
    pl_bridge__call_end(c, PL_RPC_RESOURCE_EXHAUSTED,
                        "request message of %zu bytes is over the bridge's limit of %zu",
                        c->ws.lpm.too_big_len, c->bridge->max_message);
  } else if (rv != 0) {
    pl_bridge__call_end(c, PL_RPC_RESOURCE_EXHAUSTED, "bridge: %s", pl_strerror(rv));
  }
  return 0;
}

/* One metadata frame (0x80): the headers or the trailers. */
static int write_metadata(struct lws *wsi, const char *block, size_t len) {
  unsigned char buf[LWS_PRE + PL_BRIDGE_LPM_HEADER + 2048];
  if (len > sizeof buf - LWS_PRE - PL_BRIDGE_LPM_HEADER)
    len = sizeof buf - LWS_PRE - PL_BRIDGE_LPM_HEADER;
  unsigned char *p = buf + LWS_PRE;
  pl_bridge_lpm_header(p, PL_BRIDGE_LPM_FLAG_TRAILER, len);
  memcpy(p + PL_BRIDGE_LPM_HEADER, block, len);
  size_t n = PL_BRIDGE_LPM_HEADER + len;
  return lws_write(wsi, p, n, LWS_WRITE_BINARY) < (int)n ? -1 : 0;
}

/* One write per WRITEABLE, as lws wants: headers, then frames, then the trailer. */
static int on_writeable(struct lws *wsi, ws_pss *pss) {
  pl_bridge__call *c = pss->call;
  if (!c || pss->closing)
    return 0;
  if (!c->headers_written) {
    if (!c->head && !c->ended)
      return 0;
    c->headers_written = 1;
    if (write_metadata(wsi, response_headers, sizeof response_headers - 1) != 0)
      return -1;
    lws_callback_on_writable(wsi);
    return 0;
  }
  pl_bridge__out *o = pl_bridge__call_pop(c);
  if (o) {
    int n = lws_write(wsi, o->buf + PL_BRIDGE_OUT_HEAD, o->len, LWS_WRITE_BINARY);
    int short_write = n < (int)o->len;
    free(o);
    if (short_write)
      return -1;
    if (c->head || c->ended)
      lws_callback_on_writable(wsi);
    return 0;
  }
  if (c->ended && !c->trailer_written) {
    char block[1024];
    size_t len = pl_bridge__call_trailers(c, block, sizeof block);
    c->trailer_written = 1;
    if (write_metadata(wsi, block, len) != 0)
      return -1;
    /* lws calls WRITEABLE again only once everything buffered has gone out. */
    lws_callback_on_writable(wsi);
    return 0;
  }
  if (c->trailer_written) {
    pss->closing = 1;
    lws_set_timer_usecs(wsi, 1);
  }
  return 0;
}

int pl_bridge__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len) {
  ws_pss *pss = user;
  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    int cross;
    char origin[256];
    /* Nonzero refuses the upgrade. */
    return pl_bridge__request_allowed(bridge_of(wsi), wsi, "ws", &cross, origin, sizeof origin) ? 0
                                                                                                : 1;
  }
  case LWS_CALLBACK_ESTABLISHED: {
    char path[256];
    pl_bridge__header(wsi, WSI_TOKEN_GET_URI, path, sizeof path);
    pss->closing = 0;
    pss->call = pl_bridge__call_new(bridge_of(wsi), wsi, PL_BRIDGE__WS, path);
    if (!pss->call)
      return -1;
    /* A cookie or header on the upgrade request counts; the headers message may bring one. */
    pl_bridge__request_token(wsi, pss->call->token, sizeof pss->call->token);
    return 0;
  }
  case LWS_CALLBACK_RECEIVE: return on_receive(wsi, pss, in, len);
  case LWS_CALLBACK_SERVER_WRITEABLE: return on_writeable(wsi, pss);
  case LWS_CALLBACK_TIMER: lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0); return -1;
  case LWS_CALLBACK_CLOSED:
    if (pss->call) {
      pl_bridge__call *c = pss->call;
      pss->call = NULL;
      pl_bridge__call_detach(c);
    }
    return 0;
  default: return 0;
  }
}
