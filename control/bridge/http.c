/* The HTTP side of the listener: gRPC-Web POSTs (grpcweb.c), CORS preflights for the
 * --allow-origin pages, the token cookie, /health, /debug/bridge, and the UI's static files
 * (static.c). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/bridge/internal.h"
#include "control/bridge/metadata.h"
#include "control/common/err.h"

typedef struct http_pss {
  pl_bridge__call *call; /* a gRPC-Web call in progress on this connection */
  char *body;            /* a small response's body, written at the next WRITEABLE */
  size_t body_len;
  int has_body;
} http_pss;

_Static_assert(sizeof(http_pss) <= PL_BRIDGE__HTTP_PSS_SIZE, "lws allocates this much");

static pl_bridge *bridge_of(struct lws *wsi) {
  return lws_context_user(lws_get_context(wsi));
}

/* A complete small response: headers now, the body at WRITEABLE. Returns the callback's
 * return value. */
static int respond(struct lws *wsi, http_pss *pss, unsigned status, const char *ctype,
                   const char *body, const char *xname, const char *xvalue) {
  unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                     *end = buf + sizeof buf - 1;
  size_t len = strlen(body);
  if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                  (const unsigned char *)"nosniff", 7, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)"no-store", 8, &p, end) ||
      (xname &&
       lws_add_http_header_by_name(wsi, (const unsigned char *)xname, (const unsigned char *)xvalue,
                                   (int)strlen(xvalue), &p, end)) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  free(pss->body);
  pss->body = NULL;
  if (len && !(pss->body = malloc(LWS_PRE + len)))
    return -1;
  if (len)
    memcpy(pss->body + LWS_PRE, body, len);
  pss->body_len = len;
  pss->has_body = 1;
  lws_callback_on_writable(wsi);
  return 0;
}

static int respond_text(struct lws *wsi, http_pss *pss, unsigned status, const char *text) {
  return respond(wsi, pss, status, "text/plain; charset=utf-8", text, NULL, NULL);
}

static int write_body(struct lws *wsi, http_pss *pss) {
  pss->has_body = 0;
  if (pss->body_len) {
    int n =
        lws_write(wsi, (unsigned char *)pss->body + LWS_PRE, pss->body_len, LWS_WRITE_HTTP_FINAL);
    free(pss->body);
    pss->body = NULL;
    if (n < (int)pss->body_len)
      return -1;
  }
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A CORS preflight from an --allow-origin page before its gRPC-Web POST. */
static int preflight(struct lws *wsi, http_pss *pss, int cross) {
  if (!cross)
    return respond_text(wsi, pss, HTTP_STATUS_FORBIDDEN, "no CORS for this origin\n");
  char origin[256], asked[512];
  unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                     *end = buf + sizeof buf - 1;
  pl_bridge__header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin);
  pl_bridge__header(wsi, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS, asked, sizeof asked);
  /* Echoing the asked-for headers is safe: the bridge forwards none of them to the agent. */
  for (char *q = asked; *q; q++)
    if (*q < 0x20 || *q > 0x7e)
      asked[0] = '\0';
  const char *headers = asked[0] ? asked : "content-type, x-grpc-web, grpc-timeout";
  struct {
    const char *name, *value;
  } h[] = {
      {"access-control-allow-origin:", origin},
      {"access-control-allow-methods:", "POST"},
      {"access-control-allow-headers:", headers},
      {"access-control-max-age:", "600"},
      {"vary:", "Origin"},
  };
  if (lws_add_http_common_headers(wsi, HTTP_STATUS_NO_CONTENT, NULL, 0, &p, end))
    return -1;
  for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)h[i].name,
                                    (const unsigned char *)h[i].value, (int)strlen(h[i].value), &p,
                                    end))
      return -1;
  if (lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  pss->body_len = 0;
  pss->has_body = 1;
  lws_callback_on_writable(wsi);
  return 0;
}

/* GET ...?token=T: a right token becomes an HttpOnly cookie for this origin, and the browser
 * goes on to the page without the token in its address bar or history. */
static int token_login(pl_bridge *b, struct lws *wsi, http_pss *pss, const char *path,
                       const char *token) {
  if (!pl_bridge_access_token_ok(&b->access, token)) {
    pl_bridge__refuse(b, PL_BRIDGE_R_TOKEN, "http", NULL, path);
    return respond_text(wsi, pss, HTTP_STATUS_UNAUTHORIZED, "wrong token\n");
  }
  char cookie[400];
  snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict", PL_BRIDGE_COOKIE,
           token);
  unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                     *end = buf + sizeof buf - 1;
  if (lws_add_http_common_headers(wsi, HTTP_STATUS_SEE_OTHER, NULL, 0, &p, end) ||
      lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_LOCATION, (const unsigned char *)path,
                                   (int)strlen(path), &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                  (const unsigned char *)cookie, (int)strlen(cookie), &p, end) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  pss->body_len = 0;
  pss->has_body = 1;
  lws_callback_on_writable(wsi);
  return 0;
}

