/* QUIC streams: the table, the kind byte, send buffers released as the peer acknowledges, flow
 * control, and the write scheduler that feeds ngtcp2_conn_writev_stream round-robin.
 *
 * Every stream is a QUIC bidirectional stream. ngtcp2 0.12 never closes a stream the peer opened
 * as unidirectional (ngtcp2 issue #662, fixed in 0.13), so "one-way" streams (bidi = 0) are
 * bidirectional ones whose kind byte carries PL_QUIC__ONEWAY: the receiving side finishes its
 * own direction at once with an empty FIN, and both ends close normally.
 *
 * ngtcp2 may not be re-entered from its own callbacks in ways that close streams, so a reset the
 * user asks for inside a callback (or a stream we refuse) is only marked, and carried out once
 * the ngtcp2 call has returned (pl_quic__after_streams). */
#include <stdlib.h>
#include <string.h>

#include "agent/quic/quic_impl.h"
#include "control/common/err.h"

static uint64_t hdr_len(const pl_quic__stream *s) {
  return s->local ? 1 : 0; /* the kind byte is ours on streams we opened */
}

static int user_visible(const pl_quic__stream *s) {
  return !s->dead && s->cb != NULL && (s->local || s->kind_seen);
}

static pl_quic__stream *find(const pl_quic *q, int64_t sid) {
  for (pl_quic__stream *s = q->streams; s; s = s->next)
    if (s->id == sid)
      return s;
  return NULL;
}

void pl_quic__wake(pl_quic *q) {
  if (q->in_call == 0 && q->cb && q->cb->wake)
    q->cb->wake(q->arg, q);
}

/* --- the write list (doubly linked, so a stream leaves it in O(1)) ------------------------ */

static int has_pending(const pl_quic__stream *s) {
  return !s->dead && !s->send_shut && (s->sent < s->end || (s->fin_wanted && !s->fin_sent));
}

static void deactivate(pl_quic *q, pl_quic__stream *s) {
  if (!s->active)
    return;
  if (s->prev_active)
    s->prev_active->next_active = s->next_active;
  else
    q->active_head = s->next_active;
  if (s->next_active)
    s->next_active->prev_active = s->prev_active;
  else
    q->active_tail = s->prev_active;
  s->next_active = s->prev_active = NULL;
  s->active = 0;
}

static void activate(pl_quic *q, pl_quic__stream *s) {
  if (s->active || s->blocked || !has_pending(s))
    return;
  s->prev_active = q->active_tail;
  s->next_active = NULL;
  if (q->active_tail)
    q->active_tail->next_active = s;
  else
    q->active_head = s;
  q->active_tail = s;
  s->active = 1;
}

/* --- lifecycle --------------------------------------------------------------------------- */

static pl_quic__stream *stream_new(pl_quic *q, int64_t sid, int local) {
  pl_quic__stream *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->id = sid;
  s->local = local;
  s->bidi = (sid & 0x2) == 0;
  pl_quic__sendbuf_init(&s->sb, q->stream_buffer);
  s->next = q->streams;
  q->streams = s;
  q->streams_open++;
  return s;
}

