/* gRPC-Web over HTTP/1.1 POST (gRPC's PROTOCOL-WEB.md, binary mode): the request body is gRPC
 * frames; the response is 200 with gRPC frames in a chunked body and the trailers as a final
 * 0x80 frame, or, when the call ends before any message, a trailers-only response with
 * grpc-status in the HTTP headers. Responses stream as the agent sends them. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/bridge/internal.h"
#include "control/bridge/lpm.h"
#include "control/bridge/metadata.h"
#include "control/common/err.h"

#define CONTENT_TYPE "application/grpc-web+proto"

int pl_bridge__grpcweb_begin(pl_bridge *b, struct lws *wsi, pl_bridge__call **pcall,
                             const char *path, int cross_origin) {
  pl_bridge__call *c = pl_bridge__call_new(b, wsi, PL_BRIDGE__GRPCWEB, path);
  if (!c)
    return -1;
  *pcall = c;
  if (cross_origin)
    pl_bridge__header(wsi, WSI_TOKEN_ORIGIN, c->cors_origin, sizeof c->cors_origin);
  pl_bridge__request_token(wsi, c->token, sizeof c->token);
  if (!pl_bridge_access_token_ok(&b->access, c->token[0] ? c->token : NULL)) {
    pl_bridge__refuse(b, PL_BRIDGE_R_TOKEN, "grpc-web", c->peer, path);
    pl_bridge__call_end(c, PL_RPC_UNAUTHENTICATED,
                        "this bridge needs its token: header \"%s\" or the cookie set by opening "
                        "the UI with ?token=",
                        PL_BRIDGE_TOKEN_HEADER);
    return 0;
  }
  char timeout[32];
  uint64_t timeout_ms = 0;
  if (pl_bridge__custom_header(wsi, "grpc-timeout:", timeout, sizeof timeout) > 0 &&
      pl_bridge_timeout_parse(timeout, &timeout_ms) != 0) {
    pl_bridge__call_end(c, PL_RPC_INVALID_ARGUMENT, "bad grpc-timeout \"%s\"", timeout);
    return 0;
  }
  pl_bridge__call_start(c, timeout_ms);
  return 0;
}

static int on_message(void *arg, const uint8_t *msg, size_t len) {
  pl_bridge__call_request(arg, msg, len);
  return 0;
}

static void body_refused(pl_bridge__call *c, int rv) {
  pl_bridge_reason r = c->body.reason;
  pl_bridge__refuse(c->bridge, r, "grpc-web", c->peer, c->path);
  if (rv == PL_ERR_TOO_BIG)
    pl_bridge__call_end(c, PL_RPC_RESOURCE_EXHAUSTED,
                        "request message of %zu bytes is over the bridge's limit of %zu",
                        c->body.lpm.too_big_len, c->bridge->max_message);
  else
    pl_bridge__call_end(c, PL_RPC_INTERNAL, "malformed gRPC-Web request body: %s",
                        pl_bridge_reason_name(r));
  /* The rest of the body cannot be trusted to be where a next request would start. */
  c->close_after = rv == PL_ERR_PARSE;
}

int pl_bridge__grpcweb_body(pl_bridge__call *c, const void *in, size_t len) {
  if (c->ended)
    return 0;
  int rv = pl_bridge_gw_body_feed(&c->body, in, len, on_message, c);
  if (rv == PL_ERR_PARSE || rv == PL_ERR_TOO_BIG)
    body_refused(c, rv);
  else if (rv != 0)
    pl_bridge__call_end(c, PL_RPC_RESOURCE_EXHAUSTED, "bridge: %s", pl_strerror(rv));
  return 0;
}

int pl_bridge__grpcweb_body_done(pl_bridge__call *c) {
  c->body_done = 1;
  if (!c->ended) {
    if (pl_bridge_gw_body_end(&c->body) != 0)
      body_refused(c, PL_ERR_PARSE);
    else
      pl_bridge__call_half_close(c);
  }
  if (c->ended || c->head)
    lws_callback_on_writable(c->wsi);
  return 0;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end) {
  return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
                                     (int)strlen(value), p, end);
}

