/* TCP records: header, decoder, HELLO and AUTH (HMAC-SHA256 from wolfCrypt). */
#include "agent/tcp/tcp_wire.h"

#include <stdlib.h>
#include <string.h>

/* options.h first: it carries the configure choices the library was built with. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/hmac.h>

#include "control/common/err.h"

static const char auth_label[] = "peerlink tcp auth v1";

void pl_tcp_header(uint8_t out[PL_TCP_HEADER_LEN], uint8_t type, uint32_t len) {
  out[0] = type;
  out[1] = (uint8_t)(len >> 24);
  out[2] = (uint8_t)(len >> 16);
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}

const char *pl_tcp_type_name(uint8_t type) {
  switch (type) {
  case PL_TCP_HELLO: return "HELLO";
  case PL_TCP_AUTH: return "AUTH";
  case PL_TCP_SELECT: return "SELECT";
  case PL_TCP_MSG: return "MSG";
  case PL_TCP_ACK: return "ACK";
  case PL_TCP_PING: return "PING";
  case PL_TCP_BULK: return "BULK";
  case PL_TCP_CLOSE: return "CLOSE";
  default: return "?";
  }
}

/* --- HELLO and AUTH --------------------------------------------------------------------- */

void pl_tcp_hello_encode(uint8_t out[PL_TCP_HEADER_LEN + PL_TCP_HELLO_LEN], const pl_tcp_hello *h) {
  uint8_t *p = out + PL_TCP_HEADER_LEN;
  pl_tcp_header(out, PL_TCP_HELLO, PL_TCP_HELLO_LEN);
  *p++ = h->version;
  *p++ = h->flags;
  memcpy(p, h->pairing, PL_TCP_PAIRING_LEN);
  p += PL_TCP_PAIRING_LEN;
  memcpy(p, h->sender, PL_TCP_ID_LEN);
  p += PL_TCP_ID_LEN;
  memcpy(p, h->receiver, PL_TCP_ID_LEN);
  p += PL_TCP_ID_LEN;
  memcpy(p, h->nonce, PL_TCP_NONCE_LEN);
}

int pl_tcp_hello_parse(pl_tcp_hello *h, const uint8_t *data, size_t len) {
  if (len != PL_TCP_HELLO_LEN || data[0] != PL_TCP_VERSION)
    return PL_ERR_PARSE;
  h->version = data[0];
  h->flags = data[1];
  data += 2;
  memcpy(h->pairing, data, PL_TCP_PAIRING_LEN);
  data += PL_TCP_PAIRING_LEN;
  memcpy(h->sender, data, PL_TCP_ID_LEN);
  data += PL_TCP_ID_LEN;
  memcpy(h->receiver, data, PL_TCP_ID_LEN);
  data += PL_TCP_ID_LEN;
  memcpy(h->nonce, data, PL_TCP_NONCE_LEN);
  return 0;
}

int pl_tcp_auth_mac(uint8_t mac[PL_TCP_AUTH_LEN], const uint8_t key[32], const pl_tcp_hello *mine,
                    const pl_tcp_hello *theirs) {
  Hmac h;
  int rv = PL_ERR_CRYPTO;
  if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
    return PL_ERR_CRYPTO;
  /* The label without its NUL; then everything both sides must agree on, in a fixed order.
   * The peer's nonce makes the MAC fresh for this connection: a recorded AUTH is useless. */
  if (wc_HmacSetKey(&h, WC_SHA256, key, 32) == 0 &&
      wc_HmacUpdate(&h, (const uint8_t *)auth_label, sizeof auth_label - 1) == 0 &&
      wc_HmacUpdate(&h, mine->pairing, PL_TCP_PAIRING_LEN) == 0 &&
      wc_HmacUpdate(&h, mine->sender, PL_TCP_ID_LEN) == 0 &&
      wc_HmacUpdate(&h, mine->receiver, PL_TCP_ID_LEN) == 0 &&
      wc_HmacUpdate(&h, mine->nonce, PL_TCP_NONCE_LEN) == 0 &&
      wc_HmacUpdate(&h, theirs->nonce, PL_TCP_NONCE_LEN) == 0 && wc_HmacFinal(&h, mac) == 0)
    rv = 0;
  wc_HmacFree(&h);
  return rv;
}

int pl_tcp_auth_verify(const uint8_t *data, size_t len, const uint8_t key[32],
                       const pl_tcp_hello *theirs, const pl_tcp_hello *mine) {
  uint8_t want[PL_TCP_AUTH_LEN];
  if (len != PL_TCP_AUTH_LEN || pl_tcp_auth_mac(want, key, theirs, mine) != 0)
    return PL_ERR_AUTH;
  /* Constant time: an early exit would tell a forger how many bytes were right. */
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < PL_TCP_AUTH_LEN; i++)
    diff |= (uint8_t)(want[i] ^ data[i]);
  return diff == 0 ? 0 : PL_ERR_AUTH;
}

/* --- decoder ---------------------------------------------------------------------------- */

void pl_tcp_decoder_init(pl_tcp_decoder *d) {
  memset(d, 0, sizeof *d);
}

