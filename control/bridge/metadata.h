#ifndef PEERLINK_BRIDGE_METADATA_H
#define PEERLINK_BRIDGE_METADATA_H

/* gRPC metadata as the browser transports carry it: "key: value\r\n" blocks (the grpc-websockets
 * headers message, gRPC-Web's header and trailer frames), grpc-timeout values and the
 * percent-encoded grpc-message. I/O-free. */

#include <stddef.h>
#include <stdint.h>

/* One header line: key lower-cased and NUL-terminated, value trimmed and NUL-terminated.
 * Return 0 to go on. */
typedef int (*pl_bridge_header_fn)(void *arg, const char *key, const char *value);

/* Splits `block` into lines (CRLF or LF; empty lines skipped) of "key: value". Keys are
 * token characters, values printable ASCII or tab. Returns 0, PL_ERR_PARSE (a line without a
 * colon, an empty key, a control or non-ASCII byte), PL_ERR_TOO_BIG (a line over 4 KiB),
 * or what `fn` returned. */
int pl_bridge_headers_parse(const char *block, size_t len, pl_bridge_header_fn fn, void *arg);

/* gRPC's grpc-timeout ("100m", "5S": up to 8 digits and one of H M S m u n) in milliseconds,
 * rounded up so a tiny timeout is not "none". Returns 0 or PL_ERR_PARSE. */
int pl_bridge_timeout_parse(const char *value, uint64_t *pms);

/* Percent-encodes `in` as gRPC's grpc-message: bytes outside 0x20..0x7e and '%' become %XX.
 * Writes at most cap bytes including the NUL, cutting only between encoded characters.
 * Returns the length written. */
size_t pl_bridge_percent_encode(const char *in, char *out, size_t cap);

/* `code` is a gRPC status code (pl_rpc_status).
 * "grpc-status: N\r\ngrpc-message: ...\r\n" (the message percent-encoded; the line left out
 * when the message is empty). Returns the length written (always < cap; cap >= 64). */
size_t pl_bridge_trailers_block(int code, const char *message, char *out, size_t cap);

#endif
