/* SendFile and FileReceived: the agent's side of agent/files. A SendFile call drives one
 * pl_files_send over the peer's QUIC connection and streams FileProgress (bytes the peer
 * acknowledged) until the peer's verdict, which decides the status; the files peers send us
 * arrive through the inbox and become FileReceived events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/files/send.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/common/log.h"

/* Progress messages: one per this much acknowledged (and never more than two queued on the
 * call), so a fast transfer does not flood the caller with messages. */
#define PROGRESS_MIN_STEP (256 * 1024)
#define PROGRESS_STEPS 200
#define PROGRESS_QUEUE 2
/* How long a SendFile waits for the QUIC connection (a handshake gives up after 10 s). */
#define QUIC_WAIT_MS 12000

typedef struct sendfile {
  pl_agent *a;
  pl_rpc_call *call;
  pl_agent_quic_waiter *wait; /* waiting for the QUIC connection */
  pl_files_send *send;        /* NULL once it is done */
  char peer_id[PL_LINK_PEER_HEX + 1];
  char *path, *name;
  int overwrite;
  uint64_t total, reported;
  uint64_t started_ms;
} sendfile;

static void progress_msg(sendfile *f, uint64_t acked, int done, char *sha256) {
  Peerlink__V1__FileProgress fp = PEERLINK__V1__FILE_PROGRESS__INIT;
  Peerlink__V1__SendFileResponse resp = PEERLINK__V1__SEND_FILE_RESPONSE__INIT;
  fp.bytes_done = acked;
  fp.bytes_total = f->total;
  fp.done = done;
  fp.sha256 = sha256 ? sha256 : "";
  resp.progress = &fp;
  if (pl_rpc_call_send(f->call, &resp.base) == 0)
    f->reported = acked;
}

/* ---- the sender's callbacks -------------------------------------------------------------- */

static pl_quic *conn(void *arg, char *why, size_t cap) {
  sendfile *f = arg;
  pl_link *l = pl_links_find_peer(&f->a->links, f->peer_id);
  if (l == NULL) {
    snprintf(why, cap, "peer_id: the link to %s is gone", f->peer_id);
    return NULL;
  }
  pl_quic *q = pl_agent_quic_get(f->a, l);
  if (q == NULL)
    snprintf(why, cap, "the QUIC connection to %s is gone", f->peer_id);
  return q;
}

static void opened(void *arg, uint64_t size) {
  sendfile *f = arg;
  f->total = size;
  progress_msg(f, 0, 0, NULL); /* the caller learns the size before any byte goes */
}

static void progress(void *arg, uint64_t acked, uint64_t total) {
  sendfile *f = arg;
  uint64_t step =
      total / PROGRESS_STEPS > PROGRESS_MIN_STEP ? total / PROGRESS_STEPS : PROGRESS_MIN_STEP;
  if (acked == total || acked - f->reported < step ||
      pl_rpc_call_pending(f->call) >= PROGRESS_QUEUE)
    return; /* the final message carries the whole */
  progress_msg(f, acked, 0, NULL);
}

/* The gRPC status for how the transfer ended. */
static pl_rpc_status status_of(const pl_files_send_result *r) {
  switch (r->outcome) {
  case PL_FILES_SENT: return PL_RPC_OK;
  case PL_FILES_LOCAL_MISSING: return PL_RPC_NOT_FOUND;
  case PL_FILES_LOCAL_DENIED: return PL_RPC_PERMISSION_DENIED;
  case PL_FILES_LOCAL_INVALID: return PL_RPC_INVALID_ARGUMENT;
  case PL_FILES_LOCAL_IO: return PL_RPC_ABORTED;
  case PL_FILES_NO_CONN: return PL_RPC_FAILED_PRECONDITION;
  case PL_FILES_CONN_LOST: return PL_RPC_UNAVAILABLE;
  case PL_FILES_RESET:
    return r->app_error == PL_QUIC_APP_REFUSED ? PL_RPC_UNAVAILABLE : PL_RPC_ABORTED;
  case PL_FILES_REFUSED:
    switch (r->code) {
    case PL_FILES_BAD_NAME: return PL_RPC_INVALID_ARGUMENT;
    case PL_FILES_EXISTS: return PL_RPC_ALREADY_EXISTS;
    case PL_FILES_HASH_MISMATCH: return PL_RPC_DATA_LOSS;
    case PL_FILES_NO_SPACE: return PL_RPC_RESOURCE_EXHAUSTED;
    case PL_FILES_PROTOCOL: return PL_RPC_INTERNAL;
    case PL_FILES_UNAVAILABLE: return PL_RPC_UNAVAILABLE;
    default: return PL_RPC_ABORTED;
    }
  }
  return PL_RPC_UNKNOWN;
}