static void stream_free(pl_quic *q, pl_quic__stream *s) {
  deactivate(q, s);
  for (pl_quic__stream **p = &q->streams; *p; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  q->streams_open--;
  pl_quic__sendbuf_free(&s->sb);
  free(s);
}

/* A manual-consume stream ended with bytes the user never released: the connection's window
 * must not shrink by them for good. */
static void credit_unconsumed(pl_quic *q, pl_quic__stream *s) {
  if (s->cb && s->cb->manual_consume && s->delivered > s->consumed && q->state < PL_QUIC__CLOSING)
    ngtcp2_conn_extend_max_offset(q->conn, s->delivered - s->consumed);
  s->consumed = s->delivered;
}

static void mark_reset(pl_quic *q, pl_quic__stream *s, uint64_t code) {
  s->dead = 1;
  s->reset_pending = 1;
  s->reset_code = code;
  deactivate(q, s);
}

void pl_quic__after_streams(pl_quic *q) {
  for (pl_quic__stream *s = q->streams, *next; s; s = next) {
    next = s->next;
    if (!s->reset_pending)
      continue;
    s->reset_pending = 0;
    credit_unconsumed(q, s);
    if (q->state < PL_QUIC__CLOSING)
      ngtcp2_conn_shutdown_stream(q->conn, s->id, s->reset_code); /* may free s: see close_cb */
    next = q->streams;                                            /* restart: the list moved */
  }
}

void pl_quic__streams_end(pl_quic *q) {
  for (pl_quic__stream *s = q->streams; s; s = s->next) {
    deactivate(q, s);
    if (!user_visible(s))
      continue;
    s->dead = 1;
    s->cb->closed(s->sarg, q, s->id, PL_ERR_CLOSED, 0);
  }
}

void pl_quic__streams_free(pl_quic *q) {
  while (q->streams)
    stream_free(q, q->streams);
}

/* --- ngtcp2 callbacks -------------------------------------------------------------------- */

static int open_cb(ngtcp2_conn *conn, int64_t sid, void *ud) {
  pl_quic *q = ud;
  pl_quic__stream *s = stream_new(q, sid, 0);
  if (s == NULL)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  ngtcp2_conn_set_stream_user_data(conn, sid, s);
  return 0;
}

/* The first byte of a stream the peer opened: its kind, and whether anybody takes it. */
static void take_kind(pl_quic *q, pl_quic__stream *s, uint8_t byte) {
  const pl_quic_stream_cb *cb = NULL;
  void *sarg = NULL;
  uint8_t kind = byte & (uint8_t)~PL_QUIC__ONEWAY;
  s->kind = kind;
  s->kind_seen = 1;
  s->oneway = (byte & PL_QUIC__ONEWAY) != 0;
  if (kind == 0 || kind >= PL_QUIC_STREAM_KINDS || q->cb == NULL || q->cb->stream_open == NULL ||
      q->cb->stream_open(q->arg, q, s->id, kind, &cb, &sarg) != 0 || cb == NULL) {
    mark_reset(q, s, PL_QUIC_APP_REFUSED);
    return;
  }
  s->cb = cb;
  s->sarg = sarg;
  if (s->oneway) { /* nothing to say back: our direction ends empty */
    s->fin_wanted = 1;
    activate(q, s);
  }
}

static int recv_cb(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t offset,
                   const uint8_t *data, size_t len, void *ud, void *sud) {
  pl_quic *q = ud;
  pl_quic__stream *s = sud;
  (void)offset;
  size_t credit = 0; /* bytes whose window reopens now */
  int fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  if (s == NULL)
    return 0;
  s->rx_offset += len;
  if (!s->local && !s->kind_seen && !s->dead) {
    if (len == 0) {
      if (fin) /* a stream that ends before saying what it is */
        mark_reset(q, s, PL_QUIC_APP_REFUSED);
      return 0;
    }
    take_kind(q, s, data[0]);
    data++;
    len--;
    credit = 1;
  }
  if (s->dead) {
    ngtcp2_conn_extend_max_offset(conn, credit + len);
    return 0;
  }
  s->delivered += len;
  if (fin)
    s->fin_received = 1;
  /* A one-way stream we opened hears only the peer's empty FIN: not news for the user. */
  if ((len || fin) && !(s->local && s->oneway))
    s->cb->recv(s->sarg, q, sid, data, len, fin);
  if (!s->cb->manual_consume || s->dead) {
    credit += len;
    s->consumed += len;
  }
  if (credit) {
    if (!s->dead)
      ngtcp2_conn_extend_max_stream_offset(conn, sid, credit);
    ngtcp2_conn_extend_max_offset(conn, credit);
  }
  return 0;
}

static int acked_cb(ngtcp2_conn *conn, int64_t sid, uint64_t offset, uint64_t len, void *ud,
                    void *sud) {
  pl_quic *q = ud;
  pl_quic__stream *s = sud;
  (void)conn;
  if (s == NULL)
    return 0;
  uint64_t was = s->base;
  if (offset + len > s->base) {
    s->base = offset + len;
    pl_quic__sendbuf_release(&s->sb, s->base);
  }
  if (!user_visible(s))
    return 0;
  uint64_t h = hdr_len(s);
  if (s->base > h && s->base > was)
    s->cb->acked(s->sarg, q, sid, s->base - h);
  if (user_visible(s) && s->want_writable && pl_quic__sendbuf_room(&s->sb, s->base, s->end) > 0) {
    s->want_writable = 0;
    if (s->cb->writable)
      s->cb->writable(s->sarg, q, sid);
  }
  return 0;
}

static int close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t app_error, void *ud,
                    void *sud) {
  pl_quic *q = ud;
  pl_quic__stream *s = sud;
  if (s == NULL)
    return 0;
  /* Give the peer back the stream credit it used (ngtcp2 leaves that to us). */
  if (!s->local && q->state < PL_QUIC__CLOSING) {
    if (s->bidi)
      ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    else
      ngtcp2_conn_extend_max_streams_uni(conn, 1);
  }
  credit_unconsumed(q, s);
  if (user_visible(s)) {
    int err = 0;
    uint64_t code = 0;
    if (s->peer_reset) {
      err = PL_ERR_STATE;
      code = s->peer_error;
    } else if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) &&
               app_error != PL_QUIC_APP_NO_ERROR) {
      err = PL_ERR_STATE;
      code = app_error;
    }
    s->dead = 1;
    s->cb->closed(s->sarg, q, sid, err, code);
  }
  stream_free(q, s);
  return 0;
}

