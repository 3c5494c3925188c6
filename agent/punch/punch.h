#ifndef PEERLINK_AGENT_PUNCH_H
#define PEERLINK_AGENT_PUNCH_H

/* Hole punching and path keeping for one pairing. I/O-free (ngtcp2 shape): datagrams and `now`
 * go in through pl_punch_recv; datagrams to send come out of pl_punch_poll; the glue re-arms
 * its timer from pl_punch_deadline. Times are microseconds on a monotonic clock.
 *
 * Both sides probe every (local, remote) candidate pair on a schedule from start time; an
 * authenticated PROBE gets a PROBE_ACK sent back to the address it came from (an unknown
 * source address becomes a peer-reflexive candidate). The first pair with a completed
 * probe/ack exchange is selected; a better one (direct over relay, then lower RTT) replaces
 * it while probing continues. The selected pair gets keep-alive probes every keepalive
 * interval; when no ack or frame has arrived for dead_after, the path is declared dead and
 * punching restarts. When no direct pair works within relay_after, the relay (the rendezvous,
 * over UDP, or over the Register stream when UDP to it is blocked) becomes the path, and
 * direct probing goes on at a slower rate so the path can upgrade. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent/wire/frame.h"

#define PL_PUNCH_MAX_CANDIDATES 16

typedef enum {
  PL_PATH_NONE = 0,
  PL_PATH_DIRECT,
  PL_PATH_RELAY_UDP, /* via the rendezvous's UDP relay */
  PL_PATH_RELAY_TCP, /* via the rendezvous over the agent's Register stream */
} pl_path_kind;

typedef struct pl_punch_config {
  uint8_t pairing[PL_FRAME_PAIRING_LEN];
  uint8_t self_id[PL_FRAME_ID_LEN];
  uint8_t peer_id[PL_FRAME_ID_LEN]; /* all zero when unknown (explicit candidates): learned
                                     * from the first authenticated frame */
  const uint8_t *secret;
  size_t secretlen;
  /* The two agents' long-term keys, from which DATA's end-to-end keys are derived with the
   * secret (agent/wire/seal.h): our SEC1 ECPrivateKey DER and the peer's SubjectPublicKeyInfo
   * DER (both borrowed during pl_punch_new). peer_id must be set: it vouches for the peer's key.
   * Without keys, DATA can be neither sent (PL_ERR_STATE) nor received (dropped, counted). */
  const uint8_t *self_key_der;
  size_t self_key_der_len;
  const uint8_t *peer_key_der;
  size_t peer_key_der_len;
  /* Our first frame's sequence number (0: 1). A sender must never reuse a sequence number under
   * the same secret, or DATA's AEAD nonces repeat: give an instance made again for a secret
   * that was used before (explicit candidates) a start above anything the old one sent, e.g.
   * the wall clock in nanoseconds. */
  uint64_t first_seq;
  int controlling;
  uint64_t start_us; /* when to start probing (the offer's start time on our clock) */
  struct sockaddr_storage local[PL_PUNCH_MAX_CANDIDATES]; /* informational (host, srflx) */
  size_t n_local;
  struct sockaddr_storage remote[PL_PUNCH_MAX_CANDIDATES];
  size_t n_remote;
  int has_relay;
  struct sockaddr_storage relay; /* the rendezvous's UDP relay address */
  int relay_tcp;                 /* relay over the Register stream is available */
  /* Timing; 0 picks the default. */
  uint64_t probe_interval_us;     /* default 50 ms between probe rounds, backing off to 1 s */
  uint64_t keepalive_interval_us; /* default 2 s */
  uint64_t dead_after_us;         /* default 8 s */
  uint64_t relay_after_us;        /* default 3 s without a direct pair → relay */
} pl_punch_config;

typedef struct pl_punch pl_punch;

/* Path state for status and events. */
typedef struct pl_punch_path {
  pl_path_kind kind;
  struct sockaddr_storage remote; /* direct: the peer's address; relay: the relay's */
  uint64_t rtt_us;                /* smoothed */
  uint64_t connected_after_us;    /* from start to the first working path; 0 until then */
  int closed; /* CLOSE received from the peer, or pl_punch_close called: nothing more is sent */
} pl_punch_path;

typedef struct pl_punch_stats {
  uint64_t probes_sent, acks_received, frames_received;
  uint64_t dropped_auth;   /* MAC failures */
  uint64_t dropped_replay; /* sequence numbers seen before */
  uint64_t dropped_parse;  /* malformed */
  /* DATA frames dropped, in none of the above: not from the peer, failing to open (modified,
   * or not sealed under the peer's end-to-end key), or replayed. */
  uint64_t dropped_data;
} pl_punch_stats;

/* Copies what it needs from cfg (not the secret or the keys: only keys derived from them).
 * Returns 0, PL_ERR_INVALID (incl. keys without a peer ID), PL_ERR_PARSE (a key that is not a
 * valid P-256 key), PL_ERR_AUTH (an ID that does not belong to its key), PL_ERR_NOMEM,
 * PL_ERR_CRYPTO. */
int pl_punch_new(pl_punch **pp, const pl_punch_config *cfg);
void pl_punch_del(pl_punch *p);

