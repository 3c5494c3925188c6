/* agent/tcp/tcp_session: two sessions joined by in-memory byte pipes, synthetic time. The
 * handshake both ways (ours/ours as in a simultaneous open, ours/accepted), selection, messages
 * with cumulative ACKs, bulk, and every way it must refuse: a wrong key, other agents, another
 * pairing, data before authentication, a reflected HELLO/AUTH, garbage; keep-alive and dead
 * peer timing; CLOSE with its reason. */
#include <stdlib.h>
#include <string.h>

#include "agent/tcp/tcp_session.h"
#include "tests/unit/common/check.h"

#define KEEPALIVE 2000000u
#define DEAD 8000000u
#define HANDSHAKE 5000000u

typedef struct side {
  pl_tcp_session s;
  uint8_t out[1 << 17]; /* emitted, not yet delivered */
  size_t outlen;
  int emit_error; /* emit fails with this when set */
  int authed, selected;
  uint64_t msgs, last_seq, acked, bulk_bytes;
  uint8_t last_msg[256];
  size_t last_len;
  pl_tcp_session_config bind_cfg; /* what bind answers for an accepted session */
  int bind_calls;
} side;

static int emit(void *arg, const struct iovec *iov, int n) {
  side *d = arg;
  if (d->emit_error)
    return d->emit_error;
  for (int i = 0; i < n; i++) {
    CHECK(d->outlen + iov[i].iov_len <= sizeof d->out);
    memcpy(d->out + d->outlen, iov[i].iov_base, iov[i].iov_len);
    d->outlen += iov[i].iov_len;
  }
  return 0;
}

static int bind(void *arg, const pl_tcp_hello *peer, pl_tcp_session_config *cfg) {
  side *d = arg;
  d->bind_calls++;
  if (memcmp(peer->pairing, d->bind_cfg.pairing, PL_TCP_PAIRING_LEN) != 0)
    return PL_ERR_NOT_FOUND;
  *cfg = d->bind_cfg;
  return 0;
}

static void on_state(void *arg, pl_tcp_session_state st) {
  side *d = arg;
  if (st == PL_TCP_SESSION_AUTHED)
    d->authed++;
  if (st == PL_TCP_SESSION_SELECTED)
    d->selected++;
}

static void on_message(void *arg, uint64_t seq, const uint8_t *data, size_t len) {
  side *d = arg;
  CHECK(seq == d->last_seq + 1);
  d->last_seq = seq;
  d->msgs++;
  d->last_len = len < sizeof d->last_msg ? len : sizeof d->last_msg;
  memcpy(d->last_msg, data, d->last_len);
}

static void on_ack(void *arg, uint64_t seq) {
  side *d = arg;
  CHECK(seq > d->acked);
  d->acked = seq;
}

static void on_bulk(void *arg, const uint8_t *data, size_t len, size_t offset, size_t total) {
  side *d = arg;
  (void)data;
  CHECK(offset + len <= total);
  d->bulk_bytes += len;
}

static void config(pl_tcp_session_config *c, uint8_t self, uint8_t peer, uint8_t key,
                   int controlling) {
  memset(c, 0, sizeof *c);
  memset(c->self_id, self, sizeof c->self_id);
  memset(c->peer_id, peer, sizeof c->peer_id);
  memset(c->pairing, 0x5a, sizeof c->pairing);
  memset(c->key, key, sizeof c->key);
  c->controlling = controlling;
}

static void side_init(side *d, const pl_tcp_session_config *cfg, uint64_t now) {
  pl_tcp_session_callbacks cb = {emit, bind, on_state, on_message, on_ack, on_bulk, d};
  memset(d, 0, sizeof *d);
  CHECK_RV(pl_tcp_session_init(&d->s, cfg, &cb, KEEPALIVE, DEAD, HANDSHAKE, now), 0);
}

/* Moves what `from` emitted into `to`, `chunk` bytes at a time (0: all at once). Returns the
 * first error `to` returned. */