static void done(void *arg, const pl_files_send_result *r) {
  sendfile *f = arg;
  pl_rpc_status code = status_of(r);
  f->send = NULL;
  pl_log(code == PL_RPC_OK ? PL_LOG_INFO : PL_LOG_WARN, "file_sent",
         "peer=%s bytes=%llu acked=%llu status=%s ms=%llu detail=\"%s\"", f->peer_id,
         (unsigned long long)r->size, (unsigned long long)r->acked, pl_rpc_status_name(code),
         (unsigned long long)(uv_now(f->a->loop) - f->started_ms), r->message);
  if (code == PL_RPC_OK) {
    char sha[sizeof r->sha256];
    memcpy(sha, r->sha256, sizeof sha);
    /* The last message always goes, even past the queue limit of progress messages. */
    progress_msg(f, r->size, 1, sha);
    pl_rpc_call_finish(f->call, PL_RPC_OK, NULL);
  } else if (r->outcome == PL_FILES_REFUSED && r->code == PL_FILES_BAD_NAME) {
    pl_rpc_call_finish(f->call, code, "remote_name: the peer refused it: %s", r->message);
  } else {
    pl_rpc_call_finish(f->call, code, "%s", r->message);
  }
}

/* ---- the RPC ----------------------------------------------------------------------------- */

static void free_sendfile(sendfile *f) {
  if (f == NULL)
    return;
  free(f->path);
  free(f->name);
  free(f);
}

/* The QUIC connection is up (start sending), or cannot be (say why). */
static void quic_ready(void *arg, pl_quic *q, pl_rpc_status code, const char *why) {
  sendfile *f = arg;
  f->wait = NULL;
  if (q == NULL) {
    pl_rpc_call_finish(f->call, code, "no QUIC connection to %s: %s", f->peer_id, why);
    return;
  }
  pl_files_send_cb cb = {
      .conn = conn, .opened = opened, .progress = progress, .done = done, .arg = f};
  int rv =
      pl_files_send_new(&f->send, f->a->loop, f->path, f->name, strlen(f->name), f->overwrite, &cb);
  if (rv == PL_ERR_INVALID)
    pl_rpc_call_finish(f->call, PL_RPC_INVALID_ARGUMENT, "path: not a usable file path");
  else if (rv != 0)
    pl_rpc_call_finish(f->call, PL_RPC_RESOURCE_EXHAUSTED, "cannot start the transfer: %s",
                       pl_strerror(rv));
}

/* The name the peer stores the file under: remote_name, or the base name of path. Returns 0,
 * or -1 after finishing the call with INVALID_ARGUMENT naming the field. */
static int pick_name(pl_rpc_call *call, const Peerlink__V1__SendFileRequest *req,
                     const char **pname) {
  char why[96];
  if (*req->remote_name) {
    if (pl_files_name_check(req->remote_name, strlen(req->remote_name), why, sizeof why) != 0) {
      pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "remote_name: %s", why);
      return -1;
    }
    *pname = req->remote_name;
    return 0;
  }
  const char *slash = strrchr(req->path, '/'), *base = slash ? slash + 1 : req->path;
  if (pl_files_name_check(base, strlen(base), why, sizeof why) != 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "path: its base name \"%s\" cannot be the stored name: it %s (give "
                       "remote_name)",
                       base, why);
    return -1;
  }
  *pname = base;
  return 0;
}