/* A datagram from `from` that belongs to this pairing (pl_frame_peek matched the pairing ID),
 * or a RELAY_DATA frame from the relay (via UDP or the Register stream; `via_tcp` tells).
 * A DATA frame is opened with the end-to-end keys (its plaintext returned through ppayload and
 * ppayloadlen, pointing into the instance and valid until the next call), 1 is returned then;
 * 2 for an extension frame (agent/wire/frame.h) the relay carried from the peer:
 * ppayload is that whole inner frame, for its own module to authenticate; 0 for a consumed
 * control frame; PL_ERR_AUTH / PL_ERR_PARSE when dropped (and counted). Extension frames that
 * arrive directly are not punching's business: the caller routes them by type. */
int pl_punch_recv(pl_punch *p, const struct sockaddr *from, int via_tcp, const uint8_t *data,
                  size_t len, uint64_t now, const uint8_t **ppayload, size_t *ppayloadlen);

/* The next datagram to send now, if any: returns 1 with buf, plen and pdst filled (pvia_tcp set
 * when it must go over the Register stream instead of UDP), 0 when nothing is due. Call until
 * it returns 0. */
int pl_punch_poll(pl_punch *p, uint64_t now, uint8_t *buf, size_t cap, size_t *plen,
                  struct sockaddr_storage *pdst, int *pvia_tcp);

/* When pl_punch_poll next has something to do (UINT64_MAX: nothing scheduled). */
uint64_t pl_punch_deadline(const pl_punch *p);

/* Seals `payload` (at most PL_FRAME_MAX_PAYLOAD bytes) into a DATA frame for the selected path,
 * inside RELAY_DATA when it is relayed. Returns 0 with the datagram in buf, PL_ERR_STATE (no
 * path, closed, or no end-to-end keys), PL_ERR_TOO_BIG, PL_ERR_INVALID, PL_ERR_CRYPTO. `payload`
 * must not overlap buf. */
int pl_punch_send_data(pl_punch *p, const uint8_t *payload, size_t len, uint64_t now, uint8_t *buf,
                       size_t cap, size_t *plen, struct sockaddr_storage *pdst, int *pvia_tcp);

/* Where frames of the modules beside punching (extension frames) go on the selected path:
 * returns 0 with *pdst (UDP destination; unset when *pvia_tcp), *pvia_tcp (over the Register
 * stream) and *pwrap (1: relayed, wrap each frame with pl_punch_wrap first), PL_ERR_STATE when
 * there is no path (or it is closed). */
int pl_punch_route(const pl_punch *p, struct sockaddr_storage *pdst, int *pvia_tcp, int *pwrap);

/* Wraps the extension frame at buf + PL_FRAME_RELAY_HEADROOM (innerlen bytes) into RELAY_DATA
 * in place, taking the next sequence number: *plen = innerlen + PL_FRAME_RELAY_OVERHEAD.
 * Returns 0, PL_ERR_INVALID (not an extension frame), PL_ERR_TOO_BIG (cap, or inner over
 * PL_FRAME_EXT_MAX_RELAYED), PL_ERR_CRYPTO. */
int pl_punch_wrap(pl_punch *p, uint8_t *buf, size_t cap, size_t innerlen, size_t *plen);

/* The pairing's frame key (32 bytes), from which modules beside punching derive their own keys
 * (HKDF with their own label; never use it directly: punching's MACs are made with it). */
const uint8_t *pl_punch_frame_key(const pl_punch *p);

/* Ends the pairing: returns 0 with a CLOSE frame for the selected path in buf (send it like a
 * pl_punch_poll datagram), PL_ERR_STATE when there is no path (nothing to send), PL_ERR_TOO_BIG.
 * Either way the instance is closed afterwards: pl_punch_poll sends nothing more, received
 * frames are ignored, and the path reads NONE with closed set. */
int pl_punch_close(pl_punch *p, uint64_t now, uint8_t *buf, size_t cap, size_t *plen,
                   struct sockaddr_storage *pdst, int *pvia_tcp);

/* Current path; returns 1 if it changed since the last call (the glue publishes an event). */
/* The peer announced a candidate after the pairing began (its STUN answered after the offer
 * went out, the common case under loss): it is probed from now on, at once when no direct path
 * is up. Without it two port-restricted NATs never meet: each side probes only what the offer
 * carried, and the other's probes to a mapping we never sent to are dropped by our NAT.
 * Returns 1 (added), 0 (known already), PL_ERR_INVALID (not IPv4/IPv6), PL_ERR_FULL (no slot:
 * every candidate slot is signalled or carries the path). */
int pl_punch_add_remote(pl_punch *p, const struct sockaddr_storage *addr, uint64_t now);
int pl_punch_path_get(pl_punch *p, pl_punch_path *path);
void pl_punch_stats_get(const pl_punch *p, pl_punch_stats *stats);
/* The peer's ID (learned or configured); 0 when known, PL_ERR_NOT_FOUND before. */
int pl_punch_peer_id(const pl_punch *p, uint8_t id[PL_FRAME_ID_LEN]);
/* Human-readable list of what was tried, for DEADLINE_EXCEEDED messages. */
void pl_punch_describe(const pl_punch *p, char *buf, size_t cap);

#endif