static int on_get(pl_bridge *b, struct lws *wsi, http_pss *pss, const char *path) {
  char token[256];
  /* lws has undone the %XX escapes of the query already. */
  const char *login = lws_get_urlarg_by_name(wsi, "token=", token, sizeof token);
  if (login)
    return token_login(b, wsi, pss, path, login);
  if (strcmp(path, "/health") == 0)
    return respond(wsi, pss, HTTP_STATUS_OK, "application/json", "{\"status\":\"SERVING\"}\n", NULL,
                   NULL);
  pl_bridge__request_token(wsi, token, sizeof token);
  if (!pl_bridge_access_token_ok(&b->access, token[0] ? token : NULL)) {
    pl_bridge__refuse(b, PL_BRIDGE_R_TOKEN, "http", NULL, path);
    return respond_text(wsi, pss, HTTP_STATUS_UNAUTHORIZED,
                        "This bridge needs its token: open this page once with ?token=TOKEN "
                        "(the token given to peerlink-bridge --token).\n");
  }
  if (strcmp(path, "/debug/bridge") == 0) {
    char json[2048];
    int n = pl_bridge_counters_json(&b->counters, json, sizeof json - 1);
    if (n < 0 || (size_t)n >= sizeof json - 1)
      return -1;
    json[n] = '\n';
    json[n + 1] = '\0';
    return respond(wsi, pss, HTTP_STATUS_OK, "application/json", json, NULL, NULL);
  }
  return pl_bridge__static_serve(b, wsi, path);
}

static int on_request(struct lws *wsi, http_pss *pss, const char *path) {
  pl_bridge *b = bridge_of(wsi);
  int cross;
  char origin[256];
  if (!pl_bridge__request_allowed(b, wsi, "http", &cross, origin, sizeof origin))
    return respond_text(wsi, pss, HTTP_STATUS_FORBIDDEN, "origin or host not allowed\n");
  if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
    char ctype[128];
    pl_bridge__header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ctype, sizeof ctype);
    if (!pl_bridge_gw_content_type_ok(ctype)) {
      pl_bridge__refuse(b, PL_BRIDGE_R_BAD_REQUEST, "grpc-web", NULL, path);
      return respond_text(wsi, pss, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                          "POST takes application/grpc-web+proto\n");
    }
    return pl_bridge__grpcweb_begin(b, wsi, &pss->call, path, cross);
  }
  if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0)
    return preflight(wsi, pss, cross);
  if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
    return on_get(b, wsi, pss, path);
  pl_bridge__refuse(b, PL_BRIDGE_R_BAD_REQUEST, "http", NULL, path);
  return respond_text(wsi, pss, HTTP_STATUS_METHOD_NOT_ALLOWED, "GET, POST or OPTIONS\n");
}

static int on_writeable(struct lws *wsi, http_pss *pss) {
  if (pss->has_body)
    return write_body(wsi, pss);
  pl_bridge__call *c = pss->call;
  if (!c)
    return 0;
  int rv = pl_bridge__grpcweb_writeable(c);
  if (rv <= 0)
    return rv;
  /* The response is complete: the connection may carry the next request. */
  int close_after = c->close_after;
  pss->call = NULL;
  pl_bridge__call_detach(c);
  if (close_after)
    return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int pl_bridge__http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len) {
  http_pss *pss = user;
  switch (reason) {
  case LWS_CALLBACK_HTTP: return on_request(wsi, pss, in ? (const char *)in : "/");
  case LWS_CALLBACK_HTTP_BODY: return pss->call ? pl_bridge__grpcweb_body(pss->call, in, len) : 0;
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    return pss->call ? pl_bridge__grpcweb_body_done(pss->call) : 0;
  case LWS_CALLBACK_HTTP_WRITEABLE: return on_writeable(wsi, pss);
  case LWS_CALLBACK_HTTP_FILE_COMPLETION: return lws_http_transaction_completed(wsi) ? -1 : 0;
  case LWS_CALLBACK_CLOSED_HTTP:
    free(pss->body);
    pss->body = NULL;
    if (pss->call) {
      pl_bridge__call *c = pss->call;
      pss->call = NULL;
      pl_bridge__call_detach(c);
    }
    return 0;
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    /* A WebSocket upgrade without the grpc-websockets subprotocol: nothing here speaks it. */
    return 1;
  default: return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}
