/* STUN Binding messages (RFC 8489): parse, encode, and the responder. Every length read from
 * the network is checked against the bytes actually present before it is used. */
#include "agent/wire/stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "control/common/err.h"

#define ATTR_MAPPED_ADDRESS 0x0001
#define ATTR_ERROR_CODE 0x0009
#define ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_SOFTWARE 0x8022
#define ATTR_FINGERPRINT 0x8028

#define FINGERPRINT_XOR 0x5354554eu
#define FAMILY_IPV4 0x01
#define FAMILY_IPV6 0x02
#define SOFTWARE "peerlink"
#define REASON_MAX 127 /* RFC 8489 14.8: fewer than 128 characters */
#define MAX_UNKNOWN 8  /* listed in a 420; a request with more still gets one */

/* CRC-32/ISO-HDLC (reflected 0x04C11DB7), one 16-entry table, two steps per byte. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t pl_stun_crc32(const uint8_t *data, size_t len) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    c ^= data[i];
    c = (c >> 4) ^ crc_nibble[c & 15];
    c = (c >> 4) ^ crc_nibble[c & 15];
  }
  return c ^ 0xFFFFFFFFu;
}

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

int pl_stun_is_stun(const uint8_t *data, size_t len) {
  return data && len >= PL_STUN_HEADER_LEN && (data[0] & 0xC0) == 0 &&
         get32(data + 4) == PL_STUN_MAGIC && (get16(data + 2) & 3) == 0;
}

int pl_stun_stream_len(const uint8_t *data, size_t len, size_t max) {
  if (len < 8)
    return (len >= 1 && (data[0] & 0xC0) != 0) ? PL_ERR_PARSE : 0;
  if ((data[0] & 0xC0) != 0 || get32(data + 4) != PL_STUN_MAGIC || (get16(data + 2) & 3) != 0)
    return PL_ERR_PARSE;
  size_t need = PL_STUN_HEADER_LEN + (size_t)get16(data + 2);
  if (need > max)
    return PL_ERR_PARSE;
  return len >= need ? (int)need : 0;
}

/* (XOR-)MAPPED-ADDRESS value. `key` is the header's cookie and txid (16 bytes) for the XOR
 * form, NULL for the plain one. */
static int parse_addr(struct sockaddr_storage *ss, const uint8_t *v, size_t vlen,
                      const uint8_t *key) {
  if (vlen < 4)
    return PL_ERR_PARSE;
  uint16_t port = get16(v + 2);
  uint8_t a[16];
  size_t alen;
  if (v[1] == FAMILY_IPV4)
    alen = 4;
  else if (v[1] == FAMILY_IPV6)
    alen = 16;
  else
    return PL_ERR_PARSE;
  if (vlen != 4 + alen)
    return PL_ERR_PARSE;
  for (size_t i = 0; i < alen; i++)
    a[i] = v[4 + i] ^ (key ? key[i] : 0);
  if (key)
    port ^= (uint16_t)(PL_STUN_MAGIC >> 16);

  memset(ss, 0, sizeof *ss);
  if (alen == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    memcpy(&sin->sin_addr, a, 4);
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    memcpy(&sin6->sin6_addr, a, 16);
  }
  return 0;
}

static int parse_error_code(pl_stun_msg *m, const uint8_t *v, size_t vlen) {
  if (vlen < 4)
    return PL_ERR_PARSE;
  int cls = v[2] & 0x07, num = v[3];
  if (cls < 3 || cls > 6 || num > 99)
    return PL_ERR_PARSE;
  m->error_code = cls * 100 + num;
  return 0;
}

/* The attribute walk behind pl_stun_parse; the responder also wants the types of unknown
 * comprehension-required attributes (for UNKNOWN-ATTRIBUTES). */
