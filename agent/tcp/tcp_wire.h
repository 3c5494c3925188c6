#ifndef PEERLINK_TCP_WIRE_H
#define PEERLINK_TCP_WIRE_H

/* The punched TCP connection's byte format: records, the HELLO/AUTH handshake and its MAC.
 * I/O-free. docs/protocol.md ("TCP connections") is the specification; this is the contract.
 *
 * Every record is a 5-byte header, type (1) and payload length (4, big-endian), then the
 * payload. A receiver checks each type's length in the header, before reading the payload, so
 * a peer cannot make it buffer more than the record's type allows (PL_TCP_MAX_RECORD at most). */

#include <stddef.h>
#include <stdint.h>

#define PL_TCP_HEADER_LEN 5
#define PL_TCP_MAX_RECORD (4u << 20) /* MSG and BULK payloads */
#define PL_TCP_PAIRING_LEN 8
#define PL_TCP_ID_LEN 16
#define PL_TCP_NONCE_LEN 16
#define PL_TCP_VERSION 1
/* version, flags, pairing, sender, receiver, nonce */
#define PL_TCP_HELLO_LEN (2 + PL_TCP_PAIRING_LEN + 2 * PL_TCP_ID_LEN + PL_TCP_NONCE_LEN)
#define PL_TCP_AUTH_LEN 32
#define PL_TCP_ACK_LEN 8
#define PL_TCP_CLOSE_MAX 200 /* the reason text */
/* A BULK record's first slice holds at least this many bytes (or the whole record), so a
 * reader can put its own small header there. */
#define PL_TCP_BULK_HEAD 16

typedef enum {
  PL_TCP_HELLO = 1,  /* both: who I am, whom I expect, my nonce */
  PL_TCP_AUTH = 2,   /* both: HMAC over the pairing, both IDs and both nonces */
  PL_TCP_SELECT = 3, /* controlling side: this connection is the one */
  PL_TCP_MSG = 4,    /* a Send message; numbered 1, 2, ... per direction, acknowledged */
  PL_TCP_ACK = 5,    /* the highest MSG number delivered so far (cumulative) */
  PL_TCP_PING = 6,   /* keep-alive when nothing else was sent */
  PL_TCP_BULK = 7,   /* opaque bulk data (benchmarks): not numbered, not acknowledged */
  PL_TCP_CLOSE = 8,  /* the sender is closing; payload: why (text) */
} pl_tcp_type;

/* Writes a record header. */
void pl_tcp_header(uint8_t out[PL_TCP_HEADER_LEN], uint8_t type, uint32_t len);

typedef struct pl_tcp_hello {
  uint8_t version; /* PL_TCP_VERSION */
  uint8_t flags;   /* 0; a receiver ignores bits it does not know */
  uint8_t pairing[PL_TCP_PAIRING_LEN];
  uint8_t sender[PL_TCP_ID_LEN];
  uint8_t receiver[PL_TCP_ID_LEN];
  uint8_t nonce[PL_TCP_NONCE_LEN];
} pl_tcp_hello;

/* The whole HELLO record (header included) into out. */
void pl_tcp_hello_encode(uint8_t out[PL_TCP_HEADER_LEN + PL_TCP_HELLO_LEN], const pl_tcp_hello *h);
/* A HELLO payload. Returns 0, PL_ERR_PARSE (wrong length or version). */
int pl_tcp_hello_parse(pl_tcp_hello *h, const uint8_t *data, size_t len);

/* The AUTH MAC of the side that sent `mine`, answering `theirs`:
 *   HMAC-SHA256(key, "peerlink tcp auth v1" || pairing || mine.sender || mine.receiver ||
 *               mine.nonce || theirs.nonce)
 * Returns 0 or PL_ERR_CRYPTO. */
int pl_tcp_auth_mac(uint8_t mac[PL_TCP_AUTH_LEN], const uint8_t key[32], const pl_tcp_hello *mine,
                    const pl_tcp_hello *theirs);
/* Checks an AUTH payload the peer computed over (its HELLO `theirs`, our HELLO `mine`) in
 * constant time. Returns 0 or PL_ERR_AUTH (wrong length, wrong MAC, or wolfCrypt failed). */
int pl_tcp_auth_verify(const uint8_t *data, size_t len, const uint8_t key[32],
                       const pl_tcp_hello *theirs, const pl_tcp_hello *mine);

/* One record, or for BULK one slice of it: `len` bytes at `offset` of a payload of `total`
 * bytes. Records other than BULK come whole (offset 0, len == total). Returning a negative
 * value stops the decoder, which returns that value. `data` is valid during the call. */
typedef int (*pl_tcp_record_fn)(void *arg, uint8_t type, const uint8_t *data, size_t len,
                                size_t offset, size_t total);

/* Reassembles records from a byte stream. Zero it (or pl_tcp_decoder_init), feed it bytes in
 * any pieces; complete records are handed out from the caller's bytes when they lie there
 * whole (no copy), else from the decoder's buffer. */
typedef struct pl_tcp_decoder {
  uint8_t head[PL_TCP_HEADER_LEN + PL_TCP_BULK_HEAD]; /* a header, then a BULK record's head */
  size_t headlen;
  int in_record; /* the header is complete: payload follows */
  uint8_t type;
  size_t len, got; /* the record's payload length and the bytes of it consumed so far */
  uint8_t *buf;    /* assembles a record that arrives in pieces */
  size_t cap;
  int failed; /* a parse error was returned: the stream cannot be resynchronised */
  /* The largest MSG or BULK payload accepted now (0: PL_TCP_MAX_RECORD). A session keeps it
   * small until the peer is authenticated, so nobody makes it buffer megabytes first. */
  size_t limit;
} pl_tcp_decoder;

void pl_tcp_decoder_init(pl_tcp_decoder *d);
void pl_tcp_decoder_free(pl_tcp_decoder *d);

/* Feeds `len` bytes. Returns 0 (everything consumed), PL_ERR_PARSE (unknown type, a length
 * its type does not allow; every later call fails the same way), PL_ERR_NOMEM, or the first
 * negative value the callback returned (the rest of the bytes are dropped). */
int pl_tcp_decode(pl_tcp_decoder *d, const uint8_t *data, size_t len, pl_tcp_record_fn fn,
                  void *arg);

/* The name of a record type ("HELLO"), "?" for others. */
const char *pl_tcp_type_name(uint8_t type);

#endif
