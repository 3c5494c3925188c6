/* peerlink frames: byte layouts (docs/protocol.md), encode, parse, peek. The MAC and keys live
 * in frame_mac.c, the demultiplexer and replay window in frame_util.c. */
#include "agent/wire/frame.h"

#include <netinet/in.h>
#include <string.h>

#include "agent/wire/frame_mac.h"
#include "control/common/err.h"

#define VERSION 1
/* type(1) version(1) pairing(8) sender(16) seq(8) */
#define HEADER_LEN (2 + PL_FRAME_PAIRING_LEN + PL_FRAME_ID_LEN + 8)
#define ADDR_LEN 19   /* family(1) port(2) address(16) */
#define PROBE_BODY 17 /* flags(1) txid(8) echo_time_us(8) */
#define ACK_BODY (PROBE_BODY + ADDR_LEN)
#define BIND_BODY 8 /* txid(8) */
#define BIND_ACK_BODY (8 + ADDR_LEN)
#define FAMILY_NONE 0
#define FAMILY_V4 4
#define FAMILY_V6 6

_Static_assert(HEADER_LEN == PL_FRAME_HEADER_LEN, "the header DATA's seal authenticates");
_Static_assert(HEADER_LEN + 2 == PL_FRAME_RELAY_HEADROOM, "RELAY_DATA's inner frame offset");
_Static_assert(2 + PL_FRAME_PAIRING_LEN == PL_FRAME_EXT_PREFIX, "extension frames' prefix");

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

static int is_relay_type(uint8_t type) {
  return type == PL_FRAME_RELAY_BIND || type == PL_FRAME_RELAY_BIND_ACK ||
         type == PL_FRAME_RELAY_DATA;
}

static int is_known_type(uint8_t type) {
  return (type >= PL_FRAME_PROBE && type <= PL_FRAME_CLOSE) || is_relay_type(type);
}

/* Body length for fixed-size types; -1 for the variable ones (DATA, RELAY_DATA). */
static int fixed_body(uint8_t type) {
  switch (type) {
  case PL_FRAME_PROBE: return PROBE_BODY;
  case PL_FRAME_PROBE_ACK: return ACK_BODY;
  case PL_FRAME_CLOSE: return 0;
  case PL_FRAME_RELAY_BIND: return BIND_BODY;
  case PL_FRAME_RELAY_BIND_ACK: return BIND_ACK_BODY;
  default: return -1;
  }
}

static const uint8_t *key_for(uint8_t type, const pl_frame_keys *keys) {
  return is_relay_type(type) ? keys->relay : keys->frame;
}

static int addr_encode(uint8_t *p, const struct sockaddr_storage *ss, int has) {
  memset(p, 0, ADDR_LEN);
  if (!has)
    return 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    p[0] = FAMILY_V4;
    put16(p + 1, ntohs(sin->sin_port));
    memcpy(p + 3, &sin->sin_addr, 4);
    return 0;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
    p[0] = FAMILY_V6;
    put16(p + 1, ntohs(sin6->sin6_port));
    memcpy(p + 3, &sin6->sin6_addr, 16);
    return 0;
  }
  return PL_ERR_INVALID;
}

/* Only one encoding per address is valid (unused bytes zero), so frames compare bytewise. */
static int addr_decode(const uint8_t *p, struct sockaddr_storage *ss, int *phas) {
  static const uint8_t zero[ADDR_LEN];
  memset(ss, 0, sizeof *ss);
  *phas = 0;
  switch (p[0]) {
  case FAMILY_NONE: return memcmp(p + 1, zero, ADDR_LEN - 1) == 0 ? 0 : PL_ERR_PARSE;
  case FAMILY_V4: {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    if (memcmp(p + 7, zero, 12) != 0)
      return PL_ERR_PARSE;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(get16(p + 1));
    memcpy(&sin->sin_addr, p + 3, 4);
    *phas = 1;
    return 0;
  }
  case FAMILY_V6: {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(get16(p + 1));
    memcpy(&sin6->sin6_addr, p + 3, 16);
    *phas = 1;
    return 0;
  }
  default: return PL_ERR_PARSE;
  }
}