static int parse(pl_stun_msg *m, const uint8_t *data, size_t len, uint16_t *unknown,
                 size_t *nunknown) {
  memset(m, 0, sizeof *m);
  if (!pl_stun_is_stun(data, len) || (size_t)get16(data + 2) + PL_STUN_HEADER_LEN != len)
    return PL_ERR_PARSE;
  m->type = get16(data);
  memcpy(m->txid.b, data + 8, sizeof m->txid.b);
  int is_error = (m->type & 0x0110) == 0x0110;

  int has_xor = 0, has_plain = 0, has_error = 0;
  struct sockaddr_storage plain;
  size_t off = PL_STUN_HEADER_LEN;
  while (off < len) {
    if (len - off < 4)
      return PL_ERR_PARSE;
    uint16_t type = get16(data + off);
    size_t vlen = get16(data + off + 2);
    size_t padded = (vlen + 3) & ~(size_t)3;
    if (padded > len - off - 4)
      return PL_ERR_PARSE;
    const uint8_t *v = data + off + 4;
    int rv = 0;
    /* Only the first of each attribute counts (RFC 8489 14), but each must be well formed. */
    switch (type) {
    case ATTR_XOR_MAPPED_ADDRESS:
      if (!has_xor && (rv = parse_addr(&m->mapped, v, vlen, data + 4)) == 0)
        has_xor = 1;
      break;
    case ATTR_MAPPED_ADDRESS:
      if (!has_plain && (rv = parse_addr(&plain, v, vlen, NULL)) == 0)
        has_plain = 1;
      break;
    case ATTR_ERROR_CODE:
      if (is_error && !has_error && (rv = parse_error_code(m, v, vlen)) == 0)
        has_error = 1;
      break;
    case ATTR_FINGERPRINT:
      /* Last by definition: the CRC covers everything before it, with the header length
       * already counting the FINGERPRINT itself. */
      if (vlen != 4 || off + 8 != len || (pl_stun_crc32(data, off) ^ FINGERPRINT_XOR) != get32(v))
        return PL_ERR_PARSE;
      m->has_fingerprint = 1;
      break;
    case ATTR_SOFTWARE:
    case ATTR_UNKNOWN_ATTRIBUTES: break;
    default:
      if (type < 0x8000) {
        m->unknown_required = 1;
        if (unknown && *nunknown < MAX_UNKNOWN)
          unknown[(*nunknown)++] = type;
      }
      break;
    }
    if (rv != 0)
      return rv;
    off += 4 + padded;
  }
  if (has_xor) {
    m->has_mapped = 1;
  } else if (has_plain) {
    m->mapped = plain;
    m->has_mapped = 1;
  }
  return 0;
}

int pl_stun_parse(pl_stun_msg *m, const uint8_t *data, size_t len) {
  if (!m)
    return PL_ERR_INVALID;
  return parse(m, data, len, NULL, NULL);
}

/* Encoding: a header, attributes, then FINGERPRINT, which fixes up the length. */
typedef struct writer {
  uint8_t *buf;
  size_t cap, len;
} writer;

static int put_header(writer *w, uint16_t type, const pl_stun_txid *txid) {
  if (!w->buf || w->cap < PL_STUN_HEADER_LEN)
    return PL_ERR_TOO_BIG;
  put16(w->buf, type);
  put16(w->buf + 2, 0);
  put32(w->buf + 4, PL_STUN_MAGIC);
  memcpy(w->buf + 8, txid->b, sizeof txid->b);
  w->len = PL_STUN_HEADER_LEN;
  return 0;
}

/* Appends an attribute whose value is `a` then `b` (either may be empty), zero-padded. */
static int put_attr2(writer *w, uint16_t type, const void *a, size_t alen, const void *b,
                     size_t blen) {
  size_t vlen = alen + blen, padded = (vlen + 3) & ~(size_t)3;
  if (vlen > 0xFFFF || w->cap - w->len < 4 + padded)
    return PL_ERR_TOO_BIG;
  uint8_t *p = w->buf + w->len;
  put16(p, type);
  put16(p + 2, (uint16_t)vlen);
  if (alen)
    memcpy(p + 4, a, alen);
  if (blen)
    memcpy(p + 4 + alen, b, blen);
  memset(p + 4 + vlen, 0, padded - vlen);
  w->len += 4 + padded;
  return 0;
}

static int put_attr(writer *w, uint16_t type, const void *v, size_t vlen) {
  return put_attr2(w, type, v, vlen, NULL, 0);
}

static int finish(writer *w, size_t *plen) {
  int rv = put_attr(w, ATTR_SOFTWARE, SOFTWARE, strlen(SOFTWARE));
  if (rv != 0)
    return rv;
  if (w->cap - w->len < 8)
    return PL_ERR_TOO_BIG;
  put16(w->buf + 2, (uint16_t)(w->len + 8 - PL_STUN_HEADER_LEN));
  uint8_t crc[4];
  put32(crc, pl_stun_crc32(w->buf, w->len) ^ FINGERPRINT_XOR);
  put_attr(w, ATTR_FINGERPRINT, crc, 4);
  if (plen)
    *plen = w->len;
  return 0;
}

