/* A stream's send buffer: 64 KiB chunks allocated as the user writes and freed as the peer
 * acknowledges. ngtcp2 keeps pointers into sent data until it is acknowledged, so data never
 * moves: a chunk is freed only when every byte in it is acknowledged. Memory follows what is
 * in flight (up to the stream's maximum), not a fixed ring per stream. */
#include <stdlib.h>
#include <string.h>

#include "agent/quic/quic_impl.h"
#include "control/common/err.h"

void pl_quic__sendbuf_init(pl_quic__sendbuf *b, size_t max) {
  memset(b, 0, sizeof *b);
  b->max = max;
}

void pl_quic__sendbuf_free(pl_quic__sendbuf *b) {
  for (size_t i = 0; i < b->count; i++)
    free(b->chunks[(b->head + i) % b->nslots]);
  free(b->chunks);
  memset(b, 0, sizeof *b);
}

size_t pl_quic__sendbuf_room(const pl_quic__sendbuf *b, uint64_t base, uint64_t end) {
  uint64_t used = end - base;
  return used >= b->max ? 0 : (size_t)(b->max - used);
}

static uint8_t *chunk_at(const pl_quic__sendbuf *b, uint64_t off, size_t *ppos) {
  uint64_t rel = off - b->first;
  *ppos = (size_t)(rel % PL_QUIC__CHUNK);
  return b->chunks[(b->head + (size_t)(rel / PL_QUIC__CHUNK)) % b->nslots];
}

int pl_quic__sendbuf_put(pl_quic__sendbuf *b, uint64_t end, const uint8_t *data, size_t n) {
  if (b->chunks == NULL) {
    /* Bytes in [base, end) touch at most max / CHUNK + 1 chunks (the first may start early). */
    b->nslots = b->max / PL_QUIC__CHUNK + 2;
    if ((b->chunks = calloc(b->nslots, sizeof *b->chunks)) == NULL)
      return PL_ERR_NOMEM;
    b->first = end - end % PL_QUIC__CHUNK;
  }
  while (n > 0) {
    uint64_t rel = end - b->first;
    if (rel / PL_QUIC__CHUNK == b->count) {
      if (b->count == b->nslots)
        return PL_ERR_FULL; /* over max: the caller checked the room first */
      uint8_t *c = malloc(PL_QUIC__CHUNK);
      if (c == NULL)
        return PL_ERR_NOMEM;
      b->chunks[(b->head + b->count) % b->nslots] = c;
      b->count++;
    }
    size_t pos;
    uint8_t *c = chunk_at(b, end, &pos);
    size_t k = PL_QUIC__CHUNK - pos < n ? PL_QUIC__CHUNK - pos : n;
    memcpy(c + pos, data, k);
    data += k;
    n -= k;
    end += k;
  }
  return 0;
}

size_t pl_quic__sendbuf_vecs(const pl_quic__sendbuf *b, uint64_t from, uint64_t end, ngtcp2_vec *v,
                             size_t maxv) {
  size_t nv = 0;
  while (from < end && nv < maxv) {
    size_t pos;
    uint8_t *c = chunk_at(b, from, &pos);
    uint64_t len = end - from < PL_QUIC__CHUNK - pos ? end - from : PL_QUIC__CHUNK - pos;
    v[nv].base = c + pos;
    v[nv].len = (size_t)len;
    nv++;
    from += len;
  }
  return nv;
}

void pl_quic__sendbuf_release(pl_quic__sendbuf *b, uint64_t base) {
  while (b->count > 0 && base >= b->first + PL_QUIC__CHUNK) {
    free(b->chunks[b->head]);
    b->chunks[b->head] = NULL;
    b->head = (b->head + 1) % b->nslots;
    b->count--;
    b->first += PL_QUIC__CHUNK;
  }
}
