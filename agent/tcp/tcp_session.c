/* One TCP connection's protocol: handshake, selection, messages, keep-alive. */
#include "agent/tcp/tcp_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/random.h"

static int fail(pl_tcp_session *s, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(pl_tcp_session *s, int rv, const char *fmt, ...) {
  va_list ap;
  if (s->state == PL_TCP_SESSION_FAILED)
    return rv; /* keep the first reason */
  va_start(ap, fmt);
  vsnprintf(s->why, sizeof s->why, fmt, ap);
  va_end(ap);
  s->state = PL_TCP_SESSION_FAILED;
  s->error = rv;
  return rv;
}

static int emit(pl_tcp_session *s, const struct iovec *iov, int n, uint64_t now) {
  int rv = s->cb.emit(s->cb.arg, iov, n);
  if (rv != 0)
    return fail(s, rv, "cannot write to the connection: %s", pl_strerror(rv));
  s->last_send_us = now;
  return 0;
}

static int emit_record(pl_tcp_session *s, uint8_t type, const uint8_t *data, size_t len,
                       uint64_t now) {
  uint8_t h[PL_TCP_HEADER_LEN];
  struct iovec iov[2] = {{h, sizeof h}, {(void *)data, len}};
  pl_tcp_header(h, type, (uint32_t)len);
  return emit(s, iov, len ? 2 : 1, now);
}

static void fill_mine(pl_tcp_session *s) {
  s->mine.version = PL_TCP_VERSION;
  s->mine.flags = 0;
  memcpy(s->mine.pairing, s->cfg.pairing, PL_TCP_PAIRING_LEN);
  memcpy(s->mine.sender, s->cfg.self_id, PL_TCP_ID_LEN);
  memcpy(s->mine.receiver, s->cfg.peer_id, PL_TCP_ID_LEN);
}

int pl_tcp_session_init(pl_tcp_session *s, const pl_tcp_session_config *cfg,
                        const pl_tcp_session_callbacks *cb, uint64_t keepalive_us,
                        uint64_t dead_after_us, uint64_t handshake_us, uint64_t now) {
  memset(s, 0, sizeof *s);
  if (cb == NULL || cb->emit == NULL || (cfg == NULL && cb->bind == NULL))
    return PL_ERR_INVALID;
  s->cb = *cb;
  s->keepalive_us = keepalive_us;
  s->dead_after_us = dead_after_us;
  s->handshake_deadline_us = now + handshake_us;
  s->last_recv_us = s->last_send_us = now;
  pl_tcp_decoder_init(&s->dec);
  s->dec.limit = PL_TCP_CLOSE_MAX; /* until selected: no large records from a stranger */
  if (pl_random_bytes(s->mine.nonce, sizeof s->mine.nonce) != 0)
    return PL_ERR_IO;
  if (cfg) {
    s->cfg = *cfg;
    s->bound = 1;
    fill_mine(s);
  }
  s->state = PL_TCP_SESSION_HANDSHAKE;
  return 0;
}

void pl_tcp_session_free(pl_tcp_session *s) {
  pl_tcp_decoder_free(&s->dec);
  memset(s->cfg.key, 0, sizeof s->cfg.key);
}

static int send_hello(pl_tcp_session *s, uint64_t now) {
  uint8_t rec[PL_TCP_HEADER_LEN + PL_TCP_HELLO_LEN];
  struct iovec iov = {rec, sizeof rec};
  pl_tcp_hello_encode(rec, &s->mine);
  s->sent_hello = 1;
  return emit(s, &iov, 1, now);
}

int pl_tcp_session_start(pl_tcp_session *s, uint64_t now) {
  if (s->state == PL_TCP_SESSION_FAILED)
    return s->error;
  if (!s->bound || s->sent_hello)
    return 0;
  return send_hello(s, now);
}

/* --- the peer's records ----------------------------------------------------------------- */

static int got_hello(pl_tcp_session *s, const uint8_t *data, size_t len, uint64_t now) {
  uint8_t mac[PL_TCP_AUTH_LEN];
  if (s->got_hello)
    return fail(s, PL_ERR_PARSE, "a second HELLO");
  if (pl_tcp_hello_parse(&s->theirs, data, len) != 0)
    return fail(s, PL_ERR_PARSE, "a HELLO of another version");
  if (!s->bound) {
    if (s->cb.bind(s->cb.arg, &s->theirs, &s->cfg) != 0)
      return fail(s, PL_ERR_NOT_FOUND, "a HELLO for a pairing this agent does not have");
    s->bound = 1;
    fill_mine(s);
  }
  if (memcmp(s->theirs.pairing, s->cfg.pairing, PL_TCP_PAIRING_LEN) != 0)
    return fail(s, PL_ERR_AUTH, "auth failed: the HELLO names another pairing");
  if (memcmp(s->theirs.sender, s->cfg.peer_id, PL_TCP_ID_LEN) != 0 ||
      memcmp(s->theirs.receiver, s->cfg.self_id, PL_TCP_ID_LEN) != 0)
    return fail(s, PL_ERR_AUTH, "auth failed: the HELLO names other agents");
  s->got_hello = 1;
  int rv = s->sent_hello ? 0 : send_hello(s, now);
  if (rv != 0)
    return rv;
  if (pl_tcp_auth_mac(mac, s->cfg.key, &s->mine, &s->theirs) != 0)
    return fail(s, PL_ERR_CRYPTO, "cannot compute the AUTH MAC");
  return emit_record(s, PL_TCP_AUTH, mac, sizeof mac, now);
}

static int got_auth(pl_tcp_session *s, const uint8_t *data, size_t len) {
  if (!s->got_hello)
    return fail(s, PL_ERR_AUTH, "auth failed: AUTH before HELLO");
  if (s->state != PL_TCP_SESSION_HANDSHAKE)
    return fail(s, PL_ERR_PARSE, "a second AUTH");
  if (pl_tcp_auth_verify(data, len, s->cfg.key, &s->theirs, &s->mine) != 0)
    return fail(s, PL_ERR_AUTH, "auth failed: wrong AUTH MAC (the peer lacks the pairing's key)");
  s->state = PL_TCP_SESSION_AUTHED;
  if (s->cb.on_state)
    s->cb.on_state(s->cb.arg, s->state);
  return 0;
}

static int got_ack(pl_tcp_session *s, const uint8_t *data) {
  uint64_t seq = 0;
  for (int i = 0; i < PL_TCP_ACK_LEN; i++)
    seq = seq << 8 | data[i];
  if (seq < s->acked || seq > s->msg_sent)
    return fail(s, PL_ERR_PARSE, "an ACK of message %llu (sent %llu, acknowledged %llu)",
                (unsigned long long)seq, (unsigned long long)s->msg_sent,
                (unsigned long long)s->acked);
  if (seq > s->acked) {
    s->acked = seq;
    if (s->cb.on_ack)
      s->cb.on_ack(s->cb.arg, seq);
  }
  return 0;
}

/* Records that need an authenticated, selected connection. */
static int check_selected(pl_tcp_session *s, uint8_t type) {
  if (s->state == PL_TCP_SESSION_SELECTED)
    return 0;
  if (s->state == PL_TCP_SESSION_HANDSHAKE)
    return fail(s, PL_ERR_AUTH, "auth failed: %s before authentication", pl_tcp_type_name(type));
  return fail(s, PL_ERR_PARSE, "%s on a connection that was not selected", pl_tcp_type_name(type));
}

typedef struct recv_ctx {
  pl_tcp_session *s;
  uint64_t now;
} recv_ctx;

static int on_record(void *arg, uint8_t type, const uint8_t *data, size_t len, size_t offset,
                     size_t total) {
  recv_ctx *c = arg;
  pl_tcp_session *s = c->s;
  if (s->state == PL_TCP_SESSION_FAILED)
    return s->error; /* a callback closed it */
  switch (type) {
  case PL_TCP_HELLO: return got_hello(s, data, len, c->now);
  case PL_TCP_AUTH: return got_auth(s, data, len);
  case PL_TCP_CLOSE:
    s->peer_closed = 1;
    return fail(s, PL_ERR_CLOSED, "closed by the peer: %.*s", (int)len, (const char *)data);
  case PL_TCP_PING:
    if (s->state == PL_TCP_SESSION_HANDSHAKE)
      return fail(s, PL_ERR_AUTH, "auth failed: PING before authentication");
    return 0;
  case PL_TCP_SELECT:
    if (s->state == PL_TCP_SESSION_HANDSHAKE)
      return fail(s, PL_ERR_AUTH, "auth failed: SELECT before authentication");
    if (s->cfg.controlling || s->state != PL_TCP_SESSION_AUTHED)
      return fail(s, PL_ERR_PARSE, "a SELECT out of place");
    s->state = PL_TCP_SESSION_SELECTED;
    s->dec.limit = 0;
    if (s->cb.on_state)
      s->cb.on_state(s->cb.arg, s->state);
    return 0;
  default: break;
  }
  int rv = check_selected(s, type);
  if (rv != 0)
    return rv;
  if (type == PL_TCP_ACK)
    return got_ack(s, data);
  if (type == PL_TCP_MSG) {
    s->msg_received++;
    if (s->cb.on_message)
      s->cb.on_message(s->cb.arg, s->msg_received, data, len);
  } else if (s->cb.on_bulk) { /* the decoder knows no other type */
    s->cb.on_bulk(s->cb.arg, data, len, offset, total);
  }
  return 0;
}

int pl_tcp_session_recv(pl_tcp_session *s, const uint8_t *data, size_t len, uint64_t now) {
  recv_ctx c = {s, now};
  uint8_t ack[PL_TCP_ACK_LEN];
  if (s->state == PL_TCP_SESSION_FAILED)
    return s->error;
  if (len > 0)
    s->last_recv_us = now;
  int rv = pl_tcp_decode(&s->dec, data, len, on_record, &c);
  if (rv == PL_ERR_PARSE || rv == PL_ERR_NOMEM)
    return fail(s, rv, "%s",
                rv == PL_ERR_PARSE ? "not a peerlink TCP stream (bad record)"
                                   : "out of memory for a record");
  if (rv != 0)
    return rv;
  if (s->state == PL_TCP_SESSION_FAILED)
    return s->error; /* a callback closed it, or a write in one failed */
  /* One cumulative ACK for everything this read delivered. */
  if (s->state == PL_TCP_SESSION_SELECTED && s->msg_received > s->ack_sent) {
    uint64_t seq = s->msg_received;
    for (int i = PL_TCP_ACK_LEN - 1; i >= 0; i--, seq >>= 8)
      ack[i] = (uint8_t)seq;
    s->ack_sent = s->msg_received;
    return emit_record(s, PL_TCP_ACK, ack, sizeof ack, now);
  }
  return 0;
}

/* --- what we send ----------------------------------------------------------------------- */

int pl_tcp_session_select(pl_tcp_session *s, uint64_t now) {
  if (!s->cfg.controlling || s->state != PL_TCP_SESSION_AUTHED)
    return PL_ERR_STATE;
  int rv = emit_record(s, PL_TCP_SELECT, NULL, 0, now);
  if (rv == 0) {
    s->state = PL_TCP_SESSION_SELECTED;
    s->dec.limit = 0;
  }
  return rv;
}

int pl_tcp_session_send(pl_tcp_session *s, const uint8_t *data, size_t len, uint64_t now,
                        uint64_t *pseq) {
  if (s->state != PL_TCP_SESSION_SELECTED)
    return PL_ERR_STATE;
  if (len > PL_TCP_MAX_RECORD)
    return PL_ERR_TOO_BIG;
  int rv = emit_record(s, PL_TCP_MSG, data, len, now);
  if (rv != 0)
    return rv;
  s->msg_sent++;
  if (pseq)
    *pseq = s->msg_sent;
  return 0;
}

int pl_tcp_session_bulk(pl_tcp_session *s, const uint8_t *data, size_t len, uint64_t now) {
  if (s->state != PL_TCP_SESSION_SELECTED)
    return PL_ERR_STATE;
  if (len == 0)
    return PL_ERR_INVALID;
  if (len > PL_TCP_MAX_RECORD)
    return PL_ERR_TOO_BIG;
  return emit_record(s, PL_TCP_BULK, data, len, now);
}

/* --- timers ----------------------------------------------------------------------------- */

static int authed(const pl_tcp_session *s) {
  return s->state == PL_TCP_SESSION_AUTHED || s->state == PL_TCP_SESSION_SELECTED;
}

int pl_tcp_session_tick(pl_tcp_session *s, uint64_t now) {
  if (s->state == PL_TCP_SESSION_FAILED)
    return s->error;
  if (s->state != PL_TCP_SESSION_SELECTED && now >= s->handshake_deadline_us)
    return fail(s, PL_ERR_TIMEOUT,
                s->state == PL_TCP_SESSION_HANDSHAKE ? "auth timed out: the handshake did not "
                                                       "complete"
                                                     : "timed out waiting for SELECT");
  if (!authed(s))
    return 0;
  if (s->dead_after_us && now - s->last_recv_us >= s->dead_after_us)
    return fail(s, PL_ERR_TIMEOUT, "timed out: nothing from the peer for %llu ms",
                (unsigned long long)(now - s->last_recv_us) / 1000);
  if (s->keepalive_us && now - s->last_send_us >= s->keepalive_us)
    return emit_record(s, PL_TCP_PING, NULL, 0, now);
  return 0;
}

uint64_t pl_tcp_session_deadline(const pl_tcp_session *s) {
  uint64_t d = UINT64_MAX;
  if (s->state == PL_TCP_SESSION_FAILED)
    return d;
  if (s->state != PL_TCP_SESSION_SELECTED)
    d = s->handshake_deadline_us;
  if (!authed(s))
    return d;
  if (s->dead_after_us && s->last_recv_us + s->dead_after_us < d)
    d = s->last_recv_us + s->dead_after_us;
  if (s->keepalive_us && s->last_send_us + s->keepalive_us < d)
    d = s->last_send_us + s->keepalive_us;
  return d;
}

void pl_tcp_session_close(pl_tcp_session *s, const char *why, uint64_t now) {
  int tell = authed(s);
  size_t n = strlen(why);
  fail(s, PL_ERR_CLOSED, "%s", why); /* first, so a failing write cannot replace the reason */
  if (tell)
    emit_record(s, PL_TCP_CLOSE, (const uint8_t *)why, n > PL_TCP_CLOSE_MAX ? PL_TCP_CLOSE_MAX : n,
                now);
}
