#ifndef PEERLINK_BRIDGE_LPM_H
#define PEERLINK_BRIDGE_LPM_H

/* gRPC's length-prefixed messages (a flags byte, a 4-byte big-endian length, the message), read
 * from a byte stream that arrives in pieces of any size: the request side of both browser
 * transports. I/O-free. */

#include <stddef.h>
#include <stdint.h>

#include "control/bridge/reasons.h"

#define PL_BRIDGE_LPM_HEADER 5
#define PL_BRIDGE_LPM_FLAG_COMPRESSED 0x01
#define PL_BRIDGE_LPM_FLAG_TRAILER 0x80

/* A whole message. Return 0 to go on, anything else stops the feed and is returned by it. */
typedef int (*pl_bridge_lpm_fn)(void *arg, const uint8_t *msg, size_t len);

typedef struct pl_bridge_lpm {
  size_t max; /* largest message accepted */
  uint8_t hdr[PL_BRIDGE_LPM_HEADER];
  size_t hdr_have;
  uint8_t *msg; /* the message being read, once its header is complete */
  size_t msg_len, msg_have;
  pl_bridge_reason reason; /* why the last feed failed */
  size_t too_big_len;      /* the length a PL_ERR_TOO_BIG header announced */
} pl_bridge_lpm;

void pl_bridge_lpm_init(pl_bridge_lpm *r, size_t max);
void pl_bridge_lpm_free(pl_bridge_lpm *r);

/* Reads `len` bytes, calling `fn` for each message completed (empty messages included).
 * Request messages must have flags 0: compression is not negotiated and metadata frames belong
 * to the server. Returns 0, PL_ERR_TOO_BIG (a message over `max`: r->too_big_len says how
 * big), PL_ERR_PARSE (bad flags; r->reason says which), PL_ERR_NOMEM, or what `fn` returned.
 * After an error the reader is unusable. */
int pl_bridge_lpm_feed(pl_bridge_lpm *r, const uint8_t *data, size_t len, pl_bridge_lpm_fn fn,
                       void *arg);

/* 1 when no message is partly read (the stream may end here). */
int pl_bridge_lpm_at_boundary(const pl_bridge_lpm *r);

/* Writes the 5-byte prefix of a message of `len` bytes with `flags`. */
void pl_bridge_lpm_header(uint8_t out[PL_BRIDGE_LPM_HEADER], uint8_t flags, size_t len);

#endif