static int add_cors(pl_bridge__call *c, unsigned char **p, unsigned char *end) {
  if (!c->cors_origin[0])
    return 0;
  return add_header(c->wsi, "access-control-allow-origin:", c->cors_origin, p, end) ||
         add_header(c->wsi, "access-control-expose-headers:", "grpc-status, grpc-message", p,
                    end) ||
         add_header(c->wsi, "vary:", "Origin", p, end);
}

/* The HTTP headers: trailers-only (the status in them, no body) or the start of a stream. */
static int write_headers(pl_bridge__call *c, int trailers_only) {
  unsigned char buf[LWS_PRE + 4096], *start = buf + LWS_PRE, *p = start,
                                     *end = buf + sizeof buf - 1;
  struct lws *wsi = c->wsi;
  if (lws_add_http_header_status(wsi, HTTP_STATUS_OK, &p, end) ||
      lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                   (const unsigned char *)CONTENT_TYPE, strlen(CONTENT_TYPE), &p,
                                   end) ||
      add_cors(c, &p, end))
    return -1;
  if (trailers_only) {
    char code[16], msg[1600];
    snprintf(code, sizeof code, "%d", (int)c->code);
    pl_bridge_percent_encode(c->message, msg, sizeof msg);
    if (add_header(wsi, "grpc-status:", code, &p, end) ||
        (msg[0] && add_header(wsi, "grpc-message:", msg, &p, end)) ||
        lws_add_http_header_content_length(wsi, 0, &p, end))
      return -1;
  } else if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
                                          (const unsigned char *)"chunked", 7, &p, end)) {
    return -1;
  }
  return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* Writes frame bytes as one HTTP/1.1 chunk; `data` has room for the size line before it and
 * the CRLF after it (PL_BRIDGE_OUT_HEAD, PL_BRIDGE_OUT_TAIL). */
static int write_chunk(struct lws *wsi, unsigned char *data, size_t len, int last) {
  char line[16];
  int n = snprintf(line, sizeof line, "%zx\r\n", len);
  unsigned char *start = data - n;
  memcpy(start, line, (size_t)n);
  memcpy(data + len, "\r\n", 2);
  size_t total = (size_t)n + len + 2;
  if (last) {
    memcpy(data + len + 2, "0\r\n\r\n", 5);
    total += 5;
  }
  int w = lws_write(wsi, start, total, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
  return w < (int)total ? -1 : 0;
}

int pl_bridge__grpcweb_writeable(pl_bridge__call *c) {
  if (!c->body_done)
    return 0;
  if (!c->headers_written) {
    if (!c->head && !c->ended)
      return 0;
    c->headers_written = 1;
    int trailers_only = !c->head;
    if (write_headers(c, trailers_only) != 0)
      return -1;
    if (trailers_only) {
      c->trailer_written = 1;
      return 1;
    }
    lws_callback_on_writable(c->wsi);
    return 0;
  }
  pl_bridge__out *o = pl_bridge__call_pop(c);
  if (o) {
    int rv = write_chunk(c->wsi, o->buf + PL_BRIDGE_OUT_HEAD, o->len, 0);
    free(o);
    if (rv != 0)
      return -1;
    if (c->head || c->ended)
      lws_callback_on_writable(c->wsi);
    return 0;
  }
  if (!c->ended || c->trailer_written)
    return 0;
  char block[1024];
  size_t blen = pl_bridge__call_trailers(c, block, sizeof block);
  unsigned char buf[PL_BRIDGE_OUT_HEAD + PL_BRIDGE_LPM_HEADER + sizeof block + 8];
  unsigned char *frame = buf + PL_BRIDGE_OUT_HEAD;
  pl_bridge_lpm_header(frame, PL_BRIDGE_LPM_FLAG_TRAILER, blen);
  memcpy(frame + PL_BRIDGE_LPM_HEADER, block, blen);
  c->trailer_written = 1;
  if (write_chunk(c->wsi, frame, PL_BRIDGE_LPM_HEADER + blen, 1) != 0)
    return -1;
  return 1;
}
