/* peerlink frames: pl_demux, pl_frame_peek and pl_frame_parse on arbitrary bytes, under fixed
 * keys. Input: one mode byte, then the datagram. Mode bit 0: the target signs the datagram
 * (MAC over it under the key its type uses) first, so the checks after authentication are
 * reached; bit 1: RELAY_DATA's inner frame is signed too. Whatever parses must encode back to
 * the same bytes (one encoding per frame). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/frame.h"
#include "tests/fuzz/frame_sign.h"

static void check_canonical(const pl_frame *f, const uint8_t *data, size_t len) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t outlen;
  if (pl_frame_encode(buf, sizeof buf, &outlen, f, fuzz_keys()) != 0 || outlen != len ||
      memcmp(buf, data, len) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > PL_FRAME_MAX_LEN + 64)
    return 0;
  uint8_t mode = data[0];
  size_t len = size - 1;
  uint8_t *d = malloc(len ? len : 1);
  if (d == NULL)
    return 0;
  memcpy(d, data + 1, len);
  if ((mode & 2) && len >= 52 && d[0] == PL_FRAME_RELAY_DATA)
    fuzz_sign(d + 36, len - 36 - PL_FRAME_MAC_LEN);
  if (mode & 1)
    fuzz_sign(d, len);

  (void)pl_demux(d, len);
  uint8_t type, pairing[PL_FRAME_PAIRING_LEN];
  int peeked = pl_frame_peek(d, len, &type, pairing);
  pl_frame f;
  if (pl_frame_parse(&f, d, len, fuzz_keys()) == 0) {
    if (peeked != 0 || type != f.type)
      abort();
    check_canonical(&f, d, len);
    if (f.type == PL_FRAME_RELAY_DATA) {
      pl_frame inner;
      if (pl_frame_parse(&inner, f.payload, f.payloadlen, fuzz_keys()) == 0)
        check_canonical(&inner, f.payload, f.payloadlen);
    }
  }
  free(d);
  return 0;
}
