/* The receiver's incremental parser of the sender's bytes (agent/files/wire.h). */
#include <stdlib.h>
#include <string.h>

/* options.h first: it carries the configure choices the library was built with. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/sha256.h>

#include "agent/files/wire.h"
#include "control/common/err.h"

typedef enum { ST_HEADER, ST_DATA, ST_TRAILER, ST_END, ST_FAILED } rx_state;

struct pl_files_rx {
  rx_state state;
  uint8_t buf[PL_FILES_HEADER_MAX]; /* a header, or the trailer, as it accumulates */
  size_t have;
  pl_files_header header;
  uint64_t received;
  wc_Sha256 sha;
};

int pl_files_rx_new(pl_files_rx **prx) {
  pl_files_rx *rx = calloc(1, sizeof *rx);
  if (rx == NULL)
    return PL_ERR_NOMEM;
  if (wc_InitSha256(&rx->sha) != 0) {
    free(rx);
    return PL_ERR_CRYPTO;
  }
  *prx = rx;
  return 0;
}

void pl_files_rx_del(pl_files_rx *rx) {
  if (rx == NULL)
    return;
  wc_Sha256Free(&rx->sha);
  free(rx);
}

static int fail(pl_files_rx *rx, int rv) {
  rx->state = ST_FAILED;
  return rv;
}

/* Header bytes accumulate in buf; only what completes the header is consumed. */
static int feed_header(pl_files_rx *rx, const uint8_t *data, size_t len, size_t *pused,
                       pl_files_rx_event *ev) {
  size_t room = sizeof rx->buf - rx->have, take = len < room ? len : room, hlen;
  memcpy(rx->buf + rx->have, data, take);
  if (pl_files_header_parse(rx->buf, rx->have + take, &rx->header, &hlen) != 0)
    return fail(rx, PL_ERR_PARSE);
  if (hlen == 0) {
    rx->have += take;
    *pused = take;
    return 0;
  }
  *pused = hlen - rx->have;
  rx->have = 0;
  rx->state = rx->header.size ? ST_DATA : ST_TRAILER;
  ev->kind = PL_FILES_RX_HEADER;
  return 0;
}

static int feed_data(pl_files_rx *rx, const uint8_t *data, size_t len, size_t *pused,
                     pl_files_rx_event *ev) {
  uint64_t left = rx->header.size - rx->received;
  size_t take = (uint64_t)len < left ? len : (size_t)left;
  /* wc_Sha256Update takes a word32 length. */
  if (take > 0x40000000u)
    take = 0x40000000u;
  if (wc_Sha256Update(&rx->sha, data, (word32)take) != 0)
    return fail(rx, PL_ERR_CRYPTO);
  rx->received += take;
  if (rx->received == rx->header.size)
    rx->state = ST_TRAILER;
  *pused = take;
  ev->kind = PL_FILES_RX_DATA;
  ev->data = data;
  ev->len = take;
  return 0;
}

static int feed_trailer(pl_files_rx *rx, const uint8_t *data, size_t len, size_t *pused,
                        pl_files_rx_event *ev) {
  size_t take = PL_FILES_TRAILER_LEN - rx->have;
  if (take > len)
    take = len;
  memcpy(rx->buf + rx->have, data, take);
  rx->have += take;
  *pused = take;
  if (rx->have < PL_FILES_TRAILER_LEN)
    return 0;
  if (wc_Sha256Final(&rx->sha, ev->sha256) != 0)
    return fail(rx, PL_ERR_CRYPTO);
  rx->state = ST_END;
  ev->kind = PL_FILES_RX_END;
  ev->hash_ok = memcmp(ev->sha256, rx->buf, PL_FILES_SHA256_LEN) == 0;
  return 0;
}

int pl_files_rx_feed(pl_files_rx *rx, const uint8_t *data, size_t len, size_t *pused,
                     pl_files_rx_event *ev) {
  memset(ev, 0, sizeof *ev);
  *pused = 0;
  if (len == 0)
    return rx->state == ST_FAILED ? PL_ERR_STATE : 0;
  switch (rx->state) {
  case ST_HEADER: return feed_header(rx, data, len, pused, ev);
  case ST_DATA: return feed_data(rx, data, len, pused, ev);
  case ST_TRAILER: return feed_trailer(rx, data, len, pused, ev);
  case ST_END: return fail(rx, PL_ERR_PARSE); /* nothing may follow the trailer */
  default: return PL_ERR_STATE;
  }
}

const pl_files_header *pl_files_rx_header(const pl_files_rx *rx) {
  return rx->header.name_len ? &rx->header : NULL; /* a parsed name has at least one byte */
}

uint64_t pl_files_rx_received(const pl_files_rx *rx) {
  return rx->received;
}

int pl_files_rx_ended(const pl_files_rx *rx) {
  return rx->state == ST_END;
}
