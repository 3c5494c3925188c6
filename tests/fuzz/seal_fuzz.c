/* agent/wire/seal: pl_open on arbitrary bytes, and seal/open/tamper round trips on arbitrary
 * plaintexts, under the known-answer agents' keys (tests/unit/seal/kat.h). Input:
 *   mode(1) seq(8, big-endian) aadlen(1) aad(aadlen) body
 *   mode bit 0 clear: body is a sealed frame from A; B opens it. Whatever opens has the right
 *                     length (the seed `kat` is the known-answer frame, which opens).
 *   mode bit 0 set:   body is a plaintext. A seals it and B must open it to the same bytes;
 *                     then one bit of aad || sealed is flipped (bit number (mode >> 1) * 8 +
 *                     seq % 8, modulo their length in bits) and B must refuse: PL_ERR_AUTH. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/seal.h"
#include "control/common/err.h"
#include "tests/unit/seal/fixture.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

/* Derived once: ECDH per input would spend the fuzzer's time in scalar multiplication. */
static const pl_seal_secrets *secrets(int b_side) {
  static pl_seal_secrets sa, sb;
  static int done;
  if (!done) {
    fixture_agent a, b;
    uint8_t secret[32], pairing[PL_SEAL_PAIRING_LEN];
    fixture_agents(&a, &b);
    fixture_secret(secret);
    fixture_pairing(pairing);
    ASSERT(pl_seal_derive(&sa, a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, pairing,
                          secret, sizeof secret) == 0);
    ASSERT(pl_seal_derive(&sb, b.sec1, sizeof b.sec1, a.spki, sizeof a.spki, b.id, a.id, pairing,
                          secret, sizeof secret) == 0);
    done = 1;
  }
  return b_side ? &sb : &sa;
}

static void round_trip(pl_seal_keys *ka, pl_seal_keys *kb, uint8_t mode, uint64_t seq, uint8_t *aad,
                       size_t aadlen, const uint8_t *plain, size_t len) {
  size_t n = 0, m = 0;
  uint8_t *sealed = malloc(len + PL_SEAL_TAG_LEN), *back = malloc(len ? len : 1);
  ASSERT(sealed != NULL && back != NULL);
  ASSERT(pl_seal(ka, seq, aad, aadlen, plain, len, sealed, len + PL_SEAL_TAG_LEN, &n) == 0);
  ASSERT(n == len + PL_SEAL_TAG_LEN);
  ASSERT(pl_open(kb, seq, aad, aadlen, sealed, n, back, len, &m) == 0);
  ASSERT(m == len && memcmp(back, plain, len) == 0);
  size_t bit = ((size_t)(mode >> 1) * 8 + seq % 8) % (8 * (aadlen + n));
  uint8_t *target = bit < 8 * aadlen ? aad + bit / 8 : sealed + (bit / 8 - aadlen);
  *target ^= (uint8_t)(1u << (bit % 8));
  ASSERT(pl_open(kb, seq, aad, aadlen, sealed, n, back, len, &m) == PL_ERR_AUTH);
  free(sealed);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 10 || size > 10 + 255 + PL_SEAL_MAX_PLAIN + PL_SEAL_TAG_LEN)
    return 0;
  uint8_t mode = data[0];
  uint64_t seq = 0;
  for (int i = 0; i < 8; i++)
    seq = seq << 8 | data[1 + i];
  size_t aadlen = data[9];
  if (size < 10 + aadlen)
    return 0;
  /* Copies, so the target may modify them and ASan sees reads past their ends. */
  uint8_t *aad = malloc(aadlen ? aadlen : 1), *body = malloc(size - 10 - aadlen + 1);
  size_t bodylen = size - 10 - aadlen;
  ASSERT(aad != NULL && body != NULL);
  memcpy(aad, data + 10, aadlen);
  memcpy(body, data + 10 + aadlen, bodylen);

  pl_seal_keys *ka = NULL, *kb = NULL;
  ASSERT(pl_seal_keys_new(&ka, secrets(0)) == 0 && pl_seal_keys_new(&kb, secrets(1)) == 0);
  if (mode & 1) {
    if (bodylen <= PL_SEAL_MAX_PLAIN)
      round_trip(ka, kb, mode, seq, aad, aadlen, body, bodylen);
  } else {
    size_t m = 0, cap = bodylen;
    uint8_t *out = malloc(cap ? cap : 1);
    ASSERT(out != NULL);
    int rv = pl_open(kb, seq, aad, aadlen, body, bodylen, out, cap, &m);
    ASSERT(rv == 0 || rv == PL_ERR_AUTH ||
           (rv == PL_ERR_TOO_BIG && bodylen > PL_SEAL_MAX_PLAIN + PL_SEAL_TAG_LEN));
    if (rv == 0)
      ASSERT(bodylen >= PL_SEAL_TAG_LEN && m == bodylen - PL_SEAL_TAG_LEN);
    /* What A sealed does not open at A. */
    if (rv == 0)
      ASSERT(pl_open(ka, seq, aad, aadlen, body, bodylen, out, cap, &m) == PL_ERR_AUTH);
    free(out);
  }
  pl_seal_keys_del(ka);
  pl_seal_keys_del(kb);
  free(aad);
  free(body);
  return 0;
}
