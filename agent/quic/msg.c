/* Length-prefixed messages on a QUIC stream: the prefix, and a reader that reassembles. */
#include "agent/quic/msg.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

void pl_quic_msg_header(uint8_t out[PL_QUIC_MSG_HEADER], uint32_t len) {
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
}

void pl_quic_msg_reader_init(pl_quic_msg_reader *r, size_t max) {
  memset(r, 0, sizeof *r);
  r->max = max ? max : PL_QUIC_MSG_MAX;
}

void pl_quic_msg_reader_free(pl_quic_msg_reader *r) {
  free(r->buf);
  r->buf = NULL;
}

static int fail(pl_quic_msg_reader *r, int rv) {
  r->failed = 1;
  pl_quic_msg_reader_free(r);
  return rv;
}

int pl_quic_msg_reader_feed(pl_quic_msg_reader *r, const uint8_t *data, size_t len,
                            pl_quic_msg_fn on_msg, void *arg) {
  if (r->failed)
    return PL_ERR_STATE;
  while (len > 0) {
    if (r->hdr_have < PL_QUIC_MSG_HEADER) {
      size_t n = PL_QUIC_MSG_HEADER - r->hdr_have < len ? PL_QUIC_MSG_HEADER - r->hdr_have : len;
      memcpy(r->hdr + r->hdr_have, data, n);
      r->hdr_have += n;
      data += n;
      len -= n;
      if (r->hdr_have < PL_QUIC_MSG_HEADER)
        return 0;
      r->len =
          (size_t)r->hdr[0] << 24 | (size_t)r->hdr[1] << 16 | (size_t)r->hdr[2] << 8 | r->hdr[3];
      r->have = 0;
      if (r->len > r->max)
        return fail(r, PL_ERR_TOO_BIG);
      /* A whole message in this chunk needs no copy. */
      if (len >= r->len) {
        on_msg(arg, data, r->len);
        data += r->len;
        len -= r->len;
        r->hdr_have = 0;
        continue;
      }
      if ((r->buf = malloc(r->len ? r->len : 1)) == NULL)
        return fail(r, PL_ERR_NOMEM);
    }
    size_t n = r->len - r->have < len ? r->len - r->have : len;
    memcpy(r->buf + r->have, data, n);
    r->have += n;
    data += n;
    len -= n;
    if (r->have == r->len) {
      on_msg(arg, r->buf, r->len);
      free(r->buf);
      r->buf = NULL;
      r->hdr_have = 0;
    }
  }
  return 0;
}
