/* The rendezvous's --http listener: libwebsockets on the program's libuv loop (a foreign loop),
 * one vhost with one protocol that serves HTTP and the WebSocket upgrades by path (clients need
 * not name a subprotocol), the WebSockets' text queues, and the JSON of workers.
 *
 * The lws 4.1.6 traps, as control/bridge/server.c meets them: with a foreign loop
 * lws_create_context succeeds even when the port cannot be bound, so the vhost is created
 * explicitly and checked; a close returned from SERVER_WRITEABLE sends no Close frame under
 * libuv, so closes are made from a timer callback (or from RECEIVE, where the frame does go
 * out); and lws_context_destroy only begins closing its libuv handles, so the loop runs until
 * they are closed and a second lws_context_destroy (pl_rdv_http_free) frees the context. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/lws/lws_uv.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"
#include "control/common/pbjson.h"
#include "control/rendezvous/cluster.h"
#include "control/rendezvous/http_int.h"
#include "control/rendezvous/json_sig.h"

#define REGISTER_PATH "/ws/register/"
#define WATCH_PATH "/ws/watch"

typedef struct pss {
  pl_rdv__ws *ws; /* a WebSocket */
  char *body;     /* an HTTP response's body, written at the next WRITEABLE */
  size_t body_len;
  int has_body;
} pss;

static pl_rdv_http *http_of(struct lws *wsi) {
  return lws_context_user(lws_get_context(wsi));
}

/* ---- workers as JSON ---- */

static const char *transport_of(const pl_rdv_agent *a) {
  const pl_rdv__stream *st = a ? a->stream : NULL;
  return st && st->sink ? "websocket" : "grpc";
}

json_t *pl_rdv__worker_json(pl_rdv_service *svc, const Peerlink__V1__AgentInfo *info) {
  const pl_rdv_agent *a = pl_rdv_registry_find(&svc->registry, info->id);
  json_t *w = json_object(), *addrs = json_array(), *cands = json_array();
  char at[64] = "";
  time_t secs = (time_t)(info->registered_unix_ms / 1000);
  struct tm tm;
  if (gmtime_r(&secs, &tm))
    snprintf(at, sizeof at, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(info->registered_unix_ms % 1000));
  if (!w || !addrs || !cands)
    goto fail;
  for (size_t i = 0; i < info->n_candidates; i++) {
    const Peerlink__V1__Candidate *c = info->candidates[i];
    json_t *cj;
    char addr[80];
    if (c->endpoint) {
      snprintf(addr, sizeof addr, "%s%s%s:%u", strchr(c->endpoint->ip, ':') ? "[" : "",
               c->endpoint->ip, strchr(c->endpoint->ip, ':') ? "]" : "", c->endpoint->port);
      if (json_array_append_new(addrs, json_string(addr)) != 0)
        goto fail;
    }
    if (pl_pbjson_to_json(&c->base, 0, &cj) != 0 || json_array_append_new(cands, cj) != 0)
      goto fail;
  }
  if (json_object_set_new(w, "id", json_string(info->id)) ||
      json_object_set_new(w, "name", json_string(info->name)) ||
      json_object_set_new(w, "network", json_string(a ? pl_rdv_registry_network(a) : "")) ||
      json_object_set_new(w, "addresses", addrs) || json_object_set_new(w, "candidates", cands) ||
      json_object_set_new(w, "observed_address", json_string(info->observed_address)) ||
      json_object_set_new(
          w, "nat_behavior",
          json_string(protobuf_c_enum_descriptor_get_value(&peerlink__v1__nat_behavior__descriptor,
                                                           info->nat_behavior)
                          ? protobuf_c_enum_descriptor_get_value(
                                &peerlink__v1__nat_behavior__descriptor, info->nat_behavior)
                                ->name
                          : "")) ||
      json_object_set_new(w, "version", json_string(info->version)) ||
      json_object_set_new(w, "transport", json_string(transport_of(a))) ||
      json_object_set_new(w, "registered_at", json_string(at)) ||
      json_object_set_new(w, "registered_unix_ms", json_integer(info->registered_unix_ms)))
    goto fail_w;
  return w;
fail:
  json_decref(addrs);
  json_decref(cands);
fail_w:
  json_decref(w);
  return NULL;
}

