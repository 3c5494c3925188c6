/* The first-byte demultiplexer and the replay window. */
#include "agent/wire/frame.h"

#include "control/common/err.h"

pl_demux_kind pl_demux(const uint8_t *data, size_t len) {
  if (data == NULL || len == 0)
    return PL_DEMUX_DROP;
  uint8_t b = data[0];
  if (b <= 0x03) {
    /* RFC 7983 gives STUN 0-3; the magic cookie keeps stray bytes from reaching the parser. */
    if (len >= 20 && data[4] == 0x21 && data[5] == 0x12 && data[6] == 0xA4 && data[7] == 0x42)
      return PL_DEMUX_STUN;
    return PL_DEMUX_DROP;
  }
  if (b >= PL_FRAME_MIN && b <= PL_FRAME_MAX)
    return PL_DEMUX_FRAME;
  if ((b >= 0x40 && b <= 0x7F) || b >= 0xC0)
    return PL_DEMUX_QUIC;
  return PL_DEMUX_DROP;
}

int pl_replay_check(pl_replay *r, uint64_t seq) {
  if (!r->started) {
    r->started = 1;
    r->top = seq;
    r->bitmap = 1;
    return 0;
  }
  if (seq > r->top) {
    uint64_t shift = seq - r->top;
    r->bitmap = shift >= 64 ? 1 : (r->bitmap << shift) | 1;
    r->top = seq;
    return 0;
  }
  uint64_t back = r->top - seq;
  if (back >= 64)
    return PL_ERR_AUTH; /* older than the window: cannot tell, so refuse */
  uint64_t bit = (uint64_t)1 << back;
  if (r->bitmap & bit)
    return PL_ERR_AUTH;
  r->bitmap |= bit;
  return 0;
}
