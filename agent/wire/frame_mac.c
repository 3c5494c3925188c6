/* Frame keys and MACs: HMAC-SHA256 from wolfCrypt. */
#include "agent/wire/frame_mac.h"

#include <string.h>

/* options.h first: it carries the configure choices the library was built with. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/hmac.h>

#include "control/common/err.h"

static const char frame_label[] = "peerlink frame v1";
static const char relay_label[] = "peerlink relay v1";

static int hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                       uint8_t out[WC_SHA256_DIGEST_SIZE]) {
  Hmac h;
  int rv = PL_ERR_CRYPTO;
  if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
    return PL_ERR_CRYPTO;
  if (wc_HmacSetKey(&h, WC_SHA256, key, (word32)keylen) == 0 &&
      wc_HmacUpdate(&h, data, (word32)len) == 0 && wc_HmacFinal(&h, out) == 0)
    rv = 0;
  wc_HmacFree(&h);
  return rv;
}

int pl_frame_keys_derive(pl_frame_keys *keys, const uint8_t *secret, size_t secretlen) {
  if (keys == NULL || secret == NULL || secretlen < 16)
    return PL_ERR_INVALID;
  /* Labels without their NUL: the bytes are the ASCII text as docs/protocol.md gives it. */
  if (hmac_sha256(secret, secretlen, (const uint8_t *)frame_label, sizeof frame_label - 1,
                  keys->frame) != 0 ||
      hmac_sha256(secret, secretlen, (const uint8_t *)relay_label, sizeof relay_label - 1,
                  keys->relay) != 0) {
    memset(keys, 0, sizeof *keys);
    return PL_ERR_CRYPTO;
  }
  return 0;
}

/* RELAY_DATA around an extension frame: header, length and the inner prefix, then the inner
 * frame's own 16-byte tag (docs/protocol.md). The inner frame authenticates its content end to
 * end; the relay needs only to know that a member of the pairing sent this frame now, and bulk
 * relayed traffic then hashes 62 bytes a frame instead of all of it. */
#define EXT_COVERED (PL_FRAME_RELAY_HEADROOM + PL_FRAME_EXT_PREFIX)
#define EXT_TAG 16

static int relays_ext(const uint8_t *data, size_t len) {
  return len >= PL_FRAME_RELAY_HEADROOM + PL_FRAME_EXT_MIN && data[0] == PL_FRAME_RELAY_DATA &&
         pl_frame_is_ext(data[PL_FRAME_RELAY_HEADROOM]);
}

int pl_frame__mac(const uint8_t key[32], const uint8_t *data, size_t len,
                  uint8_t mac[PL_FRAME_MAC_LEN]) {
  uint8_t full[WC_SHA256_DIGEST_SIZE];
  int rv;
  if (relays_ext(data, len)) {
    Hmac h;
    rv = PL_ERR_CRYPTO;
    if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
      return PL_ERR_CRYPTO;
    if (wc_HmacSetKey(&h, WC_SHA256, key, 32) == 0 && wc_HmacUpdate(&h, data, EXT_COVERED) == 0 &&
        wc_HmacUpdate(&h, data + len - EXT_TAG, EXT_TAG) == 0 && wc_HmacFinal(&h, full) == 0)
      rv = 0;
    wc_HmacFree(&h);
  } else {
    rv = hmac_sha256(key, 32, data, len, full);
  }
  if (rv == 0)
    memcpy(mac, full, PL_FRAME_MAC_LEN);
  return rv;
}

int pl_frame__mac_verify(const uint8_t key[32], const uint8_t *data, size_t len,
                         const uint8_t mac[PL_FRAME_MAC_LEN]) {
  uint8_t want[PL_FRAME_MAC_LEN];
  /* A failing wolfCrypt call must not let a frame through: treat it as a mismatch. */
  if (pl_frame__mac(key, data, len, want) != 0)
    return PL_ERR_AUTH;
  /* Constant time: a byte-by-byte early exit would tell a forger how many bytes were right. */
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < PL_FRAME_MAC_LEN; i++)
    diff |= (uint8_t)(want[i] ^ mac[i]);
  return diff == 0 ? 0 : PL_ERR_AUTH;
}
