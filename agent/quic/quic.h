#ifndef PEERLINK_AGENT_QUIC_H
#define PEERLINK_AGENT_QUIC_H

/* The QUIC tunnel of one link: an ngtcp2 0.12 connection with wolfSSL, free of I/O in ngtcp2's
 * own shape. QUIC packets and `now` go in (pl_quic_recv), packets to send come out
 * (pl_quic_write until it returns 0, then pl_quic_write_end), and the caller re-arms one timer at
 * pl_quic_deadline and calls pl_quic_handle_expiry when it fires. Times are microseconds on the
 * caller's monotonic clock (pl_clock_now_us), as for the punch state machine.
 *
 * TLS 1.3, both sides present their certificate (agent/identity), ALPN "peerlink/1". Each side
 * pins the other: SHA-256 of the certificate the peer presents must equal the fingerprint given
 * at creation (the one the rendezvous vouched for, or the one given to Connect), otherwise the
 * handshake fails with a TLS bad_certificate alert and the connection closes with a detail that
 * says so. There is no "verify none".
 *
 * Streams. Every stream starts with one byte, its kind (pl_quic_stream_kind), written and read
 * here: the peer's stream_open callback learns the kind before any data, and offsets reported to
 * the user (acked, written, received) count the user's bytes only. Writes are copied into a
 * per-stream send buffer (bounded: back-pressure) that is released as the peer acknowledges.
 *
 * Callbacks run inside pl_quic_recv, pl_quic_handle_expiry, pl_quic_write and pl_quic_close.
 * From a callback the user may call the pl_quic_stream_* functions and pl_quic_close, but never
 * pl_quic_del. Each stream's `closed` callback runs exactly once (also when the connection ends:
 * err PL_ERR_CLOSED), after which its ID is no longer valid.
 *
 * The glue that runs connections in the agent (one per link, packets through the link's path,
 * the libuv timer) is agent/quic_glue.c; see agent/agent.h for how other parts get at a link's
 * connection. */

#include <stddef.h>
#include <stdint.h>

#define PL_QUIC_ALPN "peerlink/1"
/* Largest QUIC packet (UDP payload from ngtcp2's view). The packets travel inside a 9-byte QUIC
 * frame, and through the relay inside RELAY_DATA as well, so the frames stay well under the
 * 1400 bytes of PL_FRAME_MAX_LEN on either path (docs/protocol.md, "QUIC"). */
#define PL_QUIC_MAX_PACKET 1200
#define PL_QUIC_FINGERPRINT_LEN 32 /* SHA-256 */
#define PL_QUIC_DETAIL_MAX 320

/* The first byte of every stream. */
typedef enum pl_quic_stream_kind {
  PL_QUIC_STREAM_MESSAGE = 1, /* Send with DELIVERY_QUIC_STREAM: length-prefixed messages */
  PL_QUIC_STREAM_FILE = 2,    /* SendFile (agent/files) */
  PL_QUIC_STREAM_BENCH = 3,   /* Benchmark over QUIC (agent/bench) */
} pl_quic_stream_kind;
#define PL_QUIC_STREAM_KINDS 4 /* kinds are 1 .. PL_QUIC_STREAM_KINDS - 1 */

/* Application error codes in RESET_STREAM / STOP_SENDING (users may define others above 0xff). */
#define PL_QUIC_APP_NO_ERROR 0
#define PL_QUIC_APP_CANCELLED 1 /* the user gave up on the stream */
#define PL_QUIC_APP_REFUSED 2   /* nobody takes streams of that kind, or too many are open */
#define PL_QUIC_APP_INTERNAL 3  /* the receiver failed (out of memory, a malformed stream) */

typedef struct pl_quic pl_quic;
typedef struct pl_quic_tls pl_quic_tls;

/* One stream's callbacks; `sarg` is what the opener (or stream_open) attached. */
typedef struct pl_quic_stream_cb {
  /* Data from the peer, in order, each byte once; `fin` on the last call (len may be 0 then).
   * Without manual_consume the flow-control window reopens as soon as this returns. */
  void (*recv)(void *sarg, pl_quic *q, int64_t sid, const uint8_t *data, size_t len, int fin);
  /* The peer acknowledged our bytes [0, acked): progress, and room in the send buffer. */
  void (*acked)(void *sarg, pl_quic *q, int64_t sid, uint64_t acked);
  /* An earlier pl_quic_stream_write took less than offered; the buffer has room again. */
  void (*writable)(void *sarg, pl_quic *q, int64_t sid);
  /* The stream is over. err: 0 when both directions ended cleanly (our FIN and every byte
   * before it acknowledged, the peer's FIN received); PL_ERR_STATE when the peer reset it or
   * asked us to stop sending (app_error is its code); PL_ERR_CLOSED when the connection ended.
   * Not called after pl_quic_stream_reset. */
  void (*closed)(void *sarg, pl_quic *q, int64_t sid, int err, uint64_t app_error);
  /* Flow control by hand: the peer may send only as far as pl_quic_stream_consume allowed
   * (for a receiver slower than the network, e.g. one writing to disk). */
  int manual_consume;
} pl_quic_stream_cb;

