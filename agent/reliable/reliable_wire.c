/* Byte layout of the reliable channel's payloads (docs/protocol.md, "Reliable messages"). All
 * integers big-endian. */
#include <string.h>

#include "agent/reliable/reliable_impl.h"
#include "control/common/err.h"

static uint64_t get_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

static void put_be(uint8_t *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static int parse_frag(const uint8_t *data, size_t len, pl_reliable__frag *f) {
  if (len < PL_RELIABLE_FRAG_HEADER)
    return PL_ERR_PARSE;
  f->seq = get_be(data + 1, 8);
  f->msg_len = (uint32_t)get_be(data + 9, 4);
  f->offset = (uint32_t)get_be(data + 13, 4);
  f->data = data + PL_RELIABLE_FRAG_HEADER;
  f->len = len - PL_RELIABLE_FRAG_HEADER;
  /* Only an empty message has an empty fragment; data never runs past the message's end. */
  if ((uint64_t)f->offset + f->len > f->msg_len || (f->len == 0 && f->msg_len != 0))
    return PL_ERR_PARSE;
  return 0;
}

static int parse_ack(const uint8_t *data, size_t len, pl_reliable__ack *a) {
  if (len < PL_RELIABLE__ACK_HEADER)
    return PL_ERR_PARSE;
  a->n = data[1];
  if (a->n > PL_RELIABLE_MAX_ACK_RANGES ||
      len != PL_RELIABLE__ACK_HEADER + a->n * PL_RELIABLE__ACK_RANGE)
    return PL_ERR_PARSE;
  a->cumulative = get_be(data + 2, 8);
  a->latest = get_be(data + 10, 8);
  a->window = (uint32_t)get_be(data + 18, 4);
  a->delay_us = (uint32_t)get_be(data + 22, 4);
  /* Each range starts after at least one missing number: cumulative itself is missing, and so
   * is the end of every range (else the ranges would be one). */
  uint64_t prev_end = a->cumulative;
  const uint8_t *p = data + PL_RELIABLE__ACK_HEADER;
  for (size_t i = 0; i < a->n; i++, p += PL_RELIABLE__ACK_RANGE) {
    uint64_t gap = get_be(p, 2), n = get_be(p + 2, 2);
    if (n == 0 || prev_end > UINT64_MAX - 1 - gap - n)
      return PL_ERR_PARSE;
    a->start[i] = prev_end + 1 + gap;
    a->end[i] = a->start[i] + n;
    prev_end = a->end[i];
  }
  return 0;
}

int pl_reliable__parse(const uint8_t *data, size_t len, int *ptype, pl_reliable__frag *frag,
                       pl_reliable__ack *ack) {
  if (data == NULL || len == 0)
    return PL_ERR_PARSE;
  *ptype = data[0];
  switch (data[0]) {
  case PL_RELIABLE__TYPE_FRAG: return parse_frag(data, len, frag);
  case PL_RELIABLE__TYPE_ACK: return parse_ack(data, len, ack);
  default: return PL_ERR_PARSE;
  }
}

int pl_reliable__encode_frag(uint8_t *buf, size_t cap, size_t *plen, const pl_reliable__frag *f) {
  if ((uint64_t)f->offset + f->len > f->msg_len || (f->len == 0 && f->msg_len != 0))
    return PL_ERR_INVALID;
  if (cap < PL_RELIABLE_FRAG_HEADER + f->len)
    return PL_ERR_TOO_BIG;
  buf[0] = PL_RELIABLE__TYPE_FRAG;
  put_be(buf + 1, f->seq, 8);
  put_be(buf + 9, f->msg_len, 4);
  put_be(buf + 13, f->offset, 4);
  if (f->len > 0)
    memmove(buf + PL_RELIABLE_FRAG_HEADER, f->data, f->len);
  *plen = PL_RELIABLE_FRAG_HEADER + f->len;
  return 0;
}

int pl_reliable__encode_ack(uint8_t *buf, size_t cap, size_t *plen, const pl_reliable__ack *a) {
  if (a->n > PL_RELIABLE_MAX_ACK_RANGES)
    return PL_ERR_INVALID;
  size_t len = PL_RELIABLE__ACK_HEADER + a->n * PL_RELIABLE__ACK_RANGE;
  if (cap < len)
    return PL_ERR_TOO_BIG;
  buf[0] = PL_RELIABLE__TYPE_ACK;
  buf[1] = (uint8_t)a->n;
  put_be(buf + 2, a->cumulative, 8);
  put_be(buf + 10, a->latest, 8);
  put_be(buf + 18, a->window, 4);
  put_be(buf + 22, a->delay_us, 4);
  uint64_t prev_end = a->cumulative;
  uint8_t *p = buf + PL_RELIABLE__ACK_HEADER;
  for (size_t i = 0; i < a->n; i++, p += PL_RELIABLE__ACK_RANGE) {
    if (a->start[i] <= prev_end || a->end[i] <= a->start[i] ||
        a->start[i] - prev_end - 1 > 0xffff || a->end[i] - a->start[i] > 0xffff)
      return PL_ERR_INVALID;
    put_be(p, a->start[i] - prev_end - 1, 2);
    put_be(p + 2, a->end[i] - a->start[i], 2);
    prev_end = a->end[i];
  }
  *plen = len;
  return 0;
}
