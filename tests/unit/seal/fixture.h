#ifndef PEERLINK_TESTS_SEAL_FIXTURE_H
#define PEERLINK_TESTS_SEAL_FIXTURE_H

/* Key fixtures for the agent/wire/seal tests: the known-answer agents A and B (kat.h) as bytes,
 * and their keys, derived through the module. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/seal.h"
#include "control/common/hex.h"
#include "tests/unit/seal/kat.h"

typedef struct fixture_agent {
  uint8_t sec1[KAT_SEC1_LEN];
  uint8_t spki[KAT_SPKI_LEN];
  uint8_t id[PL_SEAL_ID_LEN];
} fixture_agent;

/* Hex that the test itself wrote: a decoding failure is a broken test, so stop. */
static inline void fixture_hex(uint8_t *out, size_t len, const char *hex) {
  if (strlen(hex) != 2 * len || pl_hex_decode(out, len, hex) != 0)
    abort();
}

static inline void fixture_agents(fixture_agent *a, fixture_agent *b) {
  fixture_hex(a->sec1, sizeof a->sec1, KAT_A_SEC1);
  fixture_hex(a->spki, sizeof a->spki, KAT_A_SPKI);
  fixture_hex(a->id, sizeof a->id, KAT_ID_A);
  fixture_hex(b->sec1, sizeof b->sec1, KAT_B_SEC1);
  fixture_hex(b->spki, sizeof b->spki, KAT_B_SPKI);
  fixture_hex(b->id, sizeof b->id, KAT_ID_B);
}

static inline void fixture_secret(uint8_t secret[32]) {
  for (int i = 0; i < 32; i++)
    secret[i] = (uint8_t)i;
}

static inline void fixture_pairing(uint8_t pairing[PL_SEAL_PAIRING_LEN]) {
  fixture_hex(pairing, PL_SEAL_PAIRING_LEN, KAT_PAIRING);
}

/* me's keys for talking to peer, in the KAT pairing; NULL when derivation fails. */
static inline pl_seal_keys *fixture_keys(const fixture_agent *me, const fixture_agent *peer) {
  uint8_t secret[32], pairing[PL_SEAL_PAIRING_LEN];
  pl_seal_keys *k = NULL;
  fixture_secret(secret);
  fixture_pairing(pairing);
  if (pl_seal_keys_derive(&k, me->sec1, sizeof me->sec1, peer->spki, sizeof peer->spki, me->id,
                          peer->id, pairing, secret, sizeof secret) != 0)
    return NULL;
  return k;
}

#endif
