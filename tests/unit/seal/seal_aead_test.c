/* agent/wire/seal AEAD: round trips of every size, in place; any single bit flipped in header,
 * ciphertext or tag, another sequence number, truncation or a reflected frame → PL_ERR_AUTH
 * with no plaintext left behind; sequence numbers that would repeat a nonce are refused. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/seal.h"
#include "control/common/err.h"
#include "tests/unit/common/count_check.h"
#include "tests/unit/seal/fixture.h"

PL_TEST_COUNTERS;

static pl_seal_keys *ka, *kb; /* A's and B's keys, from the known-answer agents */

static void fill(uint8_t *p, size_t len, unsigned seed) {
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)(seed * 131 + i * 29 + (i >> 8));
}

static void test_round_trips(void) {
  static const size_t sizes[] = {0, 1, 15, 16, 17, 1200, 1400, PL_SEAL_MAX_PLAIN};
  uint8_t aad[34];
  uint8_t *msg = malloc(PL_SEAL_MAX_PLAIN), *sealed = malloc(PL_SEAL_MAX_PLAIN + PL_SEAL_TAG_LEN);
  uint8_t *back = malloc(PL_SEAL_MAX_PLAIN);
  uint64_t seq = 1;
  fill(aad, sizeof aad, 1);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++, seq++) {
    size_t n = 0, m = 0, len = sizes[i];
    fill(msg, len, (unsigned)i);
    CHECK_RV(pl_seal(ka, seq, aad, sizeof aad, msg, len, sealed, len + PL_SEAL_TAG_LEN, &n), 0);
    CHECK_U64(n, ==, len + PL_SEAL_TAG_LEN);
    /* Exactly the capacity the result needs is enough, for opening too. */
    CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, n, back, len, &m), 0);
    CHECK(m == len && memcmp(back, msg, len) == 0);
  }
  /* No associated data, no plaintext. */
  size_t n = 0, m = 1;
  CHECK_RV(pl_seal(ka, seq, NULL, 0, NULL, 0, sealed, PL_SEAL_TAG_LEN, &n), 0);
  CHECK_RV(pl_open(kb, seq++, NULL, 0, sealed, n, back, 0, &m), 0);
  CHECK_U64(m, ==, 0);

  /* In place, both ways. */
  fill(msg, 500, 9);
  memcpy(sealed, msg, 500);
  CHECK_RV(pl_seal(ka, seq, aad, sizeof aad, sealed, 500, sealed, 500 + PL_SEAL_TAG_LEN, &n), 0);
  CHECK(memcmp(sealed, msg, 500) != 0);
  CHECK_RV(pl_open(kb, seq++, aad, sizeof aad, sealed, n, sealed, n, &m), 0);
  CHECK(m == 500 && memcmp(sealed, msg, 500) == 0);

  /* Sizes and capacities. */
  CHECK_RV(pl_seal(ka, seq, aad, sizeof aad, msg, 100, sealed, 100 + PL_SEAL_TAG_LEN - 1, &n),
           PL_ERR_TOO_BIG);
  CHECK_RV(pl_seal(ka, seq, aad, sizeof aad, msg, PL_SEAL_MAX_PLAIN + 1, sealed,
                   PL_SEAL_MAX_PLAIN + 1 + PL_SEAL_TAG_LEN, &n),
           PL_ERR_TOO_BIG);
  CHECK_RV(pl_seal(ka, seq, aad, sizeof aad, msg, 100, sealed, 200, &n), 0);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, n, back, 99, &m), PL_ERR_TOO_BIG);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, PL_SEAL_MAX_PLAIN + PL_SEAL_TAG_LEN + 1, back,
                   PL_SEAL_MAX_PLAIN + 1, &m),
           PL_ERR_TOO_BIG);
  CHECK_RV(pl_seal(NULL, seq, aad, sizeof aad, msg, 1, sealed, 200, &n), PL_ERR_INVALID);
  CHECK_RV(pl_seal(ka, seq + 1, NULL, 3, msg, 1, sealed, 200, &n), PL_ERR_INVALID);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, NULL, 20, back, 200, &m), PL_ERR_INVALID);
  free(msg);
  free(sealed);
  free(back);
}

static int is_zero(const uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (p[i] != 0)
      return 0;
  return 1;
}

/* Flips each bit of target (which is aad or sealed) in turn and counts the opens refused with
 * PL_ERR_AUTH and nothing left in the output; restores every bit. */
