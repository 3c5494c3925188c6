#ifndef PEERLINK_AGENT_FILES_WIRE_H
#define PEERLINK_AGENT_FILES_WIRE_H

/* The file-transfer protocol on one QUIC stream, I/O-free (docs/protocol.md, "File transfer").
 * The sender opens a bidirectional stream and writes
 *
 *   header   "PLF1" | flags (1) | size (8, big-endian) | name_len (1) | name (name_len bytes)
 *   data     `size` bytes of the file
 *   trailer  SHA-256 of the data (32)
 *
 * then ends its side (FIN). flags bit 0 = overwrite; the other bits are zero. The receiver
 * answers on the same stream with one verdict, then ends its side:
 *
 *   verdict  code (1) | size (8, big-endian) | sha256 (32) | msg_len (1) | msg (msg_len bytes)
 *
 * size and sha256 are what the receiver took in and computed (zeros when it refused before
 * any data); msg says why in words when code is not STORED. A receiver may answer before the
 * data is complete (a bad name, an existing file): the sender then stops. The hash travels at
 * the end so the sender reads the file once. */

#include <stddef.h>
#include <stdint.h>

#define PL_FILES_MAGIC "PLF1"
#define PL_FILES_MAGIC_LEN 4
#define PL_FILES_NAME_MAX 255 /* bytes, as NAME_MAX */
#define PL_FILES_HEADER_MIN (PL_FILES_MAGIC_LEN + 1 + 8 + 1)
#define PL_FILES_HEADER_MAX (PL_FILES_HEADER_MIN + PL_FILES_NAME_MAX)
#define PL_FILES_SHA256_LEN 32
#define PL_FILES_TRAILER_LEN PL_FILES_SHA256_LEN
#define PL_FILES_MSG_MAX 255
#define PL_FILES_VERDICT_MIN (1 + 8 + PL_FILES_SHA256_LEN + 1)
#define PL_FILES_VERDICT_MAX (PL_FILES_VERDICT_MIN + PL_FILES_MSG_MAX)

#define PL_FILES_FLAG_OVERWRITE 0x01u

typedef struct pl_files_header {
  uint64_t size;
  int overwrite;
  char name[PL_FILES_NAME_MAX + 1]; /* NUL-terminated; name_len bytes as sent */
  size_t name_len;
} pl_files_header;

/* The receiver's answer. Codes travel as bytes; a code this version does not know is kept as
 * is (the sender reports it as a refusal). */
typedef enum {
  PL_FILES_STORED = 0,        /* verified and stored under the name */
  PL_FILES_BAD_NAME = 1,      /* the name is not one the receiver accepts */
  PL_FILES_EXISTS = 2,        /* a file of that name exists and overwrite was not asked */
  PL_FILES_HASH_MISMATCH = 3, /* the data's SHA-256 differs from the trailer's */
  PL_FILES_NO_SPACE = 4,      /* the receiver's disk is full (ENOSPC, EDQUOT) */
  PL_FILES_STORAGE = 5,       /* another error writing, syncing or renaming the file */
  PL_FILES_PROTOCOL = 6,      /* the stream broke this protocol */
  PL_FILES_UNAVAILABLE = 7,   /* the receiver cannot take files now (stopping, no directory) */
} pl_files_code;

typedef struct pl_files_verdict {
  uint8_t code; /* pl_files_code */
  uint64_t size;
  uint8_t sha256[PL_FILES_SHA256_LEN];
  char msg[PL_FILES_MSG_MAX + 1]; /* NUL-terminated */
} pl_files_verdict;

/* "stored", "bad name", ...; "unknown" for a code this version does not know. */
const char *pl_files_code_name(uint8_t code);

/* Encodes a header for `name` (name_len bytes, 1..PL_FILES_NAME_MAX) into out (at least
 * PL_FILES_HEADER_MAX bytes); *plen gets its length. The name is not checked here (see
 * pl_files_name_check). Returns 0 or PL_ERR_INVALID (empty or too long name, NULL). */