json_t *pl_rdv__workers_json(pl_rdv_service *svc) {
  json_t *list = json_array();
  char token[PL_RDV_TOKEN_LEN + 1] = "";
  if (!list)
    return NULL;
  do {
    Peerlink__V1__AgentInfo **infos;
    size_t n, total;
    char next[PL_RDV_TOKEN_LEN + 1];
    if (pl_rdv_registry_list(&svc->registry, "", token, PL_RDV_PAGE_MAX, &infos, &n, next,
                             &total) != 0) {
      json_decref(list);
      return NULL;
    }
    for (size_t i = 0; i < n; i++) {
      json_t *w = pl_rdv__worker_json(svc, infos[i]);
      if (!w || json_array_append_new(list, w) != 0) {
        free(infos);
        json_decref(list);
        return NULL;
      }
    }
    free(infos);
    memcpy(token, next, sizeof token);
  } while (token[0]);
  return list;
}

/* ---- WebSocket queues ---- */

int pl_rdv__ws_push(pl_rdv__ws *ws, const char *text, size_t len, int force) {
  if (!ws->wsi || ws->closing)
    return PL_ERR_CLOSED;
  if (!force && ws->n >= ws->limit)
    return PL_ERR_FULL;
  pl_rdv__wsmsg *m = malloc(sizeof *m + LWS_PRE + len);
  if (!m)
    return PL_ERR_NOMEM;
  m->next = NULL;
  m->len = len;
  memcpy(m->buf + LWS_PRE, text, len);
  if (ws->tail)
    ws->tail->next = m;
  else
    ws->head = m;
  ws->tail = m;
  ws->n++;
  lws_callback_on_writable(ws->wsi);
  return 0;
}

void pl_rdv__ws_close(pl_rdv__ws *ws, int code, const char *reason) {
  if (!ws->wsi || ws->closing)
    return;
  ws->closing = 1;
  ws->close_code = code;
  snprintf(ws->close_reason, sizeof ws->close_reason, "%s", reason);
  lws_callback_on_writable(ws->wsi);
}

static void ws_free(pl_rdv__ws *ws) {
  for (pl_rdv__wsmsg *m = ws->head, *next; m; m = next) {
    next = m->next;
    free(m);
  }
  free(ws->rx);
  free(ws);
}

static int ws_writeable(struct lws *wsi, pl_rdv__ws *ws) {
  pl_rdv__wsmsg *m = ws->head;
  if (m) {
    ws->head = m->next;
    if (!ws->head)
      ws->tail = NULL;
    ws->n--;
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    int short_write = n < (int)m->len;
    free(m);
    if (short_write)
      return -1;
    /* lws calls WRITEABLE again only once this one has gone out. */
    if (ws->head || ws->closing)
      lws_callback_on_writable(wsi);
    return 0;
  }
  if (ws->closing)
    lws_set_timer_usecs(wsi, 1);
  return 0;
}

/* A message's fragments are gathered up to PL_RDV_JSON_MAX; a larger one closes with 1009
 * (from RECEIVE, so the Close frame goes out). */
static int ws_receive(struct lws *wsi, pl_rdv__ws *ws, const void *in, size_t len) {
  if (ws->closing)
    return 0;
  if (lws_is_first_fragment(wsi))
    ws->rx_len = 0;
  if (ws->rx_len + len > PL_RDV_JSON_MAX) {
    static const char why[] = "message over 65536 bytes";
    pl_log(PL_LOG_WARN, "ws_refused", "peer=%s reason=too_big", ws->peer);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why, sizeof why - 1);
    return -1;
  }
  if (!ws->rx && !(ws->rx = malloc(PL_RDV_JSON_MAX)))
    return -1;
  memcpy(ws->rx + ws->rx_len, in, len);
  ws->rx_len += len;
  if (!lws_is_final_fragment(wsi))
    return 0;
  if (ws->kind == PL_RDV__WS_REGISTER)
    pl_rdv__wsreg_message(ws, ws->rx, ws->rx_len);
  else
    pl_rdv__wswatch_message(ws, ws->rx, ws->rx_len);
  ws->rx_len = 0;
  return 0;
}

/* ---- HTTP ---- */

static int token_ok(struct lws *wsi, pl_rdv_http *h) {
  char got[512], arg[512];
  if (!h->token)
    return 1;
  int n = lws_hdr_copy(wsi, got, sizeof got, WSI_TOKEN_HTTP_AUTHORIZATION);
  if (n > 7 && strncmp(got, "Bearer ", 7) == 0 && strcmp(got + 7, h->token) == 0)
    return 1;
  const char *v = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof arg);
  return v && strcmp(v, h->token) == 0;
}

static int respond(struct lws *wsi, pss *p, unsigned status, const char *ctype, const char *body) {
  unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *q = start,
                                     *end = buf + sizeof buf - 1;
  size_t len = strlen(body);
  if (lws_add_http_common_headers(wsi, status, ctype, len, &q, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)"no-store", 8, &q, end) ||
      lws_finalize_write_http_header(wsi, start, &q, end))
    return -1;
  free(p->body);
  if (!(p->body = malloc(LWS_PRE + len + 1)))
    return -1;
  memcpy(p->body + LWS_PRE, body, len);
  p->body_len = len;
  p->has_body = 1;
  lws_callback_on_writable(wsi);
  return 0;
}