static int deliver(side *from, side *to, size_t chunk, uint64_t now) {
  size_t off = 0;
  int rv = 0;
  while (off < from->outlen && rv == 0) {
    size_t n = chunk && chunk < from->outlen - off ? chunk : from->outlen - off;
    rv = pl_tcp_session_recv(&to->s, from->out + off, n, now);
    off += n;
  }
  memmove(from->out, from->out + off, from->outlen - off);
  from->outlen -= off;
  return rv;
}

/* Both ways until quiet. */
static void pump(side *a, side *b, size_t chunk, uint64_t now) {
  for (int i = 0; i < 10 && (a->outlen || b->outlen); i++) {
    CHECK_RV(deliver(a, b, chunk, now), 0);
    CHECK_RV(deliver(b, a, chunk, now), 0);
  }
  CHECK(a->outlen == 0 && b->outlen == 0);
}

/* A controlling, B controlled, both "ours" (a simultaneous open). */
static void connected_pair(side *a, side *b, size_t chunk) {
  pl_tcp_session_config ca, cb;
  config(&ca, 0xaa, 0xbb, 7, 1);
  config(&cb, 0xbb, 0xaa, 7, 0);
  side_init(a, &ca, 0);
  side_init(b, &cb, 0);
  CHECK_RV(pl_tcp_session_start(&a->s, 0), 0);
  CHECK_RV(pl_tcp_session_start(&b->s, 0), 0);
  pump(a, b, chunk, 1000);
  CHECK(a->authed == 1 && b->authed == 1);
  CHECK(a->s.state == PL_TCP_SESSION_AUTHED && b->s.state == PL_TCP_SESSION_AUTHED);
  /* Nothing moves before SELECT. */
  CHECK_RV(pl_tcp_session_send(&a->s, (const uint8_t *)"x", 1, 1000, NULL), PL_ERR_STATE);
  CHECK_RV(pl_tcp_session_select(&b->s, 1000), PL_ERR_STATE); /* the controlled side never does */
  CHECK_RV(pl_tcp_session_select(&a->s, 1000), 0);
  pump(a, b, chunk, 2000);
  CHECK(a->s.state == PL_TCP_SESSION_SELECTED && b->s.state == PL_TCP_SESSION_SELECTED);
  CHECK(b->selected == 1);
}

static void test_handshake_and_messages(size_t chunk) {
  static side a, b;
  uint64_t seq;
  connected_pair(&a, &b, chunk);
  CHECK_RV(pl_tcp_session_send(&a.s, (const uint8_t *)"hello", 5, 3000, &seq), 0);
  CHECK(seq == 1);
  CHECK_RV(pl_tcp_session_send(&a.s, (const uint8_t *)"", 0, 3000, &seq), 0);
  CHECK_RV(pl_tcp_session_send(&a.s, (const uint8_t *)"third", 5, 3000, &seq), 0);
  CHECK(seq == 3);
  CHECK_RV(deliver(&a, &b, chunk, 3000), 0);
  CHECK(b.msgs == 3 && b.last_len == 5 && memcmp(b.last_msg, "third", 5) == 0);
  CHECK_RV(deliver(&b, &a, chunk, 3000), 0);
  CHECK(a.acked == 3); /* cumulative: one ACK per read at least covers them all */
  CHECK_RV(pl_tcp_session_send(&b.s, (const uint8_t *)"back", 4, 3000, &seq), 0);
  pump(&a, &b, chunk, 3000);
  CHECK(a.msgs == 1 && b.acked == 1);
  static uint8_t big[70000];
  memset(big, 0xee, sizeof big);
  CHECK_RV(pl_tcp_session_bulk(&a.s, big, sizeof big, 4000), 0);
  CHECK_RV(pl_tcp_session_bulk(&a.s, big, 0, 4000), PL_ERR_INVALID);
  pump(&a, &b, chunk, 4000);
  CHECK(b.bulk_bytes == sizeof big);
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);
}