int pl_files_header_encode(uint8_t *out, size_t *plen, const char *name, size_t name_len,
                           uint64_t size, int overwrite);

/* Parses a header at the start of data. Returns 0 with *pused the header's length, or 0 with
 * *pused = 0 when data holds only part of one (feed more); PL_ERR_PARSE when it is not one (bad
 * magic, unknown flags, name_len 0, a NUL in the name). */
int pl_files_header_parse(const uint8_t *data, size_t len, pl_files_header *h, size_t *pused);

/* Encodes a verdict into out (at least PL_FILES_VERDICT_MAX bytes); msg (may be NULL) is cut at
 * PL_FILES_MSG_MAX bytes. Returns the length. */
size_t pl_files_verdict_encode(uint8_t *out, uint8_t code, uint64_t size,
                               const uint8_t sha256[PL_FILES_SHA256_LEN], const char *msg);

/* Parses a verdict at the start of data, like pl_files_header_parse: 0 with *pused its length,
 * 0 with *pused = 0 for a partial one, PL_ERR_PARSE (a NUL in the message). */
int pl_files_verdict_parse(const uint8_t *data, size_t len, pl_files_verdict *v, size_t *pused);

/* ---- the receiver's view of the sender's bytes ------------------------------------------- */

/* Takes the sender's bytes in any split, hashing the data as it passes. */
typedef struct pl_files_rx pl_files_rx;

typedef enum {
  PL_FILES_RX_NONE = 0, /* input consumed, nothing complete yet */
  PL_FILES_RX_HEADER,   /* the header is complete: pl_files_rx_header */
  PL_FILES_RX_DATA,     /* ev.data, ev.len: file bytes (pointing into the input) */
  PL_FILES_RX_END,      /* the trailer is complete: ev.hash_ok, ev.sha256 (computed) */
} pl_files_rx_kind;

typedef struct pl_files_rx_event {
  pl_files_rx_kind kind;
  const uint8_t *data;
  size_t len;
  int hash_ok;
  uint8_t sha256[PL_FILES_SHA256_LEN];
} pl_files_rx_event;

/* Returns 0, PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_files_rx_new(pl_files_rx **prx);
/* NULL is fine. */
void pl_files_rx_del(pl_files_rx *rx);

/* Consumes a prefix of data (*pused bytes; at least one when len > 0) and reports at most one
 * event. Call again with the rest until it is all used. Returns 0,
 *   PL_ERR_PARSE  not a header (see pl_files_header_parse), or bytes after the trailer,
 *   PL_ERR_STATE  an earlier call failed,
 *   PL_ERR_CRYPTO the hash failed.
 * Once it fails it keeps failing. */
int pl_files_rx_feed(pl_files_rx *rx, const uint8_t *data, size_t len, size_t *pused,
                     pl_files_rx_event *ev);

/* The header, once RX_HEADER has been reported (else NULL). */
const pl_files_header *pl_files_rx_header(const pl_files_rx *rx);
/* Data bytes taken so far. */
uint64_t pl_files_rx_received(const pl_files_rx *rx);
/* 1 once RX_END has been reported. */
int pl_files_rx_ended(const pl_files_rx *rx);

/* ---- names ------------------------------------------------------------------------------- */

/* Checks that `name` (len bytes) is a plain file name the receiver may create in its files
 * directory: 1..PL_FILES_NAME_MAX bytes of UTF-8, no '/' or '\\' (a name, not a path; so never
 * absolute), not starting with '.' (no "." or "..", and never one of the receiver's temporary
 * names), no "..", no NUL or other control characters. Returns 0, or PL_ERR_INVALID with why
 * (e.g. "contains '/'", NUL-terminated, at most cap bytes) filled in. */
int pl_files_name_check(const char *name, size_t len, char *why, size_t cap);

#endif
