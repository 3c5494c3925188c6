#ifndef PEERLINK_AGENT_QUIC_IMPL_H
#define PEERLINK_AGENT_QUIC_IMPL_H

/* Internal to agent/quic (quic_conn.c: the connection and its life; quic_stream.c: streams and
 * the write scheduler; quic_tls.c: wolfSSL and the pin). Not for other modules. */

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <netinet/in.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/quic/quic.h"

#define PL_QUIC__NS 1000     /* ngtcp2 counts nanoseconds, we microseconds */
#define PL_QUIC__ONEWAY 0x80 /* in the kind byte: a stream opened with bidi = 0 */

struct pl_quic_tls {
  WOLFSSL_CTX *client;
  WOLFSSL_CTX *server;
};

#define PL_QUIC__CHUNK (64u << 10) /* send buffer allocation unit */

/* A stream's send buffer (quic_sendbuf.c): bytes at stream offsets [first, ...) in chunks. */
typedef struct pl_quic__sendbuf {
  uint8_t **chunks; /* a ring of nslots chunk pointers, count in use from head */
  size_t nslots, head, count;
  uint64_t first; /* stream offset of the first byte of chunks[head] (a multiple of CHUNK) */
  size_t max;     /* most bytes written and not yet acknowledged */
} pl_quic__sendbuf;

void pl_quic__sendbuf_init(pl_quic__sendbuf *b, size_t max);
void pl_quic__sendbuf_free(pl_quic__sendbuf *b);
/* What may be written now, given the acknowledged offset base and the written offset end. */
size_t pl_quic__sendbuf_room(const pl_quic__sendbuf *b, uint64_t base, uint64_t end);
/* Copies n bytes to stream offset end (the current end). Returns 0, PL_ERR_NOMEM,
 * PL_ERR_FULL (more than the room). */
int pl_quic__sendbuf_put(pl_quic__sendbuf *b, uint64_t end, const uint8_t *data, size_t n);
/* Vectors over [from, end), at most maxv of them; returns how many. */
size_t pl_quic__sendbuf_vecs(const pl_quic__sendbuf *b, uint64_t from, uint64_t end, ngtcp2_vec *v,
                             size_t maxv);
/* Frees the chunks whose every byte is below base (acknowledged). */
void pl_quic__sendbuf_release(pl_quic__sendbuf *b, uint64_t base);

typedef enum {
  PL_QUIC__HANDSHAKE = 0,
  PL_QUIC__ESTABLISHED,
  PL_QUIC__CLOSING, /* our CONNECTION_CLOSE is out; answer stragglers with it until the deadline */
  PL_QUIC__DONE,    /* nothing more to send or receive: free it */
} pl_quic__state;

typedef struct pl_quic__stream {
  int64_t id;
  uint8_t kind;
  int local;  /* we opened it: our first byte on it is the kind */
  int bidi;   /* a QUIC bidirectional stream (every stream is: see quic_stream.c) */
  int oneway; /* only the opener sends: the other side finishes its direction at once */
  const pl_quic_stream_cb *cb;
  void *sarg;
  int dead; /* reset by us, or refused: no more user callbacks */

  /* Send side. Offsets are stream offsets (kind byte included): [base, end) is buffered,
   * [base, sent) handed to ngtcp2, which keeps pointers to it until acknowledged. */
  pl_quic__sendbuf sb;
  uint64_t base, sent, end;
  int fin_wanted, fin_sent, send_shut;
  int want_writable;
  int blocked; /* stream flow control: wait for extend_max_stream_data */
  int active;  /* on the write list */
  struct pl_quic__stream *next_active, *prev_active;
  int reset_pending; /* reset asked for inside a callback: done after the ngtcp2 call */
  uint64_t reset_code;

  /* Receive side. */
  int kind_seen;      /* peer-opened: the kind byte has arrived and stream_open took the stream */
  uint64_t rx_offset; /* stream bytes received (kind byte included) */
  uint64_t delivered; /* user bytes given to recv */
  uint64_t consumed;  /* of those, released to the peer's flow control */
  int fin_received;
  int peer_reset; /* RESET_STREAM or STOP_SENDING from the peer */
  uint64_t peer_error;

  struct pl_quic__stream *next;
} pl_quic__stream;

struct pl_quic {
  ngtcp2_conn *conn;
  WOLFSSL *ssl;
  ngtcp2_crypto_conn_ref conn_ref;
  const pl_quic_callbacks *cb;
  void *arg;
  int client;
  uint8_t pin[PL_QUIC_FINGERPRINT_LEN];
  size_t stream_buffer;
  uint64_t handshake_timeout_us, idle_timeout_us;

  /* The fixed path ngtcp2 sees: packets travel inside peerlink frames over whatever path the
   * link has, so a relay/direct switch never reaches QUIC. */
  struct sockaddr_in local_addr, remote_addr;
  ngtcp2_path path;
  ngtcp2_cid first_dcid; /* the client's first Destination Connection ID */

  pl_quic__state state;
  int established_pending; /* tell the user once the ngtcp2 call returns */
  int closed_reported;
  int in_call; /* inside a pl_quic_* call: no need to wake the glue */
  int close_requested;
  ngtcp2_connection_close_error ccerr;
  uint8_t close_pkt[PL_QUIC_MAX_PACKET];
  size_t close_len;
  int close_due;     /* send close_pkt at the next pl_quic_write */
  int close_resends; /* in the closing period, one per packet received, bounded */
  uint64_t close_deadline_us;
  char detail[PL_QUIC_DETAIL_MAX];
  int auth_failed;
  char close_reason[96]; /* the reason phrase of our CONNECTION_CLOSE, when not the detail */

  pl_quic__stream *streams;
  pl_quic__stream *active_head, *active_tail;
  uint64_t streams_open;

  uint64_t packets_sent, packets_received, bytes_sent, bytes_received;
};

/* quic_tls.c */
/* A WOLFSSL for q's role, with the pin check wired in. Returns 0, PL_ERR_CRYPTO, PL_ERR_NOMEM. */
int pl_quic__tls_session(pl_quic *q, const pl_quic_tls *tls);
/* After the handshake: the peer's certificate matches the pin and ALPN is ours. Returns 0 or
 * PL_ERR_AUTH (q->detail says why). */
int pl_quic__tls_check_peer(pl_quic *q);
/* Records why a TLS failure happened, from the pin check, for the close detail. */
void pl_quic__set_detail(pl_quic *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* quic_stream.c */
void pl_quic__streams_callbacks(ngtcp2_callbacks *cb);
/* The next packet from the write scheduler: as pl_quic_write but only for ESTABLISHED or
 * HANDSHAKE. Returns the ngtcp2 result: > 0 bytes, 0 nothing, < 0 an ngtcp2 error. */
ngtcp2_ssize pl_quic__write_streams(pl_quic *q, uint8_t *buf, size_t cap, uint64_t ts);
/* Carries out the resets asked for while ngtcp2 was running. */
void pl_quic__after_streams(pl_quic *q);
/* The connection ended: every live stream's closed(PL_ERR_CLOSED); freed by streams_free. */
void pl_quic__streams_end(pl_quic *q);
void pl_quic__streams_free(pl_quic *q);
/* Tells the glue there is something to send, unless we are inside a pl_quic call. */
void pl_quic__wake(pl_quic *q);

#endif