static void test_accepted(void) {
  static side a, b;
  pl_tcp_session_config ca;
  config(&ca, 0xaa, 0xbb, 7, 0); /* A controlled this time */
  side_init(&a, &ca, 0);
  pl_tcp_session_callbacks cbs = {emit, bind, on_state, on_message, on_ack, on_bulk, &b};
  memset(&b, 0, sizeof b);
  config(&b.bind_cfg, 0xbb, 0xaa, 7, 1);
  CHECK_RV(pl_tcp_session_init(&b.s, NULL, &cbs, KEEPALIVE, DEAD, HANDSHAKE, 0), 0);
  CHECK_RV(pl_tcp_session_start(&b.s, 0), 0);
  CHECK(b.outlen == 0); /* an accepted session speaks once it knows the pairing */
  CHECK_RV(pl_tcp_session_start(&a.s, 0), 0);
  pump(&a, &b, 0, 10);
  CHECK(b.bind_calls == 1 && a.authed == 1 && b.authed == 1);
  CHECK_RV(pl_tcp_session_select(&b.s, 20), 0);
  pump(&a, &b, 0, 20);
  CHECK(a.selected == 1);
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);

  /* A HELLO for a pairing the acceptor does not have. */
  side_init(&a, &ca, 0);
  memset(&b, 0, sizeof b);
  config(&b.bind_cfg, 0xbb, 0xaa, 7, 1);
  b.bind_cfg.pairing[0] ^= 1;
  CHECK_RV(pl_tcp_session_init(&b.s, NULL, &cbs, KEEPALIVE, DEAD, HANDSHAKE, 0), 0);
  CHECK_RV(pl_tcp_session_start(&a.s, 0), 0);
  CHECK_RV(deliver(&a, &b, 0, 10), PL_ERR_NOT_FOUND);
  CHECK(b.s.state == PL_TCP_SESSION_FAILED && b.outlen == 0);
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);
}

/* B is configured differently; the handshake must fail on `who` with PL_ERR_AUTH. */
static void expect_auth_failure(const pl_tcp_session_config *cb_cfg, const char *why) {
  static side a, b;
  pl_tcp_session_config ca;
  config(&ca, 0xaa, 0xbb, 7, 1);
  side_init(&a, &ca, 0);
  side_init(&b, cb_cfg, 0);
  CHECK_RV(pl_tcp_session_start(&a.s, 0), 0);
  CHECK_RV(pl_tcp_session_start(&b.s, 0), 0);
  int ra = 0, rb = 0;
  for (int i = 0; i < 4; i++) {
    if (rb == 0)
      rb = deliver(&a, &b, 0, 10);
    if (ra == 0)
      ra = deliver(&b, &a, 0, 10);
  }
  CHECK_MSG(ra == PL_ERR_AUTH || rb == PL_ERR_AUTH, "ra=%d rb=%d", ra, rb);
  CHECK(a.authed == 0 || b.authed == 0);
  CHECK(a.selected == 0 && b.selected == 0 && a.msgs == 0 && b.msgs == 0);
  CHECK_STR_CONTAINS(ra == PL_ERR_AUTH ? a.s.why : b.s.why, why);
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);
}

static void test_refusals(void) {
  pl_tcp_session_config c;
  config(&c, 0xbb, 0xaa, 8, 0); /* another key: the rendezvous gave it another secret */
  expect_auth_failure(&c, "wrong AUTH MAC");
  config(&c, 0xcc, 0xaa, 7, 0); /* the key, but not the agent A expects */
  expect_auth_failure(&c, "names other agents");
  config(&c, 0xbb, 0xdd, 7, 0); /* expects another peer */
  expect_auth_failure(&c, "names other agents");
  config(&c, 0xbb, 0xaa, 7, 0);
  c.pairing[7] ^= 1;
  expect_auth_failure(&c, "another pairing");
}