static int reset_cb(ngtcp2_conn *conn, int64_t sid, uint64_t final_size, uint64_t app_error,
                    void *ud, void *sud) {
  pl_quic__stream *s = sud;
  (void)conn;
  (void)sid;
  (void)final_size;
  (void)ud;
  if (s && !s->peer_reset) {
    s->peer_reset = 1;
    s->peer_error = app_error;
  }
  return 0;
}

static int stop_sending_cb(ngtcp2_conn *conn, int64_t sid, uint64_t app_error, void *ud,
                           void *sud) {
  pl_quic *q = ud;
  pl_quic__stream *s = sud;
  (void)conn;
  (void)sid;
  if (s == NULL)
    return 0;
  if (!s->peer_reset) {
    s->peer_reset = 1;
    s->peer_error = app_error;
  }
  s->send_shut = 1; /* ngtcp2 answers with RESET_STREAM itself */
  deactivate(q, s);
  return 0;
}

static int extend_data_cb(ngtcp2_conn *conn, int64_t sid, uint64_t max_data, void *ud, void *sud) {
  pl_quic *q = ud;
  pl_quic__stream *s = sud;
  (void)conn;
  (void)sid;
  (void)max_data;
  if (s && s->blocked) {
    s->blocked = 0;
    activate(q, s);
  }
  return 0;
}

void pl_quic__streams_callbacks(ngtcp2_callbacks *cb) {
  cb->stream_open = open_cb;
  cb->recv_stream_data = recv_cb;
  cb->acked_stream_data_offset = acked_cb;
  cb->stream_close = close_cb;
  cb->stream_reset = reset_cb;
  cb->stream_stop_sending = stop_sending_cb;
  cb->extend_max_stream_data = extend_data_cb;
}

/* --- the write scheduler ----------------------------------------------------------------- */

/* One packet carries at most PL_QUIC_MAX_PACKET bytes: two chunks always hold that much. */
static size_t unsent(const pl_quic__stream *s, ngtcp2_vec v[2]) {
  return pl_quic__sendbuf_vecs(&s->sb, s->sent, s->end, v, 2);
}

ngtcp2_ssize pl_quic__write_streams(pl_quic *q, uint8_t *buf, size_t cap, uint64_t ts) {
  ngtcp2_pkt_info pi;
  /* Each stream is offered once per packet; with nothing (left) to offer, -1 completes it. */
  pl_quic__stream *s = q->state == PL_QUIC__ESTABLISHED ? q->active_head : NULL;
  pl_quic__stream *wrote = NULL;
  for (;;) {
    ngtcp2_vec v[2];
    size_t nv = 0;
    int64_t sid = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    pl_quic__stream *next = s ? s->next_active : NULL;
    uint64_t offered = 0;
    if (s) {
      nv = unsent(s, v);
      sid = s->id;
      for (size_t k = 0; k < nv; k++)
        offered += v[k].len;
      if (s->fin_wanted && !s->fin_sent && s->sent + offered == s->end)
        flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    ngtcp2_ssize ndata = -1;
    ngtcp2_ssize n =
        ngtcp2_conn_writev_stream(q->conn, NULL, &pi, buf, cap, &ndata, flags, sid, v, nv, ts);
    if (s && ndata >= 0) {
      s->sent += (uint64_t)ndata;
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && s->sent == s->end)
        s->fin_sent = 1;
      wrote = s;
      if (!has_pending(s))
        deactivate(q, s);
    }
    switch (n) {
    case NGTCP2_ERR_WRITE_MORE: s = next; continue;
    case NGTCP2_ERR_STREAM_DATA_BLOCKED:
      s->blocked = 1;
      deactivate(q, s);
      s = next;
      continue;
    case NGTCP2_ERR_STREAM_SHUT_WR:
    case NGTCP2_ERR_STREAM_NOT_FOUND:
      s->send_shut = 1;
      deactivate(q, s);
      s = next;
      continue;
    default: break;
    }
    if (n > 0 && wrote && wrote->active && q->active_head == wrote && wrote->next_active) {
      /* Round robin by packet: the stream that just wrote goes to the back. */
      deactivate(q, wrote);
      activate(q, wrote);
    }
    return n;
  }
}

/* --- the user's side --------------------------------------------------------------------- */

