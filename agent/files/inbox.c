/* The files peers send us (agent/files/inbox.h). An incoming transfer is freed once both its
 * stream is closed and its store is done, in whichever order they end. */
#include "agent/files/inbox.h"

#include <stdio.h>
#include <stdlib.h>

#include "control/common/err.h"

struct pl_files_incoming {
  pl_files_inbox *in;
  pl_quic *q; /* valid while stream_open */
  int64_t sid;
  int stream_open;
  pl_files_store *store; /* NULL once done */
  char peer_id[65];
  pl_files_incoming *prev, *next;
};

void pl_files_inbox_init(pl_files_inbox *in, uv_loop_t *loop, const char *dir,
                         pl_files_received_fn received, void *arg) {
  *in = (pl_files_inbox){.loop = loop, .dir = dir, .received = received, .arg = arg};
}

static void unlink_and_free(pl_files_incoming *c) {
  pl_files_inbox *in = c->in;
  if (c->prev)
    c->prev->next = c->next;
  else
    in->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  in->active--;
  free(c);
}

/* ---- the store's side -------------------------------------------------------------------- */

static void on_reply(void *arg, const uint8_t *data, size_t len) {
  pl_files_incoming *c = arg;
  size_t n = 0;
  if (!c->stream_open)
    return;
  /* The verdict is the first and only thing we write: the empty send buffer takes it whole. */
  if (pl_quic_stream_write(c->q, c->sid, data, len, &n) != 0 || n != len ||
      pl_quic_stream_finish(c->q, c->sid) != 0) {
    pl_quic_stream_reset(c->q, c->sid, PL_QUIC_APP_INTERNAL);
    c->stream_open = 0;
  }
}

static void on_consumed(void *arg, size_t n) {
  pl_files_incoming *c = arg;
  if (c->stream_open)
    pl_quic_stream_consume(c->q, c->sid, n);
}

static void on_done(void *arg, const pl_files_result *res) {
  pl_files_incoming *c = arg;
  pl_files_inbox *in = c->in;
  c->store = NULL;
  if (res->code == PL_FILES_STORED)
    in->stored++;
  else
    in->failed++;
  if (in->received)
    in->received(in->arg, c->peer_id, res);
  /* A refused sender resets the stream once it reads the verdict; until then it is held by
   * flow control (nothing more is consumed). */
  if (!c->stream_open)
    unlink_and_free(c);
}

/* ---- the stream's side ------------------------------------------------------------------- */

static void on_recv(void *sarg, pl_quic *q, int64_t sid, const uint8_t *data, size_t len, int fin) {
  pl_files_incoming *c = sarg;
  (void)q;
  (void)sid;
  if (c->store)
    pl_files_store_recv(c->store, data, len, fin); /* once decided, bytes are ignored */
}

static void on_closed(void *sarg, pl_quic *q, int64_t sid, int err, uint64_t app_error) {
  pl_files_incoming *c = sarg;
  char why[PL_QUIC_DETAIL_MAX + 64];
  pl_quic_info info;
  (void)sid;
  c->stream_open = 0;
  c->q = NULL;
  if (c->store == NULL) {
    unlink_and_free(c);
    return;
  }
  if (err == PL_ERR_CLOSED) {
    pl_quic_get_info(q, &info);
    snprintf(why, sizeof why, "the QUIC connection to the sender ended: %s",
             *info.detail ? info.detail : "closed");
  } else if (err == PL_ERR_STATE) {
    snprintf(why, sizeof why, "the sender %s (stream reset, code %llu)",
             app_error == PL_QUIC_APP_CANCELLED ? "cancelled the transfer" : "ended the transfer",
             (unsigned long long)app_error);
  } else {
    snprintf(why, sizeof why, "the stream ended before the transfer did");
  }
  pl_files_store_abort(c->store, why); /* its done frees c, perhaps at once: c is not used after */
}

/* Our only write is the verdict, which the empty send buffer takes whole: its progress and
 * room do not matter. */
static void on_acked(void *sarg, pl_quic *q, int64_t sid, uint64_t acked) {
  (void)sarg;
  (void)q;
  (void)sid;
  (void)acked;
}

static void on_writable(void *sarg, pl_quic *q, int64_t sid) {
  (void)sarg;
  (void)q;
  (void)sid;
}

static const pl_quic_stream_cb stream_cb = {
    .recv = on_recv,
    .acked = on_acked,
    .writable = on_writable,
    .closed = on_closed,
    .manual_consume = 1,
};

int pl_files_inbox_accept(pl_files_inbox *in, pl_quic *q, int64_t sid, const char *peer_id,
                          const pl_quic_stream_cb **pcb, void **psarg) {
  if (in->closing || in->dir == NULL)
    return PL_ERR_STATE;
  pl_files_incoming *c = calloc(1, sizeof *c);
  if (c == NULL)
    return PL_ERR_NOMEM;
  pl_files_store_cb cb = {.reply = on_reply, .consumed = on_consumed, .done = on_done, .arg = c};
  int rv = pl_files_store_new(&c->store, in->loop, in->dir, &cb);
  if (rv != 0) {
    free(c);
    return rv;
  }
  c->in = in;
  c->q = q;
  c->sid = sid;
  c->stream_open = 1;
  snprintf(c->peer_id, sizeof c->peer_id, "%s", peer_id ? peer_id : "");
  c->next = in->head;
  if (in->head)
    in->head->prev = c;
  in->head = c;
  in->active++;
  *pcb = &stream_cb;
  *psarg = c;
  return 0;
}

void pl_files_inbox_close(pl_files_inbox *in, const char *why) {
  pl_files_incoming *c, *next;
  in->closing = 1;
  for (c = in->head; c; c = next) {
    next = c->next;
    if (c->stream_open) {
      pl_quic_stream_reset(c->q, c->sid, PL_QUIC_APP_CANCELLED);
      c->stream_open = 0;
      c->q = NULL;
    }
    if (c->store)
      pl_files_store_abort(c->store, why); /* may free c */
    else
      unlink_and_free(c);
  }
}