/* Raw bytes in front of a fresh session of ours. */
static int feed(const uint8_t *bytes, size_t len, char *why, size_t whycap) {
  static side a;
  pl_tcp_session_config ca;
  config(&ca, 0xaa, 0xbb, 7, 1);
  side_init(&a, &ca, 0);
  CHECK_RV(pl_tcp_session_start(&a.s, 0), 0);
  int rv = pl_tcp_session_recv(&a.s, bytes, len, 10);
  snprintf(why, whycap, "%s", a.s.why);
  CHECK(rv == 0 || a.s.state == PL_TCP_SESSION_FAILED);
  CHECK(a.msgs == 0 && a.bulk_bytes == 0);
  if (rv != 0) /* failed for good */
    CHECK_RV(pl_tcp_session_recv(&a.s, bytes, len, 20), rv);
  pl_tcp_session_free(&a.s);
  return rv;
}

static void test_before_auth(void) {
  uint8_t buf[64];
  char why[256];
  pl_tcp_header(buf, PL_TCP_MSG, 3);
  memcpy(buf + 5, "abc", 3);
  CHECK_RV(feed(buf, 8, why, sizeof why), PL_ERR_AUTH);
  CHECK_STR_CONTAINS(why, "MSG before authentication");
  pl_tcp_header(buf, PL_TCP_BULK, 1);
  CHECK_RV(feed(buf, 6, why, sizeof why), PL_ERR_AUTH);
  pl_tcp_header(buf, PL_TCP_SELECT, 0);
  CHECK_RV(feed(buf, 5, why, sizeof why), PL_ERR_AUTH);
  pl_tcp_header(buf, PL_TCP_AUTH, 32);
  memset(buf + 5, 0, 32);
  CHECK_RV(feed(buf, 37, why, sizeof why), PL_ERR_AUTH);
  CHECK_STR_CONTAINS(why, "AUTH before HELLO");
  /* A stranger's large record ends the connection at its header, before any of it is kept. */
  pl_tcp_header(buf, PL_TCP_MSG, PL_TCP_MAX_RECORD);
  CHECK_RV(feed(buf, 5, why, sizeof why), PL_ERR_PARSE);
  pl_tcp_header(buf, PL_TCP_BULK, PL_TCP_CLOSE_MAX + 1);
  CHECK_RV(feed(buf, 5, why, sizeof why), PL_ERR_PARSE);
  memcpy(buf, "GET / HTTP/1.1\r\n\r\n", 18); /* not our protocol */
  CHECK_RV(feed(buf, 18, why, sizeof why), PL_ERR_PARSE);
  CHECK_STR_CONTAINS(why, "not a peerlink TCP stream");
}

/* An attacker relays A's own HELLO back to A (a reflection): it names A as its sender, and A
 * expects B, so A never sends an AUTH a reflector could bounce back either. */
static void test_reflection(void) {
  static side a;
  pl_tcp_session_config ca;
  config(&ca, 0xaa, 0xbb, 7, 1);
  side_init(&a, &ca, 0);
  CHECK_RV(pl_tcp_session_start(&a.s, 0), 0);
  uint8_t copy[512];
  size_t n = a.outlen;
  memcpy(copy, a.out, n);
  a.outlen = 0;
  CHECK_RV(pl_tcp_session_recv(&a.s, copy, n, 10), PL_ERR_AUTH);
  CHECK_STR_CONTAINS(a.s.why, "names other agents");
  CHECK(a.outlen == 0 && a.authed == 0);
  pl_tcp_session_free(&a.s);
}