static size_t flips_refused(uint64_t seq, const uint8_t *aad, size_t aadlen, const uint8_t *sealed,
                            size_t n, uint8_t *target, size_t targetlen) {
  uint8_t back[256];
  size_t m = 0, refused = 0;
  for (size_t bit = 0; bit < 8 * targetlen; bit++) {
    target[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    memset(back, 0xee, sizeof back);
    if (pl_open(kb, seq, aad, aadlen, sealed, n, back, sizeof back, &m) == PL_ERR_AUTH &&
        is_zero(back, n - PL_SEAL_TAG_LEN))
      refused++;
    target[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  return refused;
}

static void test_tampering(void) {
  enum { LEN = 100 };
  uint8_t aad[34], msg[LEN], sealed[LEN + PL_SEAL_TAG_LEN], back[LEN];
  size_t n = 0, m = 0;
  const uint64_t seq = 1000;
  fill(aad, sizeof aad, 2);
  fill(msg, sizeof msg, 3);
  CHECK_RV(pl_seal(ka, seq, aad, sizeof aad, msg, sizeof msg, sealed, sizeof sealed, &n), 0);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, n, back, sizeof back, &m), 0);

  /* Every bit of the header, then of ciphertext and tag. */
  size_t refused = flips_refused(seq, aad, sizeof aad, sealed, n, aad, sizeof aad) +
                   flips_refused(seq, aad, sizeof aad, sealed, n, sealed, n);
  size_t total = 8 * (sizeof aad + n);
  CHECK_U64(refused, ==, total);
  CHECK_U64(n, ==, sizeof sealed);

  /* Another sequence number (a frame replayed under a fresh header would need one). */
  CHECK_RV(pl_open(kb, seq + 1, aad, sizeof aad, sealed, n, back, sizeof back, &m), PL_ERR_AUTH);
  CHECK_RV(pl_open(kb, seq ^ (1ull << 63), aad, sizeof aad, sealed, n, back, sizeof back, &m),
           PL_ERR_AUTH);
  /* Shorter header, truncated or extended ciphertext, less than a tag. */
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad - 1, sealed, n, back, sizeof back, &m), PL_ERR_AUTH);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, n - 1, back, sizeof back, &m), PL_ERR_AUTH);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed + 1, n - 1, back, sizeof back, &m),
           PL_ERR_AUTH);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, PL_SEAL_TAG_LEN - 1, back, sizeof back, &m),
           PL_ERR_AUTH);
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, 0, back, sizeof back, &m), PL_ERR_AUTH);
  /* Reflected to its sender. */
  CHECK_RV(pl_open(ka, seq, aad, sizeof aad, sealed, n, back, sizeof back, &m), PL_ERR_AUTH);
  /* Untouched, it still opens (the loops restored every bit). */
  CHECK_RV(pl_open(kb, seq, aad, sizeof aad, sealed, n, back, sizeof back, &m), 0);
  CHECK(m == LEN && memcmp(back, msg, LEN) == 0);
}

/* The same keys in another pairing, or with another secret, open nothing of this one. */
static void test_other_pairing(void) {
  fixture_agent a, b;
  uint8_t secret[32], pairing[PL_SEAL_PAIRING_LEN], aad[34] = {0}, msg[10] = {0};
  uint8_t sealed[sizeof msg + PL_SEAL_TAG_LEN], back[sizeof msg];
  size_t n = 0, m = 0;
  fixture_agents(&a, &b);
  fixture_secret(secret);
  fixture_pairing(pairing);
  CHECK_RV(pl_seal(ka, 5000, aad, sizeof aad, msg, sizeof msg, sealed, sizeof sealed, &n), 0);
  for (int variant = 0; variant < 2; variant++) {
    uint8_t s2[32], p2[PL_SEAL_PAIRING_LEN];
    pl_seal_keys *k = NULL;
    memcpy(s2, secret, sizeof s2);
    memcpy(p2, pairing, sizeof p2);
    if (variant == 0)
      p2[7] ^= 1;
    else
      s2[31] ^= 1;
    CHECK_RV(pl_seal_keys_derive(&k, b.sec1, sizeof b.sec1, a.spki, sizeof a.spki, b.id, a.id, p2,
                                 s2, sizeof s2),
             0);
    if (k != NULL)
      CHECK_RV(pl_open(k, 5000, aad, sizeof aad, sealed, n, back, sizeof back, &m), PL_ERR_AUTH);
    pl_seal_keys_del(k);
  }
}

static void test_sequence_numbers(void) {
  fixture_agent a, b;
  fixture_agents(&a, &b);
  pl_seal_keys *k = fixture_keys(&a, &b);
  uint8_t out[64], msg[8] = {0};
  size_t n = 0;
  CHECK(k != NULL);
  if (k == NULL)
    return;
  CHECK_RV(pl_seal(k, 5, NULL, 0, msg, sizeof msg, out, sizeof out, &n), 0);
  CHECK_RV(pl_seal(k, 5, NULL, 0, msg, sizeof msg, out, sizeof out, &n), PL_ERR_STATE);
  CHECK_RV(pl_seal(k, 4, NULL, 0, msg, sizeof msg, out, sizeof out, &n), PL_ERR_STATE);
  CHECK_RV(pl_seal(k, 0, NULL, 0, msg, sizeof msg, out, sizeof out, &n), PL_ERR_STATE);
  /* A call that fails for another reason does not use up its number. */
  CHECK_RV(pl_seal(k, 6, NULL, 0, msg, sizeof msg, out, 4, &n), PL_ERR_TOO_BIG);
  CHECK_RV(pl_seal(k, 6, NULL, 0, msg, sizeof msg, out, sizeof out, &n), 0);
  /* Gaps are fine (the frame counter is shared with probes); the last number is usable once. */
  CHECK_RV(pl_seal(k, 1000, NULL, 0, msg, sizeof msg, out, sizeof out, &n), 0);
  CHECK_RV(pl_seal(k, UINT64_MAX, NULL, 0, msg, sizeof msg, out, sizeof out, &n), 0);
  CHECK_RV(pl_seal(k, UINT64_MAX, NULL, 0, msg, sizeof msg, out, sizeof out, &n), PL_ERR_STATE);
  pl_seal_keys_del(k);
}

int main(void) {
  fixture_agent a, b;
  fixture_agents(&a, &b);
  ka = fixture_keys(&a, &b);
  kb = fixture_keys(&b, &a);
  CHECK(ka != NULL && kb != NULL);
  if (ka == NULL || kb == NULL)
    return pl_test_report("seal_aead_test");
  test_round_trips();
  test_tampering();
  test_other_pairing();
  test_sequence_numbers();
  pl_seal_keys_del(ka);
  pl_seal_keys_del(kb);
  return pl_test_report("seal_aead_test");
}