typedef struct pl_quic_callbacks {
  /* The handshake completed and the peer's certificate matched the pin. */
  void (*established)(void *arg, pl_quic *q);
  /* The peer opened stream `sid` of `kind`. Return 0 with *pcb (and *psarg) set to take it, or
   * a negative code to refuse it (reset with PL_QUIC_APP_REFUSED). May be NULL: refuse all. */
  int (*stream_open)(void *arg, pl_quic *q, int64_t sid, uint8_t kind,
                     const pl_quic_stream_cb **pcb, void **psarg);
  /* The connection ended (pl_quic_get_info says why); every stream's `closed` ran before. */
  void (*closed)(void *arg, pl_quic *q);
  /* Something new may be sent (a stream write, finish, reset, consume or close made outside a
   * pl_quic call): the glue should run pl_quic_write soon. May be NULL. */
  void (*wake)(void *arg, pl_quic *q);
} pl_quic_callbacks;

typedef struct pl_quic_config {
  int client; /* our role; the other side is the server */
  const pl_quic_tls *tls;
  uint8_t pin[PL_QUIC_FINGERPRINT_LEN]; /* SHA-256 of the peer's certificate DER */
  uint64_t now;
  uint64_t idle_timeout_us;      /* 0: 30 s */
  uint64_t keepalive_us;         /* PING after this long without traffic; 0: none */
  uint64_t handshake_timeout_us; /* 0: 10 s */
  size_t stream_buffer;          /* send buffer per stream, most bytes; 0: 16 MiB */
  const pl_quic_callbacks *cb;
  void *arg;
} pl_quic_config;

typedef struct pl_quic_info {
  int client;
  int established; /* handshake completed and pinned */
  int closed;      /* ended: no more streams or data (a CONNECTION_CLOSE may still go out) */
  int drained;     /* nothing more to do at all: pl_quic_del it */
  int auth_failed; /* it ended over a certificate: the peer refused ours, or our pin its */
  char detail[PL_QUIC_DETAIL_MAX]; /* why not established yet, or why it closed ("" when fine) */
  uint64_t rtt_us;                 /* smoothed, 0 before the first sample */
  uint64_t streams_open;
  uint64_t packets_sent, packets_received, bytes_sent, bytes_received; /* QUIC packets */
  uint64_t cwnd;                                                       /* congestion window */
} pl_quic_info;

typedef struct pl_quic_stream_info {
  uint64_t written;   /* user bytes accepted by pl_quic_stream_write */
  uint64_t acked;     /* of those, acknowledged by the peer */
  uint64_t received;  /* user bytes delivered to recv */
  size_t buffer_free; /* what pl_quic_stream_write would accept now */
  int fin_sent, fin_received;
} pl_quic_stream_info;

/* ---- TLS context (one per agent) -------------------------------------------------------- */

/* Our identity for every connection: certificate DER and private key DER (agent/identity's
 * cert_der and private_key_der). Returns 0, PL_ERR_INVALID (NULL or empty), PL_ERR_CRYPTO
 * (wolfSSL refused the key or certificate, or they do not belong together), PL_ERR_NOMEM. */
int pl_quic_tls_new(pl_quic_tls **ptls, const uint8_t *cert_der, size_t cert_len,
                    const uint8_t *key_der, size_t key_len);
/* Frees it; every connection made with it must be gone. NULL is fine. */
void pl_quic_tls_del(pl_quic_tls *tls);

/* ---- connection ------------------------------------------------------------------------- */

/* Makes a connection. A client starts its handshake at once (pl_quic_write has its Initial);
 * a server is made from the client's first packet (`first`, which must be a client Initial:
 * the caller still feeds it through pl_quic_recv). Returns 0, PL_ERR_INVALID (bad config),
 * PL_ERR_PARSE (server: `first` is not a client Initial), PL_ERR_CRYPTO, PL_ERR_NOMEM. */