static int respond_json(struct lws *wsi, pss *p, unsigned status, json_t *j) {
  char *text = NULL;
  if (!j || pl_pbjson_dumps(j, PL_PBJSON_PRETTY, &text) != 0) {
    json_decref(j);
    return respond(wsi, p, HTTP_STATUS_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n");
  }
  json_decref(j);
  size_t n = strlen(text);
  char *body = realloc(text, n + 2);
  if (!body) {
    free(text);
    return -1;
  }
  memcpy(body + n, "\n", 2);
  int rv = respond(wsi, p, status, "application/json", body);
  free(body);
  return rv;
}

/* {"status", "agents"} and, with --redis, {"registry": role, "registry_detail": line}: an
 * island still serves its own agents, so the status stays SERVING and the degradation is in
 * "registry". "agents" counts this instance's registry (the leader's holds everyone). */
static json_t *health_json(pl_rdv_service *svc) {
  json_t *j =
      json_pack("{s:s,s:I}", "status", "SERVING", "agents", (json_int_t)svc->registry.count);
  if (j && svc->cluster) {
    char line[400];
    pl_rdv_cluster_describe(svc->cluster, line, sizeof line);
    if (json_object_set_new(
            j, "registry",
            json_string(pl_rdv_cluster_role_name(pl_rdv_cluster_role_of(svc->cluster)))) != 0 ||
        json_object_set_new(j, "registry_detail", json_string(line)) != 0 ||
        json_object_set_new(j, "instance", json_string(pl_rdv_cluster_instance(svc->cluster))) !=
            0) {
      json_decref(j);
      return NULL;
    }
  }
  return j;
}

static int on_http(struct lws *wsi, pss *p, const char *uri) {
  pl_rdv_http *h = http_of(wsi);
  if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
    return respond(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
  if (strcmp(uri, "/health") == 0)
    return respond_json(wsi, p, HTTP_STATUS_OK, health_json(h->svc));
  if (!token_ok(wsi, h))
    return respond(wsi, p, HTTP_STATUS_UNAUTHORIZED, "text/plain",
                   "this rendezvous needs its token: Authorization: Bearer TOKEN or ?token=\n");
  if (strcmp(uri, "/debug/list_workers") == 0)
    return respond_json(wsi, p, HTTP_STATUS_OK, pl_rdv__workers_json(h->svc));
  return respond(wsi, p, HTTP_STATUS_NOT_FOUND, "text/plain",
                 "not found: GET /health, GET /debug/list_workers, WS " REGISTER_PATH
                 "{id}, WS " WATCH_PATH "\n");
}

static int write_body(struct lws *wsi, pss *p) {
  p->has_body = 0;
  int n = lws_write(wsi, (unsigned char *)p->body + LWS_PRE, p->body_len, LWS_WRITE_HTTP_FINAL);
  free(p->body);
  p->body = NULL;
  if (n < (int)p->body_len)
    return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Which WebSocket the path names; -1: none. */
static int ws_kind(struct lws *wsi, char *id, size_t idcap) {
  char path[256];
  if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0)
    return -1;
  if (strcmp(path, WATCH_PATH) == 0)
    return PL_RDV__WS_WATCH;
  if (strncmp(path, REGISTER_PATH, strlen(REGISTER_PATH)) == 0) {
    /* Cut to idcap - 1 as snprintf would, without -O2's format-truncation error. */
    const char *rest = path + strlen(REGISTER_PATH);
    size_t n = strnlen(rest, idcap - 1);
    memcpy(id, rest, n);
    id[n] = '\0';
    return PL_RDV__WS_REGISTER;
  }
  return -1;
}

static int on_established(struct lws *wsi, pss *p) {
  pl_rdv__ws *ws = calloc(1, sizeof *ws);
  if (!ws)
    return -1;
  ws->http = http_of(wsi);
  ws->wsi = wsi;
  ws->kind = (pl_rdv__ws_kind)ws_kind(wsi, ws->path_id, sizeof ws->path_id);
  lws_get_peer_simple(wsi, ws->peer, sizeof ws->peer);
  p->ws = ws;
  int rv = ws->kind == PL_RDV__WS_REGISTER ? pl_rdv__wsreg_open(ws) : pl_rdv__wswatch_open(ws);
  if (rv != 0) {
    p->ws = NULL;
    ws_free(ws);
    return -1;
  }
  return 0;
}

static void on_closed(pss *p) {
  pl_rdv__ws *ws = p->ws;
  if (!ws)
    return;
  p->ws = NULL;
  ws->wsi = NULL;
  if (ws->kind == PL_RDV__WS_REGISTER)
    pl_rdv__wsreg_closed(ws);
  else
    pl_rdv__wswatch_closed(ws);
  ws_free(ws);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  pss *p = user;
  switch (reason) {
  case LWS_CALLBACK_HTTP: return on_http(wsi, p, in ? (const char *)in : "/");
  case LWS_CALLBACK_HTTP_WRITEABLE: return p->has_body ? write_body(wsi, p) : 0;
  case LWS_CALLBACK_CLOSED_HTTP:
    free(p->body);
    p->body = NULL;
    return 0;
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    char id[40];
    pl_rdv_http *h = http_of(wsi);
    /* Nonzero refuses the upgrade. */
    if (h->stopping || ws_kind(wsi, id, sizeof id) < 0)
      return 1;
    if (!token_ok(wsi, h)) {
      char peer[64];
      lws_get_peer_simple(wsi, peer, sizeof peer);
      pl_log(PL_LOG_WARN, "ws_refused", "peer=%s reason=token", peer);
      return 1;
    }
    return 0;
  }
  case LWS_CALLBACK_ESTABLISHED: return on_established(wsi, p);
  case LWS_CALLBACK_RECEIVE: return p->ws ? ws_receive(wsi, p->ws, in, len) : 0;
  case LWS_CALLBACK_SERVER_WRITEABLE: return p->ws ? ws_writeable(wsi, p->ws) : 0;
  case LWS_CALLBACK_TIMER:
    if (p->ws)
      lws_close_reason(wsi, (enum lws_close_status)p->ws->close_code,
                       (unsigned char *)p->ws->close_reason, strlen(p->ws->close_reason));
    return -1;
  case LWS_CALLBACK_CLOSED: on_closed(p); return 0;
  default: return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

static const struct lws_protocols protocols[] = {
    /* rx_buffer_size bounds what one RECEIVE delivers; larger messages come in fragments. */
    {"peerlink-rendezvous", callback, sizeof(pss), 16384, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int create_vhost(pl_rdv_http *h, const char *listen, char *err, size_t errlen) {
  if (pl_lws_listen(h->ctx, "peerlink-rendezvous", listen, protocols, &h->vhost, &h->port) != 0) {
    snprintf(err, errlen, "--http %s: cannot bind (address in use or not local?)", listen);
    return PL_ERR_IO;
  }
  return 0;
}

int pl_rdv_http_start(pl_rdv_http **ph, uv_loop_t *loop, pl_rdv_service *svc, const char *listen,
                      const char *token, char *err, size_t errlen) {
  char host[64];
  int port;
  *ph = NULL;
  if (pl_hostport_split(listen, host, &port) != 0) {
    snprintf(err, errlen, "--http %s: expected HOST:PORT", listen);
    return PL_ERR_INVALID;
  }
  if (!pl_host_is_loopback(host) && (!token || !token[0])) {
    snprintf(err, errlen, "--http %s: a non-loopback address needs --token", listen);
    return PL_ERR_INVALID;
  }
  pl_rdv_http *h = calloc(1, sizeof *h);
  if (!h || (token && token[0] && !(h->token = strdup(token)))) {
    free(h);
    return PL_ERR_NOMEM;
  }
  h->loop = loop;
  h->svc = svc;
  if (pl_lws_context_new(&h->ctx, loop, h) != 0) {
    snprintf(err, errlen,
             "--http: cannot start libwebsockets on libuv (is Debian's libwebsockets-evlib-uv "
             "installed?)");
    free(h->token);
    free(h);
    return PL_ERR_IO;
  }
  *ph = h;
  int rv = create_vhost(h, listen, err, errlen);
  if (rv != 0) {
    pl_rdv_http_stop(h);
    return rv;
  }
  svc->on_change = pl_rdv__wswatch_change;
  svc->change_arg = h;
  return 0;
}

int pl_rdv_http_port(const pl_rdv_http *h) {
  return h->port;
}

void pl_rdv_http_stop(pl_rdv_http *h) {
  if (!h || h->stopping)
    return;
  h->stopping = 1;
  /* Closes the listener and every connection: WebSocket agents leave the registry. */
  lws_context_destroy(h->ctx);
  if (h->svc->change_arg == h) {
    h->svc->on_change = NULL;
    h->svc->change_arg = NULL;
  }
}

void pl_rdv_http_free(pl_rdv_http *h) {
  if (!h)
    return;
  /* The second destroy frees the context once its handles are closed (sets ctx to NULL). */
  if (h->ctx)
    lws_context_destroy(h->ctx);
  free(h->token);
  free(h);
}
