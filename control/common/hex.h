#ifndef PEERLINK_COMMON_HEX_H
#define PEERLINK_COMMON_HEX_H

/* Hex text for IDs, fingerprints and pairing IDs. IDs travel in lowercase, so encoding is
 * lowercase; decoding accepts either case, because people paste IDs. */

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of `len` bytes into out (2*len+1 bytes, NUL-terminated). */
void pl_hex_encode(char *out, const uint8_t *in, size_t len);
/* Exactly 2*len hex characters (either case) -> bytes. Returns 0 or PL_ERR_INVALID. */
int pl_hex_decode(uint8_t *out, size_t len, const char *hex);
/* 1 when `s` is exactly `len` lowercase hex characters (the canonical form of an ID), else 0. */
int pl_hex_is_lower(const char *s, size_t len);

#endif
