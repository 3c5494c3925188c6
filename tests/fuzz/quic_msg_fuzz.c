/* agent/quic/msg: the length-prefixed message reader on arbitrary stream bytes. Input:
 *   splits(1) stream bytes
 * The bytes are fed once whole and once in chunks whose sizes come from `splits` (1 + the low
 * four bits, rotating); both must yield the same messages, the same as a plain reference parse
 * of the bytes, and the same verdict for a length over the limit (4096 here). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/quic/msg.h"
#include "control/common/err.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

#define LIMIT 4096

typedef struct got {
  const uint8_t *stream; /* the reference: where each message must come from */
  size_t pos, n;
} got;

static void on_msg(void *arg, const uint8_t *msg, size_t len) {
  got *g = arg;
  /* Messages are contiguous: header then body, in order. */
  ASSERT(len <= LIMIT);
  const uint8_t *h = g->stream + g->pos;
  size_t want = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
  ASSERT(want == len);
  ASSERT(len == 0 || memcmp(h + 4, msg, len) == 0);
  g->pos += 4 + len;
  g->n++;
}

/* How many whole messages the bytes hold, and whether a length is over the limit first. */
static size_t reference(const uint8_t *d, size_t len, int *ptoo_big) {
  size_t pos = 0, n = 0;
  *ptoo_big = 0;
  while (len - pos >= 4) {
    size_t m =
        (size_t)d[pos] << 24 | (size_t)d[pos + 1] << 16 | (size_t)d[pos + 2] << 8 | d[pos + 3];
    if (m > LIMIT) {
      *ptoo_big = 1;
      break;
    }
    if (len - pos - 4 < m)
      break;
    pos += 4 + m;
    n++;
  }
  return n;
}

static int feed(const uint8_t *d, size_t len, uint8_t splits, got *g) {
  pl_quic_msg_reader r;
  int rv = 0;
  pl_quic_msg_reader_init(&r, LIMIT);
  for (size_t pos = 0, i = 0; pos < len && rv == 0; i++) {
    size_t n = splits ? (size_t)(1 + ((splits >> (i % 8)) & 0xf)) : len;
    if (n > len - pos)
      n = len - pos;
    rv = pl_quic_msg_reader_feed(&r, d + pos, n, on_msg, g);
    pos += n;
  }
  if (rv != 0)
    ASSERT(pl_quic_msg_reader_feed(&r, d, len, on_msg, g) == PL_ERR_STATE);
  pl_quic_msg_reader_free(&r);
  return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t splits = data[0];
  const uint8_t *d = data + 1;
  size_t len = size - 1;
  int too_big;
  size_t want = reference(d, len, &too_big);
  got whole = {d, 0, 0}, pieces = {d, 0, 0};
  int rv1 = feed(d, len, 0, &whole);
  int rv2 = feed(d, len, splits ? splits : 1, &pieces);
  ASSERT(whole.n == want && pieces.n == want);
  ASSERT(rv1 == rv2);
  ASSERT((rv1 == PL_ERR_TOO_BIG) == too_big);
  ASSERT(rv1 == 0 || rv1 == PL_ERR_TOO_BIG);
  return 0;
}