/* A frame this codec parses, or an extension frame (prefix only), of a plausible length. */
static int plausible(const uint8_t *data, size_t len) {
  size_t min = pl_frame_is_ext(data[0]) ? PL_FRAME_EXT_MIN : HEADER_LEN + PL_FRAME_MAC_LEN;
  return len >= min && len <= PL_FRAME_MAX_LEN &&
         (is_known_type(data[0]) || pl_frame_is_ext(data[0])) && data[1] == VERSION;
}

/* What RELAY_DATA may carry: one peer-to-peer frame, never another relay frame. */
static int relayable(const uint8_t *inner, size_t innerlen) {
  return innerlen > 0 &&
         ((inner[0] >= PL_FRAME_PROBE && inner[0] <= PL_FRAME_CLOSE) ||
          pl_frame_is_ext(inner[0])) &&
         plausible(inner, innerlen);
}

int pl_frame_is_ext(uint8_t type) {
  return type >= PL_FRAME_EXT_FIRST && type <= PL_FRAME_EXT_LAST;
}

int pl_frame_peek(const uint8_t *data, size_t len, uint8_t *ptype,
                  uint8_t pairing[PL_FRAME_PAIRING_LEN]) {
  if (data == NULL || len == 0 || !plausible(data, len))
    return PL_ERR_PARSE;
  if (ptype)
    *ptype = data[0];
  if (pairing)
    memcpy(pairing, data + 2, PL_FRAME_PAIRING_LEN);
  return 0;
}

/* DATA's body is its sealed payload and nothing else: the tag ends the frame, in the MAC's
 * place. */
static int data_body_ok(size_t bodylen) {
  return bodylen >= PL_FRAME_SEAL_TAG_LEN &&
         bodylen <= PL_FRAME_MAX_PAYLOAD + PL_FRAME_SEAL_TAG_LEN;
}

/* Checks the structure (lengths) so the MAC is only computed over frames that could be valid. */
static int check_lengths(const uint8_t *data, size_t len, size_t *pbodylen) {
  uint8_t type = data[0];
  if (type == PL_FRAME_DATA) {
    *pbodylen = len - HEADER_LEN;
    return data_body_ok(*pbodylen) ? 0 : PL_ERR_PARSE;
  }
  size_t bodylen = len - HEADER_LEN - PL_FRAME_MAC_LEN;
  int fixed = fixed_body(type);
  if (fixed >= 0) {
    if (bodylen != (size_t)fixed)
      return PL_ERR_PARSE;
  } else {
    /* RELAY_DATA: length(2) then exactly that many bytes. */
    if (bodylen < 2 || get16(data + HEADER_LEN) != bodylen - 2)
      return PL_ERR_PARSE;
    if (type == PL_FRAME_RELAY_DATA && !relayable(data + HEADER_LEN + 2, bodylen - 2))
      return PL_ERR_PARSE;
  }
  *pbodylen = bodylen;
  return 0;
}

int pl_frame_parse(pl_frame *f, const uint8_t *data, size_t len, const pl_frame_keys *keys) {
  size_t bodylen;
  int rv;
  if (f == NULL || keys == NULL || pl_frame_peek(data, len, NULL, NULL) != 0 ||
      !is_known_type(data[0]))
    return PL_ERR_PARSE;
  if ((rv = check_lengths(data, len, &bodylen)) != 0)
    return rv;
  /* DATA has no MAC: its seal is checked by whoever holds the end-to-end keys. */
  size_t maclen = len - PL_FRAME_MAC_LEN;
  if (data[0] != PL_FRAME_DATA &&
      (rv = pl_frame__mac_verify(key_for(data[0], keys), data, maclen, data + maclen)) != 0)
    return rv;

  memset(f, 0, sizeof *f);
  f->type = data[0];
  f->header = data;
  memcpy(f->pairing, data + 2, PL_FRAME_PAIRING_LEN);
  memcpy(f->sender, data + 2 + PL_FRAME_PAIRING_LEN, PL_FRAME_ID_LEN);
  f->seq = get64(data + 2 + PL_FRAME_PAIRING_LEN + PL_FRAME_ID_LEN);
  const uint8_t *b = data + HEADER_LEN;
  switch (f->type) {
  case PL_FRAME_PROBE:
  case PL_FRAME_PROBE_ACK:
    f->flags = b[0];
    f->txid = get64(b + 1);
    f->echo_time_us = get64(b + 9);
    if (f->type == PL_FRAME_PROBE_ACK)
      return addr_decode(b + PROBE_BODY, &f->observed, &f->has_observed);
    return 0;
  case PL_FRAME_RELAY_BIND: f->txid = get64(b); return 0;
  case PL_FRAME_RELAY_BIND_ACK:
    f->txid = get64(b);
    return addr_decode(b + 8, &f->observed, &f->has_observed);
  case PL_FRAME_DATA:
    f->payload = b;
    f->payloadlen = bodylen;
    return 0;
  case PL_FRAME_RELAY_DATA:
    f->payload = b + 2;
    f->payloadlen = bodylen - 2;
    return 0;
  default: /* CLOSE */ return 0;
  }
}

