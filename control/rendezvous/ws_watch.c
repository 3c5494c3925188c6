/* WS /ws/watch: the registry, live, for dashboards. First {"snapshot": {"workers": [...]}},
 * then one {"change": {"kind": "KIND_JOINED" | "KIND_UPDATED" | "KIND_LEFT", "worker": {...}}}
 * per join, candidates change and departure of any agent (gRPC or WebSocket), whoever sees
 * it. A JOINED for an ID already listed replaces that registration. A watcher that does not
 * read is closed (1008) rather than given a view with holes. */
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/log.h"
#include "control/common/pbjson.h"
#include "control/rendezvous/http_int.h"

/* Changes one watcher may have queued. */
#define WATCH_LIMIT 4096

static int push_json(pl_rdv__ws *ws, json_t *j) {
  char *text;
  if (!j)
    return PL_ERR_NOMEM;
  int rv = pl_pbjson_dumps(j, 0, &text);
  json_decref(j);
  if (rv != 0)
    return rv;
  rv = pl_rdv__ws_push(ws, text, strlen(text), 1);
  free(text);
  return rv;
}

int pl_rdv__wswatch_open(pl_rdv__ws *ws) {
  pl_rdv_http *h = ws->http;
  json_t *workers = pl_rdv__workers_json(h->svc);
  if (!workers || push_json(ws, json_pack("{s:{s:o}}", "snapshot", "workers", workers)) != 0)
    return -1;
  ws->limit = WATCH_LIMIT;
  ws->next = h->watchers;
  if (h->watchers)
    h->watchers->prev = ws;
  h->watchers = ws;
  pl_log(PL_LOG_DEBUG, "ws_watch_open", "peer=%s", ws->peer);
  return 0;
}

void pl_rdv__wswatch_message(pl_rdv__ws *ws, const char *text, size_t len) {
  (void)text;
  (void)len;
  push_json(ws, json_pack("{s:{s:s,s:s}}", "error", "code", "INVALID_ARGUMENT", "message",
                          "/ws/watch takes no messages"));
}

void pl_rdv__wswatch_closed(pl_rdv__ws *ws) {
  pl_rdv_http *h = ws->http;
  if (ws->prev)
    ws->prev->next = ws->next;
  else if (h->watchers == ws)
    h->watchers = ws->next;
  if (ws->next)
    ws->next->prev = ws->prev;
  ws->prev = ws->next = NULL;
}

void pl_rdv__wswatch_change(void *arg, Peerlink__V1__RegistryChange__Kind kind,
                            const Peerlink__V1__AgentInfo *info) {
  pl_rdv_http *h = arg;
  if (!h->watchers)
    return;
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&peerlink__v1__registry_change__kind__descriptor, kind);
  char *text;
  json_t *j = json_pack("{s:{s:s,s:o*}}", "change", "kind", v ? v->name : "", "worker",
                        pl_rdv__worker_json(h->svc, info));
  if (!j || pl_pbjson_dumps(j, 0, &text) != 0) {
    json_decref(j);
    return;
  }
  json_decref(j);
  for (pl_rdv__ws *ws = h->watchers; ws; ws = ws->next) {
    int rv = pl_rdv__ws_push(ws, text, strlen(text), 0);
    if (rv == PL_ERR_FULL || rv == PL_ERR_NOMEM) {
      pl_log(PL_LOG_WARN, "ws_watch_overflow", "peer=%s queued=%zu", ws->peer, ws->n);
      pl_rdv__ws_close(ws, LWS_CLOSE_STATUS_POLICY_VIOLATION, "changes not read");
    }
  }
  free(text);
}