void pl_tcp_decoder_free(pl_tcp_decoder *d) {
  free(d->buf);
  pl_tcp_decoder_init(d);
}

/* Whether a record of `type` may have `len` payload bytes now. */
static int length_allowed(const pl_tcp_decoder *d, uint8_t type, uint32_t len) {
  if ((type == PL_TCP_MSG || type == PL_TCP_BULK) && d->limit && len > d->limit)
    return 0;
  switch (type) {
  case PL_TCP_HELLO: return len == PL_TCP_HELLO_LEN;
  case PL_TCP_AUTH: return len == PL_TCP_AUTH_LEN;
  case PL_TCP_SELECT:
  case PL_TCP_PING: return len == 0;
  case PL_TCP_ACK: return len == PL_TCP_ACK_LEN;
  case PL_TCP_MSG: return len <= PL_TCP_MAX_RECORD;
  case PL_TCP_BULK: return len >= 1 && len <= PL_TCP_MAX_RECORD;
  case PL_TCP_CLOSE: return len <= PL_TCP_CLOSE_MAX;
  default: return 0;
  }
}

static int start_record(pl_tcp_decoder *d, const uint8_t *h) {
  uint32_t len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
  if (!length_allowed(d, h[0], len)) {
    d->failed = 1;
    return PL_ERR_PARSE;
  }
  d->type = h[0];
  d->len = len;
  d->got = 0;
  d->headlen = 0;
  d->in_record = 1;
  return 0;
}

/* A whole record: straight from the input when it lies there whole, else assembled. */
static int whole_step(pl_tcp_decoder *d, const uint8_t *data, size_t avail, size_t *pused,
                      pl_tcp_record_fn fn, void *arg) {
  size_t want = d->len - d->got;
  if (d->got == 0 && avail >= want) {
    *pused = want;
    d->in_record = 0;
    return fn(arg, d->type, data, want, 0, want);
  }
  if (d->cap < d->len) {
    uint8_t *grown = realloc(d->buf, d->len);
    if (grown == NULL)
      return PL_ERR_NOMEM;
    d->buf = grown;
    d->cap = d->len;
  }
  size_t take = avail < want ? avail : want;
  memcpy(d->buf + d->got, data, take);
  d->got += take;
  *pused = take;
  if (d->got < d->len)
    return 0;
  d->in_record = 0;
  return fn(arg, d->type, d->buf, d->len, 0, d->len);
}

/* BULK: slices as they come, the first one holding at least the record's head. */
static int bulk_step(pl_tcp_decoder *d, const uint8_t *data, size_t avail, size_t *pused,
                     pl_tcp_record_fn fn, void *arg) {
  size_t head = d->len < PL_TCP_BULK_HEAD ? d->len : PL_TCP_BULK_HEAD;
  size_t slice;
  int rv;
  *pused = 0;
  if (d->got == 0 && d->headlen == 0 && avail >= head) {
    slice = avail < d->len ? avail : d->len;
    *pused = slice;
    d->got = slice;
    d->in_record = d->got < d->len;
    return fn(arg, PL_TCP_BULK, data, slice, 0, d->len);
  }
  if (d->got == 0) {
    size_t take = head - d->headlen < avail ? head - d->headlen : avail;
    memcpy(d->head + d->headlen, data, take);
    d->headlen += take;
    *pused = take;
    if (d->headlen < head)
      return 0;
    d->got = head;
    d->headlen = 0;
    d->in_record = d->got < d->len;
    return fn(arg, PL_TCP_BULK, d->head, head, 0, d->len);
  }
  slice = d->len - d->got < avail ? d->len - d->got : avail;
  if (slice == 0)
    return 0;
  *pused = slice;
  rv = fn(arg, PL_TCP_BULK, data, slice, d->got, d->len);
  d->got += slice;
  d->in_record = d->got < d->len;
  return rv;
}

int pl_tcp_decode(pl_tcp_decoder *d, const uint8_t *data, size_t len, pl_tcp_record_fn fn,
                  void *arg) {
  size_t pos = 0;
  if (d->failed)
    return PL_ERR_PARSE;
  for (;;) {
    int rv;
    if (!d->in_record) {
      if (pos == len)
        return 0;
      if (d->headlen == 0 && len - pos >= PL_TCP_HEADER_LEN) {
        rv = start_record(d, data + pos);
        pos += PL_TCP_HEADER_LEN;
      } else {
        size_t take = PL_TCP_HEADER_LEN - d->headlen;
        if (take > len - pos)
          take = len - pos;
        memcpy(d->head + d->headlen, data + pos, take);
        d->headlen += take;
        pos += take;
        if (d->headlen < PL_TCP_HEADER_LEN)
          return 0;
        rv = start_record(d, d->head);
      }
      if (rv != 0)
        return rv;
    }
    /* A record whose payload has not arrived yet waits, except an empty one: it is whole. */
    if (pos == len && d->len > d->got)
      return 0;
    size_t used = 0;
    rv = d->type == PL_TCP_BULK ? bulk_step(d, data + pos, len - pos, &used, fn, arg)
                                : whole_step(d, data + pos, len - pos, &used, fn, arg);
    pos += used;
    if (rv < 0)
      return rv;
  }
}