int pl_frame_encode(uint8_t *buf, size_t cap, size_t *plen, const pl_frame *f,
                    const pl_frame_keys *keys) {
  if (buf == NULL || plen == NULL || f == NULL || keys == NULL || !is_known_type(f->type))
    return PL_ERR_INVALID;
  int fixed = fixed_body(f->type);
  size_t bodylen, maclen = PL_FRAME_MAC_LEN;
  if (fixed >= 0) {
    bodylen = (size_t)fixed;
  } else if (f->type == PL_FRAME_DATA) {
    if (f->payload == NULL || f->payloadlen < PL_FRAME_SEAL_TAG_LEN)
      return PL_ERR_INVALID;
    if (!data_body_ok(f->payloadlen))
      return PL_ERR_TOO_BIG;
    bodylen = f->payloadlen;
    maclen = 0; /* the seal's tag is part of the body */
  } else {
    if (f->payloadlen > 0 && f->payload == NULL)
      return PL_ERR_INVALID;
    if (f->payloadlen > PL_FRAME_MAX_LEN - HEADER_LEN - 2 - PL_FRAME_MAC_LEN)
      return PL_ERR_TOO_BIG;
    if (!relayable(f->payload, f->payloadlen))
      return PL_ERR_INVALID;
    bodylen = 2 + f->payloadlen;
  }
  size_t len = HEADER_LEN + bodylen + maclen;
  if (len > cap)
    return PL_ERR_TOO_BIG;

  buf[0] = f->type;
  buf[1] = VERSION;
  memcpy(buf + 2, f->pairing, PL_FRAME_PAIRING_LEN);
  memcpy(buf + 2 + PL_FRAME_PAIRING_LEN, f->sender, PL_FRAME_ID_LEN);
  put64(buf + 2 + PL_FRAME_PAIRING_LEN + PL_FRAME_ID_LEN, f->seq);
  uint8_t *b = buf + HEADER_LEN;
  int rv = 0;
  switch (f->type) {
  case PL_FRAME_PROBE:
  case PL_FRAME_PROBE_ACK:
    b[0] = f->flags;
    put64(b + 1, f->txid);
    put64(b + 9, f->echo_time_us);
    if (f->type == PL_FRAME_PROBE_ACK)
      rv = addr_encode(b + PROBE_BODY, &f->observed, f->has_observed);
    break;
  case PL_FRAME_RELAY_BIND: put64(b, f->txid); break;
  case PL_FRAME_RELAY_BIND_ACK:
    put64(b, f->txid);
    rv = addr_encode(b + 8, &f->observed, f->has_observed);
    break;
  case PL_FRAME_DATA:
    if (b != f->payload)
      memmove(b, f->payload, f->payloadlen); /* memmove: it may already be in place */
    break;
  case PL_FRAME_RELAY_DATA:
    put16(b, (uint16_t)f->payloadlen);
    if (f->payloadlen && b + 2 != f->payload)
      memmove(b + 2, f->payload, f->payloadlen);
    break;
  default: break;
  }
  if (rv != 0)
    return rv;
  size_t signedlen = HEADER_LEN + bodylen;
  if (maclen && (rv = pl_frame__mac(key_for(f->type, keys), buf, signedlen, buf + signedlen)) != 0)
    return rv;
  *plen = len;
  return 0;
}
