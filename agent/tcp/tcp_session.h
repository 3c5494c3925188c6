#ifndef PEERLINK_TCP_SESSION_H
#define PEERLINK_TCP_SESSION_H

/* One TCP connection's protocol, I/O-free: bytes and `now` in, bytes to write (through the
 * emit callback) and a deadline out.
 *
 * Handshake (docs/protocol.md, "TCP connections"): each side sends HELLO (pairing, its ID,
 * the ID it expects, a fresh nonce), and on the peer's HELLO an AUTH: an HMAC under the
 * pairing's frame key over the pairing, both IDs and both nonces. Nothing but HELLO and AUTH
 * is accepted until the peer's AUTH checked. A connection we accepted learns its pairing from
 * the peer's HELLO (the bind callback) and answers with its own HELLO then.
 *
 * Until a connection is selected, a MSG or BULK record longer than PL_TCP_CLOSE_MAX ends it at
 * its header (it would fail anyway), so an unauthenticated peer cannot make us buffer much.
 *
 * Several connections can complete for one pairing (one per candidate pair); the controlling
 * side picks the first that authenticated and says so with SELECT, and only a selected
 * connection carries MSG, ACK and BULK. Both sides send PING when they have been quiet for
 * keepalive_us, and give up on a connection that has been silent for dead_after_us. */

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "agent/tcp/tcp_wire.h"

typedef struct pl_tcp_session_config {
  uint8_t self_id[PL_TCP_ID_LEN];
  uint8_t peer_id[PL_TCP_ID_LEN];
  uint8_t pairing[PL_TCP_PAIRING_LEN];
  uint8_t key[32]; /* the pairing's frame key (pl_frame_keys_derive) */
  int controlling;
} pl_tcp_session_config;

typedef enum {
  PL_TCP_SESSION_HANDSHAKE, /* HELLO/AUTH under way */
  PL_TCP_SESSION_AUTHED,    /* the peer proved the key; waiting for (or to send) SELECT */
  PL_TCP_SESSION_SELECTED,  /* the pairing's connection: messages flow */
  PL_TCP_SESSION_FAILED,    /* see why; nothing more is accepted or sent */
} pl_tcp_session_state;

typedef struct pl_tcp_session_callbacks {
  /* Bytes to write, in order: whole records, split over iov. Returns 0, or a negative PL_ERR_*
   * (the connection cannot take them: the session fails). Required. */
  int (*emit)(void *arg, const struct iovec *iov, int iovcnt);
  /* A connection we accepted: the peer's HELLO names the pairing and itself. Fill cfg and
   * return 0, or PL_ERR_NOT_FOUND (no such pairing here). Required for accepted ones. */
  int (*bind)(void *arg, const pl_tcp_hello *peer, pl_tcp_session_config *cfg);
  /* The state became AUTHED or SELECTED (failures are the return values). Optional. */
  void (*on_state)(void *arg, pl_tcp_session_state state);
  /* MSG number `seq` (1, 2, ... in order). Optional. */
  void (*on_message)(void *arg, uint64_t seq, const uint8_t *data, size_t len);
  /* The peer has delivered every message up to `seq`. Optional. */
  void (*on_ack)(void *arg, uint64_t seq);
  /* A slice of a BULK record (pl_tcp_record_fn's offset/total). Optional. */
  void (*on_bulk)(void *arg, const uint8_t *data, size_t len, size_t offset, size_t total);
  void *arg;
} pl_tcp_session_callbacks;

typedef struct pl_tcp_session {
  pl_tcp_session_config cfg;
  int bound; /* cfg is known (always for ours; after the peer's HELLO for accepted ones) */
  pl_tcp_session_callbacks cb;
  pl_tcp_session_state state;
  pl_tcp_hello mine, theirs;
  int sent_hello, got_hello;
  pl_tcp_decoder dec;
  uint64_t keepalive_us, dead_after_us, handshake_deadline_us;
  uint64_t last_recv_us, last_send_us;
  uint64_t msg_sent, msg_received, acked, ack_sent;
  int peer_closed; /* the peer sent CLOSE (why holds its reason) */
  int error;       /* once FAILED: the PL_ERR_* it failed with */
  char why[PL_TCP_CLOSE_MAX + 40];
} pl_tcp_session;

/* cfg NULL: an accepted connection, bound by the peer's HELLO. The nonce comes from
 * control/common/random. handshake_us: how long the handshake may take from now.
 * Returns 0, PL_ERR_INVALID (a required callback missing), PL_ERR_IO (no random bytes). */
int pl_tcp_session_init(pl_tcp_session *s, const pl_tcp_session_config *cfg,
                        const pl_tcp_session_callbacks *cb, uint64_t keepalive_us,
                        uint64_t dead_after_us, uint64_t handshake_us, uint64_t now);
void pl_tcp_session_free(pl_tcp_session *s);

/* A connection of ours: sends HELLO. Accepted ones wait for the peer's. Returns 0 or what
 * emit returned (the session has failed). */
int pl_tcp_session_start(pl_tcp_session *s, uint64_t now);

/* Bytes that arrived. Returns 0; PL_ERR_AUTH (the peer is not who the pairing says: why says
 * how), PL_ERR_PARSE (not our protocol, or a record out of place), PL_ERR_NOT_FOUND (bind found
 * no pairing), PL_ERR_CLOSED (the peer sent CLOSE, or pl_tcp_session_close was called), or
 * emit's error; once FAILED, every call returns the error it failed with. On any error the session
 * is FAILED and why says what happened. Callbacks run before it returns; the session stays valid
 * during them. */
int pl_tcp_session_recv(pl_tcp_session *s, const uint8_t *data, size_t len, uint64_t now);

/* Controlling side, an AUTHED session: sends SELECT. Returns 0, PL_ERR_STATE, or emit's
 * error. */
int pl_tcp_session_select(pl_tcp_session *s, uint64_t now);

/* A message on a SELECTED session; *pseq receives its number. Returns 0, PL_ERR_STATE,
 * PL_ERR_TOO_BIG (over PL_TCP_MAX_RECORD), or emit's error. */
int pl_tcp_session_send(pl_tcp_session *s, const uint8_t *data, size_t len, uint64_t now,
                        uint64_t *pseq);
/* One BULK record (1..PL_TCP_MAX_RECORD bytes) on a SELECTED session. Returns 0,
 * PL_ERR_STATE, PL_ERR_INVALID (empty), PL_ERR_TOO_BIG, or emit's error. */
int pl_tcp_session_bulk(pl_tcp_session *s, const uint8_t *data, size_t len, uint64_t now);

/* Timers: a PING when quiet, the handshake and dead-peer limits. Returns 0, PL_ERR_TIMEOUT (the
 * session has failed: why says which limit), or emit's error. */
int pl_tcp_session_tick(pl_tcp_session *s, uint64_t now);
/* When tick next has work; UINT64_MAX once FAILED. */
uint64_t pl_tcp_session_deadline(const pl_tcp_session *s);

/* Ends the session: sends CLOSE with `why` when the peer is authenticated (so it stops at once
 * instead of timing out), then FAILED. Safe to call in any state. */
void pl_tcp_session_close(pl_tcp_session *s, const char *why, uint64_t now);

#endif