int pl_quic_new(pl_quic **pq, const pl_quic_config *cfg, const uint8_t *first, size_t firstlen);
/* Frees everything (no callbacks run). Not from inside a callback. NULL is fine. */
void pl_quic_del(pl_quic *q);

/* One QUIC packet from the peer. Returns 0 (also when ngtcp2 dropped it as noise), or
 * PL_ERR_CLOSED when the connection has ended (now, or earlier): pl_quic_get_info says why. */
int pl_quic_recv(pl_quic *q, const uint8_t *pkt, size_t len, uint64_t now);

/* The next packet to send: returns 1 with *plen bytes in buf (cap at least PL_QUIC_MAX_PACKET),
 * 0 when nothing is due (congestion, pacing or nothing to say), PL_ERR_CLOSED when the
 * connection has ended (any final CONNECTION_CLOSE was returned before). Call
 * pl_quic_write_end after a burst (ngtcp2 paces from it). */
int pl_quic_write(pl_quic *q, uint64_t now, uint8_t *buf, size_t cap, size_t *plen);
void pl_quic_write_end(pl_quic *q, uint64_t now);

/* When pl_quic_handle_expiry must next run (UINT64_MAX: never). */
uint64_t pl_quic_deadline(const pl_quic *q);
/* The deadline passed: retransmit, probe, time out. Returns 0 or PL_ERR_CLOSED (idle or
 * handshake timeout: the connection has ended). Then pl_quic_write. */
int pl_quic_handle_expiry(pl_quic *q, uint64_t now);

/* Closes the connection: the next pl_quic_write returns a CONNECTION_CLOSE carrying app_error
 * and `reason`, every stream gets closed(PL_ERR_CLOSED) and the connection's `closed` runs.
 * Returns 0, or PL_ERR_CLOSED when it had ended already. */
int pl_quic_close(pl_quic *q, uint64_t app_error, const char *reason, uint64_t now);

void pl_quic_get_info(const pl_quic *q, pl_quic_info *info);

/* Whether `pkt` is a client Initial that starts a connection other than q (the peer began
 * anew, e.g. after q idled out on its side). */
int pl_quic_is_new_initial(const pl_quic *q, const uint8_t *pkt, size_t len);
/* Whether `pkt` belongs to q: its Destination Connection ID is one of q's, or (server) the
 * client's first one. A packet nobody owns is noise, or a new Initial. */
int pl_quic_owns(const pl_quic *q, const uint8_t *pkt, size_t len);

/* ---- streams ---------------------------------------------------------------------------- */

/* Opens a stream of `kind` (bidirectional when `bidi`, else we only send). Returns 0 with *psid,
 * PL_ERR_STATE (not established yet, or closing), PL_ERR_FULL (the peer allows no more streams
 * now; retry when one closes), PL_ERR_INVALID (kind out of range), PL_ERR_NOMEM. */
int pl_quic_stream_open(pl_quic *q, uint8_t kind, int bidi, const pl_quic_stream_cb *cb, void *sarg,
                        int64_t *psid);
/* Copies up to `len` bytes into the stream's send buffer; *paccepted says how many (fewer
 * than len: the buffer is full; `writable` runs when it has room). Returns 0, PL_ERR_NOT_FOUND
 * (no such stream, or it was closed), PL_ERR_STATE (finished, or a receive-only stream). */
int pl_quic_stream_write(pl_quic *q, int64_t sid, const uint8_t *data, size_t len,
                         size_t *paccepted);
/* No more data: FIN after what is buffered. Returns 0, PL_ERR_NOT_FOUND, PL_ERR_STATE. */
int pl_quic_stream_finish(pl_quic *q, int64_t sid);
/* Abandons the stream both ways (RESET_STREAM and STOP_SENDING with app_error); its `closed`
 * callback does not run. Returns 0 or PL_ERR_NOT_FOUND. */
int pl_quic_stream_reset(pl_quic *q, int64_t sid, uint64_t app_error);
/* With manual_consume: the user is done with n more received bytes, the peer may send n more.
 * Returns 0 or PL_ERR_NOT_FOUND. */
int pl_quic_stream_consume(pl_quic *q, int64_t sid, size_t n);
/* Returns 0 or PL_ERR_NOT_FOUND. */
int pl_quic_stream_get_info(const pl_quic *q, int64_t sid, pl_quic_stream_info *info);

#endif
