#ifndef PEERLINK_WIRE_STUN_H
#define PEERLINK_WIRE_STUN_H

/* STUN (RFC 8489) Binding messages: encode and parse. I/O-free. Only what peerlink needs:
 * Binding request/success/error, XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS from old servers),
 * SOFTWARE, FINGERPRINT; unknown comprehension-optional attributes are skipped, unknown
 * comprehension-required ones make a request fail with 420 in the responder. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PL_STUN_MAGIC 0x2112A442u
#define PL_STUN_HEADER_LEN 20
#define PL_STUN_BINDING_REQUEST 0x0001
#define PL_STUN_BINDING_SUCCESS 0x0101
#define PL_STUN_BINDING_ERROR 0x0111
#define PL_STUN_BUF_LEN 256 /* holds anything this module encodes */

typedef struct pl_stun_txid {
  uint8_t b[12];
} pl_stun_txid;

typedef struct pl_stun_msg {
  uint16_t type;
  pl_stun_txid txid;
  int has_mapped; /* XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS if only that */
  struct sockaddr_storage mapped;
  int has_fingerprint;  /* present and correct (a wrong one fails the parse) */
  int error_code;       /* for error responses, e.g. 420; 0 otherwise */
  int unknown_required; /* a comprehension-required attribute we do not know */
} pl_stun_msg;

/* 1 if `data` looks like STUN (first two bits zero, magic cookie, length multiple of 4). */
int pl_stun_is_stun(const uint8_t *data, size_t len);

/* STUN over a stream (RFC 8489 6.2.2: TCP carries messages back to back, each sized by its
 * header). Returns the length of the message at the start of `data` once all of it is there,
 * 0 while more bytes are needed, PL_ERR_PARSE when it cannot be STUN (first two bits set, no
 * magic cookie, a length not a multiple of 4) or would be longer than `max`. */
int pl_stun_stream_len(const uint8_t *data, size_t len, size_t max);

/* Parses a STUN message. Returns 0, PL_ERR_PARSE (truncated, bad lengths, bad attribute,
 * wrong FINGERPRINT). */
int pl_stun_parse(pl_stun_msg *m, const uint8_t *data, size_t len);

/* Binding request with SOFTWARE and FINGERPRINT. Returns 0 or PL_ERR_TOO_BIG. */
int pl_stun_encode_request(uint8_t *buf, size_t cap, size_t *plen, const pl_stun_txid *txid);

/* Binding success with XOR-MAPPED-ADDRESS = `mapped`, SOFTWARE and FINGERPRINT.
 * Returns 0, PL_ERR_TOO_BIG, PL_ERR_INVALID (family). */
int pl_stun_encode_success(uint8_t *buf, size_t cap, size_t *plen, const pl_stun_txid *txid,
                           const struct sockaddr *mapped);

/* Binding error response (e.g. 400, 420). Returns 0 or PL_ERR_TOO_BIG; also PL_ERR_INVALID
 * for a code outside 300-699. A NULL reason picks the standard phrase; a longer one is cut to
 * 127 bytes. */
int pl_stun_encode_error(uint8_t *buf, size_t cap, size_t *plen, const pl_stun_txid *txid, int code,
                         const char *reason);

/* The STUN server's whole job: answer one datagram from `from`. Returns 0 with a response in
 * buf, or PL_ERR_PARSE / PL_ERR_INVALID when the datagram must be dropped (not a Binding
 * request, malformed). A Binding request gets a success with XOR-MAPPED-ADDRESS = `from` (an
 * IPv4-mapped IPv6 `from` is answered as IPv4), or a 420 with UNKNOWN-ATTRIBUTES when it has
 * comprehension-required attributes we do not know. PL_ERR_TOO_BIG when cap is too small
 * (PL_STUN_BUF_LEN always suffices). */
int pl_stun_respond(uint8_t *buf, size_t cap, size_t *plen, const uint8_t *req, size_t reqlen,
                    const struct sockaddr *from);

/* CRC-32/ISO-HDLC (the one in zlib and Ethernet), as FINGERPRINT uses it before its XOR. */
uint32_t pl_stun_crc32(const uint8_t *data, size_t len);

#endif