int pl_quic_stream_open(pl_quic *q, uint8_t kind, int bidi, const pl_quic_stream_cb *cb, void *sarg,
                        int64_t *psid) {
  if (kind == 0 || kind >= PL_QUIC_STREAM_KINDS || cb == NULL || cb->recv == NULL ||
      cb->closed == NULL || psid == NULL)
    return PL_ERR_INVALID;
  if (q->state != PL_QUIC__ESTABLISHED || q->close_requested)
    return PL_ERR_STATE;
  int64_t sid;
  int rv = ngtcp2_conn_open_bidi_stream(q->conn, &sid, NULL);
  if (rv != 0)
    return rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? PL_ERR_FULL : PL_ERR_NOMEM;
  pl_quic__stream *s = stream_new(q, sid, 1);
  uint8_t first = (uint8_t)(kind | (bidi ? 0 : PL_QUIC__ONEWAY));
  if (s == NULL || pl_quic__sendbuf_put(&s->sb, 0, &first, 1) != 0) {
    if (s)
      stream_free(q, s);
    ngtcp2_conn_shutdown_stream(q->conn, sid, PL_QUIC_APP_INTERNAL);
    return PL_ERR_NOMEM;
  }
  ngtcp2_conn_set_stream_user_data(q->conn, sid, s);
  s->kind = kind;
  s->cb = cb;
  s->sarg = sarg;
  s->oneway = !bidi;
  s->end = 1;
  activate(q, s);
  *psid = sid;
  pl_quic__wake(q);
  return 0;
}

/* A stream the user may still address. */
static pl_quic__stream *user_stream(const pl_quic *q, int64_t sid) {
  pl_quic__stream *s = find(q, sid);
  return s && user_visible(s) ? s : NULL;
}

int pl_quic_stream_write(pl_quic *q, int64_t sid, const uint8_t *data, size_t len,
                         size_t *paccepted) {
  pl_quic__stream *s = user_stream(q, sid);
  if (paccepted)
    *paccepted = 0;
  if (s == NULL)
    return PL_ERR_NOT_FOUND;
  if ((!s->local && s->oneway) || s->fin_wanted || s->send_shut)
    return PL_ERR_STATE;
  size_t room = pl_quic__sendbuf_room(&s->sb, s->base, s->end);
  size_t n = len < room ? len : room;
  if (n && pl_quic__sendbuf_put(&s->sb, s->end, data, n) != 0)
    return PL_ERR_NOMEM;
  s->end += n;
  if (n < len)
    s->want_writable = 1;
  if (paccepted)
    *paccepted = n;
  if (n) {
    activate(q, s);
    pl_quic__wake(q);
  }
  return 0;
}

int pl_quic_stream_finish(pl_quic *q, int64_t sid) {
  pl_quic__stream *s = user_stream(q, sid);
  if (s == NULL)
    return PL_ERR_NOT_FOUND;
  if ((!s->local && s->oneway) || s->send_shut)
    return PL_ERR_STATE;
  if (s->fin_wanted)
    return 0;
  s->fin_wanted = 1;
  activate(q, s);
  pl_quic__wake(q);
  return 0;
}

int pl_quic_stream_reset(pl_quic *q, int64_t sid, uint64_t app_error) {
  pl_quic__stream *s = user_stream(q, sid);
  if (s == NULL)
    return PL_ERR_NOT_FOUND;
  mark_reset(q, s, app_error);
  if (q->in_call == 0) {
    pl_quic__after_streams(q);
    pl_quic__wake(q);
  }
  return 0;
}

int pl_quic_stream_consume(pl_quic *q, int64_t sid, size_t n) {
  pl_quic__stream *s = user_stream(q, sid);
  if (s == NULL)
    return PL_ERR_NOT_FOUND;
  if (n > s->delivered - s->consumed)
    n = (size_t)(s->delivered - s->consumed);
  if (n == 0)
    return 0;
  s->consumed += n;
  ngtcp2_conn_extend_max_stream_offset(q->conn, sid, n);
  ngtcp2_conn_extend_max_offset(q->conn, n);
  pl_quic__wake(q);
  return 0;
}

int pl_quic_stream_get_info(const pl_quic *q, int64_t sid, pl_quic_stream_info *info) {
  pl_quic__stream *s = user_stream(q, sid);
  if (s == NULL)
    return PL_ERR_NOT_FOUND;
  uint64_t h = hdr_len(s);
  memset(info, 0, sizeof *info);
  info->written = s->end > h ? s->end - h : 0;
  info->acked = s->base > h ? s->base - h : 0;
  info->received = s->delivered;
  info->buffer_free = pl_quic__sendbuf_room(&s->sb, s->base, s->end);
  info->fin_sent = s->fin_sent;
  info->fin_received = s->fin_received;
  return 0;
}