static void test_timers(void) {
  static side a, b;
  connected_pair(&a, &b, 0);
  /* A last wrote (SELECT) at sent and last heard from B at heard. */
  uint64_t sent = a.s.last_send_us, heard = a.s.last_recv_us;
  CHECK(sent + KEEPALIVE < heard + DEAD);
  CHECK(pl_tcp_session_deadline(&a.s) == sent + KEEPALIVE);
  CHECK_RV(pl_tcp_session_tick(&a.s, sent + KEEPALIVE - 1), 0);
  CHECK(a.outlen == 0);
  CHECK_RV(pl_tcp_session_tick(&a.s, sent + KEEPALIVE), 0);
  CHECK(a.outlen == PL_TCP_HEADER_LEN && a.out[0] == PL_TCP_PING);
  CHECK_RV(deliver(&a, &b, 0, sent + KEEPALIVE), 0); /* a PING is silent, and keeps B's timer */
  CHECK(b.outlen == 0 && b.s.last_recv_us == sent + KEEPALIVE);
  /* A hears nothing from B: dead DEAD after B's last bytes. */
  CHECK(pl_tcp_session_deadline(&a.s) == sent + 2 * KEEPALIVE); /* the next PING first */
  CHECK_RV(pl_tcp_session_tick(&a.s, heard + DEAD - 1), 0);
  a.outlen = 0;
  CHECK_RV(pl_tcp_session_tick(&a.s, heard + DEAD), PL_ERR_TIMEOUT);
  CHECK_STR_CONTAINS(a.s.why, "nothing from the peer");
  CHECK(pl_tcp_session_deadline(&a.s) == UINT64_MAX);
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);

  /* A handshake that never completes. */
  pl_tcp_session_config ca;
  config(&ca, 0xaa, 0xbb, 7, 1);
  side_init(&a, &ca, 100);
  CHECK_RV(pl_tcp_session_start(&a.s, 100), 0);
  CHECK(pl_tcp_session_deadline(&a.s) == 100 + HANDSHAKE);
  CHECK_RV(pl_tcp_session_tick(&a.s, 100 + HANDSHAKE), PL_ERR_TIMEOUT);
  CHECK_STR_CONTAINS(a.s.why, "auth timed out");
  pl_tcp_session_free(&a.s);
}

static void test_close_and_errors(void) {
  static side a, b;
  connected_pair(&a, &b, 0);
  pl_tcp_session_close(&a.s, "disconnected by request", 5000);
  CHECK(a.s.state == PL_TCP_SESSION_FAILED);
  CHECK_RV(deliver(&a, &b, 0, 5000), PL_ERR_CLOSED);
  CHECK(b.s.peer_closed);
  CHECK_STR_EQ(b.s.why, "closed by the peer: disconnected by request");
  CHECK_RV(pl_tcp_session_send(&a.s, (const uint8_t *)"x", 1, 5000, NULL), PL_ERR_STATE);
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);

  /* A write that fails fails the session and says so. */
  connected_pair(&a, &b, 0);
  a.emit_error = PL_ERR_IO;
  CHECK_RV(pl_tcp_session_send(&a.s, (const uint8_t *)"x", 1, 5000, NULL), PL_ERR_IO);
  CHECK(a.s.state == PL_TCP_SESSION_FAILED);
  CHECK_STR_CONTAINS(a.s.why, "cannot write");
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);

  /* An ACK of a message never sent is a protocol error. */
  connected_pair(&a, &b, 0);
  uint8_t ack[PL_TCP_HEADER_LEN + 8] = {0};
  pl_tcp_header(ack, PL_TCP_ACK, 8);
  ack[12] = 1;
  CHECK_RV(pl_tcp_session_recv(&a.s, ack, sizeof ack, 6000), PL_ERR_PARSE);
  pl_tcp_session_free(&a.s);
  pl_tcp_session_free(&b.s);
}

int main(void) {
  test_handshake_and_messages(0);
  test_handshake_and_messages(1);
  test_handshake_and_messages(7);
  test_accepted();
  test_refusals();
  test_before_auth();
  test_reflection();
  test_timers();
  test_close_and_errors();
  printf("tcp_session_test: ok\n");
  return 0;
}