int pl_stun_encode_request(uint8_t *buf, size_t cap, size_t *plen, const pl_stun_txid *txid) {
  if (!txid)
    return PL_ERR_INVALID;
  writer w = {buf, cap, 0};
  int rv = put_header(&w, PL_STUN_BINDING_REQUEST, txid);
  return rv != 0 ? rv : finish(&w, plen);
}

int pl_stun_encode_success(uint8_t *buf, size_t cap, size_t *plen, const pl_stun_txid *txid,
                           const struct sockaddr *mapped) {
  if (!txid || !mapped)
    return PL_ERR_INVALID;
  uint8_t v[20];
  size_t alen;
  uint16_t port;
  if (mapped->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)mapped;
    v[1] = FAMILY_IPV4;
    alen = 4;
    port = ntohs(sin->sin_port);
    memcpy(v + 4, &sin->sin_addr, 4);
  } else if (mapped->sa_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)mapped;
    port = ntohs(sin6->sin6_port);
    /* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d; they want their IPv4 address. */
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      v[1] = FAMILY_IPV4;
      alen = 4;
      memcpy(v + 4, sin6->sin6_addr.s6_addr + 12, 4);
    } else {
      v[1] = FAMILY_IPV6;
      alen = 16;
      memcpy(v + 4, &sin6->sin6_addr, 16);
    }
  } else {
    return PL_ERR_INVALID;
  }
  writer w = {buf, cap, 0};
  int rv = put_header(&w, PL_STUN_BINDING_SUCCESS, txid);
  if (rv != 0)
    return rv;
  v[0] = 0;
  put16(v + 2, port ^ (uint16_t)(PL_STUN_MAGIC >> 16));
  for (size_t i = 0; i < alen; i++) /* cookie, then txid, as the header holds them */
    v[4 + i] ^= buf[4 + i];
  rv = put_attr(&w, ATTR_XOR_MAPPED_ADDRESS, v, 4 + alen);
  return rv != 0 ? rv : finish(&w, plen);
}

static const char *default_reason(int code) {
  switch (code) {
  case 400: return "Bad Request";
  case 420: return "Unknown Attribute";
  case 500: return "Server Error";
  default: return "";
  }
}

static int encode_error(uint8_t *buf, size_t cap, size_t *plen, const pl_stun_txid *txid, int code,
                        const char *reason, const uint16_t *unknown, size_t nunknown) {
  if (!txid || code < 300 || code > 699)
    return PL_ERR_INVALID;
  if (!reason)
    reason = default_reason(code);
  size_t rlen = strnlen(reason, REASON_MAX);
  writer w = {buf, cap, 0};
  int rv = put_header(&w, PL_STUN_BINDING_ERROR, txid);
  if (rv != 0)
    return rv;
  uint8_t head[4] = {0, 0, (uint8_t)(code / 100), (uint8_t)(code % 100)};
  if ((rv = put_attr2(&w, ATTR_ERROR_CODE, head, 4, reason, rlen)) != 0)
    return rv;
  if (nunknown) {
    uint8_t list[2 * MAX_UNKNOWN];
    for (size_t i = 0; i < nunknown; i++)
      put16(list + 2 * i, unknown[i]);
    if ((rv = put_attr(&w, ATTR_UNKNOWN_ATTRIBUTES, list, 2 * nunknown)) != 0)
      return rv;
  }
  return finish(&w, plen);
}

int pl_stun_encode_error(uint8_t *buf, size_t cap, size_t *plen, const pl_stun_txid *txid, int code,
                         const char *reason) {
  return encode_error(buf, cap, plen, txid, code, reason, NULL, 0);
}

int pl_stun_respond(uint8_t *buf, size_t cap, size_t *plen, const uint8_t *req, size_t reqlen,
                    const struct sockaddr *from) {
  if (!from)
    return PL_ERR_INVALID;
  pl_stun_msg m;
  uint16_t unknown[MAX_UNKNOWN];
  size_t nunknown = 0;
  int rv = parse(&m, req, reqlen, unknown, &nunknown);
  if (rv != 0)
    return rv;
  /* Indications, responses and other methods get no answer: nothing to say, and silence
   * gives a reflector nothing to amplify. */
  if (m.type != PL_STUN_BINDING_REQUEST)
    return PL_ERR_INVALID;
  if (m.unknown_required)
    return encode_error(buf, cap, plen, &m.txid, 420, NULL, unknown, nunknown);
  return pl_stun_encode_success(buf, cap, plen, &m.txid, from);
}
