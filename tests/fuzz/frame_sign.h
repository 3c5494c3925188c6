#ifndef PEERLINK_TESTS_FUZZ_FRAME_SIGN_H
#define PEERLINK_TESTS_FUZZ_FRAME_SIGN_H

/* For the frame and punch fuzz targets: the fixed keys they use, and re-signing a fuzzed frame
 * so the fuzzer gets past the MAC into the code behind it. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "agent/wire/frame.h"

/* The secret is bytes 0..31, as in tests/unit/frame and the seed generator in docs. */
static inline const pl_frame_keys *fuzz_keys(void) {
  static pl_frame_keys keys;
  static int done;
  if (!done) {
    uint8_t secret[32];
    for (int i = 0; i < 32; i++)
      secret[i] = (uint8_t)i;
    pl_frame_keys_derive(&keys, secret, sizeof secret);
    done = 1;
  }
  return &keys;
}

/* Overwrites the last PL_FRAME_MAC_LEN bytes with the MAC under the key the type byte picks. */
static inline void fuzz_sign(uint8_t *data, size_t len) {
  if (len < PL_FRAME_MAC_LEN + 1)
    return;
  const pl_frame_keys *k = fuzz_keys();
  int relay = data[0] == PL_FRAME_RELAY_BIND || data[0] == PL_FRAME_RELAY_BIND_ACK ||
              data[0] == PL_FRAME_RELAY_DATA;
  Hmac h;
  uint8_t full[32];
  wc_HmacInit(&h, NULL, INVALID_DEVID);
  wc_HmacSetKey(&h, WC_SHA256, relay ? k->relay : k->frame, 32);
  wc_HmacUpdate(&h, data, (word32)(len - PL_FRAME_MAC_LEN));
  wc_HmacFinal(&h, full);
  wc_HmacFree(&h);
  memcpy(data + len - PL_FRAME_MAC_LEN, full, PL_FRAME_MAC_LEN);
}

#endif
