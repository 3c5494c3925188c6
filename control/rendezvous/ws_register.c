/* WS /ws/register/{id}: JSON signalling for agents that cannot speak gRPC. The WebSocket is a
 * Register stream whose output is this sink (stream.c), so register.c and execute.c treat it
 * exactly as a gRPC one: the same challenge and signed Hello (hello.c), the same registry, the
 * same offers. Messages are json_sig.c's. A message that does not parse gets an error message
 * and the connection stays usable; what register.c refuses ends the stream as it ends a gRPC
 * call: an error message carrying the status, then a Close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/http_int.h"
#include "control/rendezvous/json_sig.h"

/* Messages one WebSocket agent may have queued, on top of its first view (as control/rpc's
 * default send limit for a gRPC stream). */
#define SEND_LIMIT 256

static pl_rdv__ws *ws_of(pl_rdv__stream *st) {
  return st->sink_arg;
}

static void push_error(pl_rdv__ws *ws, pl_rpc_status code, const char *msg) {
  char *text;
  if (pl_rdv_json_error(pl_rpc_status_name(code), msg, &text) != 0)
    return;
  pl_rdv__ws_push(ws, text, strlen(text), 1);
  free(text);
}

static int sink_send(pl_rdv__stream *st, const Peerlink__V1__RegisterResponse *resp) {
  char *text;
  int rv = pl_rdv_json_response(resp, &text);
  if (rv != 0)
    return rv;
  rv = pl_rdv__ws_push(ws_of(st), text, strlen(text), 0);
  free(text);
  return rv;
}

/* The status a gRPC agent would get, as an error message, then a Close: 1000 for OK (the
 * agent closed its side), 1008 for what the agent did wrong, 1011 for the rendezvous's own
 * trouble. */
static void sink_finish(pl_rdv__stream *st, pl_rpc_status code, const char *msg) {
  pl_rdv__ws *ws = ws_of(st);
  int close = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
  if (code == PL_RPC_OK)
    close = LWS_CLOSE_STATUS_NORMAL;
  else if (code == PL_RPC_INVALID_ARGUMENT || code == PL_RPC_FAILED_PRECONDITION ||
           code == PL_RPC_UNAUTHENTICATED || code == PL_RPC_ABORTED ||
           code == PL_RPC_RESOURCE_EXHAUSTED)
    close = LWS_CLOSE_STATUS_POLICY_VIOLATION;
  if (code != PL_RPC_OK)
    push_error(ws, code, msg);
  pl_rdv__ws_close(ws, close, pl_rpc_status_name(code));
}

static const char *sink_peer(pl_rdv__stream *st) {
  return ws_of(st)->peer;
}

static void sink_backlog(pl_rdv__stream *st, size_t *pending, size_t *limit) {
  *pending = ws_of(st)->n;
  *limit = ws_of(st)->limit;
}

static void sink_grow(pl_rdv__stream *st, size_t more) {
  ws_of(st)->limit += more;
}

static const pl_rdv__sink sink = {sink_send, sink_finish, sink_peer, sink_backlog, sink_grow};

int pl_rdv__wsreg_open(pl_rdv__ws *ws) {
  pl_rdv__stream *st = calloc(1, sizeof *st);
  if (!st)
    return -1;
  st->svc = ws->http->svc;
  st->sink = &sink;
  st->sink_arg = ws;
  pl_rdv_agent_init(&st->agent, st);
  ws->st = st;
  ws->limit = SEND_LIMIT;
  pl_log(PL_LOG_DEBUG, "ws_register_open", "peer=%s id=%s", ws->peer, ws->path_id);
  return 0;
}

void pl_rdv__wsreg_message(pl_rdv__ws *ws, const char *text, size_t len) {
  pl_rdv__stream *st = ws->st;
  Peerlink__V1__RegisterRequest *req;
  char err[256];
  if (st->finished)
    return;
  int rv = pl_rdv_json_request(text, len, &req, err, sizeof err);
  if (rv == PL_ERR_NOMEM) {
    pl_rdv__fail(st, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  if (rv != 0) {
    /* Only this message is lost: the connection stays usable. */
    push_error(ws, PL_RPC_INVALID_ARGUMENT, err);
    return;
  }
  if (req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO &&
      strcmp(req->hello->id, ws->path_id) != 0) {
    push_error(ws, PL_RPC_INVALID_ARGUMENT, "hello.id: not the ID in the path /ws/register/{id}");
    pl_rdv_json_request_free(req);
    return;
  }
  /* What a gRPC Register stream does with the same message. */
  pl_rdv__request(st, req);
  pl_rdv_json_request_free(req);
}

void pl_rdv__wsreg_closed(pl_rdv__ws *ws) {
  pl_rdv__stream *st = ws->st;
  ws->st = NULL;
  pl_rdv__unregister(st);
  st->finished = 1;
  st->sink = NULL;
  pl_rdv_agent_release(&st->agent);
  explicit_bzero(st, sizeof *st);
  free(st);
}
