/* Just enough HPACK (RFC 7541) to read grpc-status and grpc-message from a header block: every
 * representation is walked so the block is consumed correctly, and literal (non-Huffman)
 * grpc-* fields are picked out. Indexed fields name the static or a dynamic table, which never
 * holds grpc-status here (the client sets the table size to 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "tests/bench/h2conn.h"

/* An integer with an n-bit prefix (RFC 7541 5.1). Returns 0 or PL_ERR_PARSE. */
static int read_int(const uint8_t **p, const uint8_t *end, int n, uint64_t *v) {
  uint64_t max = (1u << n) - 1;
  if (*p >= end)
    return PL_ERR_PARSE;
  *v = **p & max;
  (*p)++;
  if (*v < max)
    return 0;
  for (int shift = 0; shift < 56; shift += 7) {
    if (*p >= end)
      return PL_ERR_PARSE;
    uint8_t b = *(*p)++;
    *v += (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return 0;
  }
  return PL_ERR_PARSE;
}

/* A string literal: *s and *slen point into the block; *huffman when it is Huffman-coded. */
static int read_str(const uint8_t **p, const uint8_t *end, const uint8_t **s, size_t *slen,
                    int *huffman) {
  uint64_t len;
  if (*p >= end)
    return PL_ERR_PARSE;
  *huffman = (**p & 0x80) != 0;
  if (read_int(p, end, 7, &len) != 0 || len > (uint64_t)(end - *p))
    return PL_ERR_PARSE;
  *s = *p;
  *slen = (size_t)len;
  *p += len;
  return 0;
}

static int is(const uint8_t *s, size_t len, int huffman, const char *want) {
  return !huffman && len == strlen(want) && memcmp(s, want, len) == 0;
}

int pl_h2_hpack_grpc_status(const uint8_t *block, size_t len, int *pstatus, char *msg,
                            size_t msglen) {
  const uint8_t *p = block, *end = block + len;
  *pstatus = -1;
  if (msglen)
    msg[0] = '\0';
  while (p < end) {
    uint64_t idx;
    int prefix;
    uint8_t b = *p;
    if (b & 0x80) { /* indexed field */
      if (read_int(&p, end, 7, &idx) != 0)
        return PL_ERR_PARSE;
      continue;
    }
    if ((b & 0xe0) == 0x20) { /* dynamic table size update */
      if (read_int(&p, end, 5, &idx) != 0)
        return PL_ERR_PARSE;
      continue;
    }
    prefix = (b & 0xc0) == 0x40 ? 6 : 4; /* with indexing, or without / never indexed */
    if (read_int(&p, end, prefix, &idx) != 0)
      return PL_ERR_PARSE;
    const uint8_t *name = NULL, *value;
    size_t nlen = 0, vlen;
    int nh = 1, vh;
    if (idx == 0 && read_str(&p, end, &name, &nlen, &nh) != 0)
      return PL_ERR_PARSE;
    if (read_str(&p, end, &value, &vlen, &vh) != 0)
      return PL_ERR_PARSE;
    if (name && is(name, nlen, nh, "grpc-status") && !vh && vlen > 0 && vlen < 4) {
      char digits[4];
      memcpy(digits, value, vlen);
      digits[vlen] = '\0';
      *pstatus = atoi(digits);
    } else if (name && is(name, nlen, nh, "grpc-message") && msglen) {
      /* Percent-encoded (gRPC's rule); kept as it is: it is for a person's eyes. */
      if (vh)
        snprintf(msg, msglen, "(Huffman-coded)");
      else
        snprintf(msg, msglen, "%.*s", (int)vlen, (const char *)value);
    }
  }
  return 0;
}