void pl_api_send_file(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_agent *a = data;
  const Peerlink__V1__SendFileRequest *req = (const Peerlink__V1__SendFileRequest *)msg;
  const char *name;
  uint8_t raw[PL_FRAME_ID_LEN];
  if (*req->peer_id == '\0') {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "peer_id: required");
    return;
  }
  if (pl_hex_decode(raw, sizeof raw, req->peer_id) != 0) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "peer_id: 32 hex characters expected");
    return;
  }
  if (*req->path == '\0') {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT, "path: required (the local file to send)");
    return;
  }
  if (pick_name(call, req, &name) != 0)
    return;
  pl_link *l = pl_links_find_peer(&a->links, req->peer_id);
  if (l == NULL) {
    pl_rpc_call_finish(call, PL_RPC_NOT_FOUND, "peer_id: not connected to %s (call Connect)",
                       req->peer_id);
    return;
  }
  if (l->path.kind == PL_PATH_NONE) {
    pl_rpc_call_finish(call, PL_RPC_FAILED_PRECONDITION, "no path to %s yet", req->peer_id);
    return;
  }
  sendfile *f = calloc(1, sizeof *f);
  if (f == NULL || (f->path = strdup(req->path)) == NULL || (f->name = strdup(name)) == NULL) {
    free_sendfile(f);
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  f->a = a;
  f->call = call;
  f->overwrite = req->overwrite;
  f->started_ms = uv_now(a->loop);
  snprintf(f->peer_id, sizeof f->peer_id, "%s", l->peer_id);
  pl_rpc_call_set_data(call, f);
  if (pl_agent_quic_wait(a, l, QUIC_WAIT_MS, quic_ready, f, &f->wait) != 0)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
}

void pl_api_send_file_done(pl_rpc_call *call, int cancelled, void *data) {
  sendfile *f = pl_rpc_call_data(call);
  (void)cancelled;
  (void)data;
  if (f == NULL)
    return; /* refused before it started */
  if (f->wait)
    pl_agent_quic_wait_cancel(f->a, f->wait);
  if (f->send) /* the caller cancelled, or its deadline passed: the peer hears at once */
    pl_files_send_cancel(f->send);
  pl_rpc_call_set_data(call, NULL);
  free_sendfile(f);
}

/* ---- files peers send us ----------------------------------------------------------------- */

static void received(void *arg, const char *peer_id, const pl_files_result *r) {
  pl_agent *a = arg;
  Peerlink__V1__FileReceived fr = PEERLINK__V1__FILE_RECEIVED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  pl_log(r->code == PL_FILES_STORED ? PL_LOG_INFO : PL_LOG_WARN, "file_received",
         "peer=%s name=\"%s\" bytes=%llu result=\"%s\" detail=\"%s\"", peer_id, r->name,
         (unsigned long long)r->size, pl_files_code_name(r->code), r->error);
  if (a->closing)
    return; /* the watchers are being ended too */
  fr.peer_id = (char *)peer_id;
  fr.name = (char *)r->name;
  fr.path = (char *)r->path;
  fr.size = r->size;
  fr.sha256 = (char *)r->sha256;
  fr.error = (char *)r->error;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_FILE;
  ev.file = &fr;
  pl_events_publish(&a->events, &ev, NULL);
}

static int accept_stream(void *arg, pl_link *l, pl_quic *q, int64_t sid,
                         const pl_quic_stream_cb **pcb, void **psarg) {
  pl_agent *a = arg;
  return pl_files_inbox_accept(&a->files, q, sid, l->peer_id, pcb, psarg);
}

void pl_agent_files_init(pl_agent *a, const char *dir) {
  pl_files_inbox_init(&a->files, a->loop, dir, received, a);
  pl_agent_quic_set_handler(a, PL_QUIC_STREAM_FILE, accept_stream, a);
}

void pl_agent_files_close(pl_agent *a, const char *why) {
  pl_files_inbox_close(&a->files, why);
}
