/* agent/wire/seal keys: the known-answer vector, both sides of real identities deriving each
 * other's keys, the rendezvous (secret and both public keys, but no private key) unable to open,
 * and the checks on keys, IDs and the secret. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "agent/identity/identity.h"
#include "agent/wire/frame.h"
#include "agent/wire/seal.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "tests/unit/common/count_check.h"
#include "tests/unit/seal/fixture.h"

PL_TEST_COUNTERS;

static void check_hex(const uint8_t *got, size_t len, const char *want_hex) {
  uint8_t want[64];
  fixture_hex(want, len, want_hex);
  CHECK(memcmp(got, want, len) == 0);
  if (memcmp(got, want, len) != 0) {
    char hex[129];
    pl_hex_encode(hex, got, len);
    fprintf(stderr, "  got  %s\n  want %s\n", hex, want_hex);
  }
}

static void test_kat(void) {
  fixture_agent a, b;
  uint8_t secret[32], pairing[PL_SEAL_PAIRING_LEN];
  pl_seal_secrets sa, sb;
  fixture_agents(&a, &b);
  fixture_secret(secret);
  fixture_pairing(pairing);

  CHECK_RV(pl_seal_derive(&sa, a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, pairing,
                          secret, sizeof secret),
           0);
  check_hex(sa.send_key, PL_SEAL_KEY_LEN, KAT_KEY_AB);
  check_hex(sa.send_iv, PL_SEAL_IV_LEN, KAT_IV_AB);
  check_hex(sa.recv_key, PL_SEAL_KEY_LEN, KAT_KEY_BA);
  check_hex(sa.recv_iv, PL_SEAL_IV_LEN, KAT_IV_BA);
  CHECK_RV(pl_seal_derive(&sb, b.sec1, sizeof b.sec1, a.spki, sizeof a.spki, b.id, a.id, pairing,
                          secret, sizeof secret),
           0);
  check_hex(sb.send_key, PL_SEAL_KEY_LEN, KAT_KEY_BA);
  check_hex(sb.recv_key, PL_SEAL_KEY_LEN, KAT_KEY_AB);

  uint8_t aad[KAT_AAD_LEN], out[64], back[64];
  size_t outlen = 0, backlen = 0;
  fixture_hex(aad, sizeof aad, KAT_AAD);
  pl_seal_keys *ka = NULL, *kb = NULL;
  CHECK_RV(pl_seal_keys_new(&ka, &sa), 0);
  CHECK_RV(pl_seal_keys_new(&kb, &sb), 0);
  if (ka == NULL || kb == NULL)
    goto out;
  CHECK_RV(pl_seal(ka, KAT_SEQ, aad, sizeof aad, (const uint8_t *)KAT_PLAIN, strlen(KAT_PLAIN), out,
                   sizeof out, &outlen),
           0);
  CHECK_U64(outlen, ==, KAT_SEALED_LEN);
  check_hex(out, KAT_SEALED_LEN, KAT_SEALED);
  CHECK_RV(pl_open(kb, KAT_SEQ, aad, sizeof aad, out, outlen, back, sizeof back, &backlen), 0);
  CHECK(backlen == strlen(KAT_PLAIN) && memcmp(back, KAT_PLAIN, backlen) == 0);
out:
  pl_seal_keys_del(ka);
  pl_seal_keys_del(kb);
}

/* A fresh state directory under $TEST_TMPDIR. */
static char *state_dir(const char *name) {
  const char *base = getenv("TEST_TMPDIR");
  char *p = malloc(strlen(base ? base : "/tmp") + strlen(name) + 32);
  sprintf(p, "%s/seal-%d/%s", base ? base : "/tmp", (int)getpid(), name);
  return p;
}

static int load(pl_identity *ident, fixture_agent *bytes, const char *name) {
  char *dir = state_dir(name);
  int rv = pl_identity_load_or_create(ident, dir);
  free(dir);
  if (rv != 0)
    return rv;
  return pl_hex_decode(bytes->id, sizeof bytes->id, ident->id);
}

static pl_seal_keys *keys_of(const pl_identity *me, const uint8_t my_id[PL_SEAL_ID_LEN],
                             const pl_identity *peer, const uint8_t peer_id[PL_SEAL_ID_LEN],
                             pl_seal_secrets *s) {
  uint8_t secret[32], pairing[PL_SEAL_PAIRING_LEN];
  pl_seal_keys *k = NULL;
  fixture_secret(secret);
  fixture_pairing(pairing);
  CHECK_RV(pl_seal_derive(s, me->private_key_der, me->private_key_der_len, peer->public_key_der,
                          peer->public_key_der_len, my_id, peer_id, pairing, secret, sizeof secret),
           0);
  CHECK_RV(pl_seal_keys_new(&k, s), 0);
  return k;
}

/* One frame from `from` to `to`: opens, and only there. */
static void check_exchange(pl_seal_keys *from, pl_seal_keys *to, uint64_t seq) {
  static const uint8_t aad[] = "header";
  uint8_t msg[300], sealed[sizeof msg + PL_SEAL_TAG_LEN], back[sizeof msg];
  size_t n = 0, m = 0;
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)(i * 7 + seq);
  CHECK_RV(pl_seal(from, seq, aad, sizeof aad, msg, sizeof msg, sealed, sizeof sealed, &n), 0);
  CHECK_RV(pl_open(to, seq, aad, sizeof aad, sealed, n, back, sizeof back, &m), 0);
  CHECK(m == sizeof msg && memcmp(back, msg, m) == 0);
  /* Reflected back at its sender, it does not open: each direction has its own key. */
  CHECK_RV(pl_open(from, seq, aad, sizeof aad, sealed, n, back, sizeof back, &m), PL_ERR_AUTH);
}

static void test_identities(void) {
  pl_identity ia, ib;
  fixture_agent a, b;
  pl_seal_secrets sa, sb;
  memset(&ia, 0, sizeof ia);
  memset(&ib, 0, sizeof ib);
  CHECK_RV(load(&ia, &a, "a"), 0);
  CHECK_RV(load(&ib, &b, "b"), 0);
  pl_seal_keys *ka = keys_of(&ia, a.id, &ib, b.id, &sa);
  pl_seal_keys *kb = keys_of(&ib, b.id, &ia, a.id, &sb);
  /* Each side from its own private key and the other's public key: the same two keys. */
  CHECK(memcmp(sa.send_key, sb.recv_key, PL_SEAL_KEY_LEN) == 0);
  CHECK(memcmp(sa.send_iv, sb.recv_iv, PL_SEAL_IV_LEN) == 0);
  CHECK(memcmp(sa.recv_key, sb.send_key, PL_SEAL_KEY_LEN) == 0);
  CHECK(memcmp(sa.recv_iv, sb.send_iv, PL_SEAL_IV_LEN) == 0);
  CHECK(memcmp(sa.send_key, sa.recv_key, PL_SEAL_KEY_LEN) != 0);
  if (ka != NULL && kb != NULL) {
    check_exchange(ka, kb, 1);
    check_exchange(kb, ka, 1);
    check_exchange(ka, kb, 2);
  }
  pl_seal_keys_del(ka);
  pl_seal_keys_del(kb);
  pl_identity_free(&ia);
  pl_identity_free(&ib);
}

/* The construction as docs/protocol.md writes it, with any Z: the rendezvous's best attempt is
 * this with a Z it can compute. Checked against the vector with the real Z first, so a failure
 * to open below is the missing Z, not a different construction. */
static void replica(uint8_t key[PL_SEAL_KEY_LEN], uint8_t iv[PL_SEAL_IV_LEN], const uint8_t z[32],
                    const fixture_agent *sender, const fixture_agent *receiver) {
  uint8_t ikm[64], salt[56], info[17 + 32], okm[44];
  fixture_secret(ikm + 32);
  memcpy(ikm, z, 32);
  memcpy(salt, "peerlink data v1", 16);
  fixture_pairing(salt + 16);
  int order = memcmp(sender->id, receiver->id, PL_SEAL_ID_LEN);
  memcpy(salt + 24, order < 0 ? sender->id : receiver->id, 16);
  memcpy(salt + 40, order < 0 ? receiver->id : sender->id, 16);
  memcpy(info, "peerlink data key", 17);
  memcpy(info + 17, sender->id, 16);
  memcpy(info + 33, receiver->id, 16);
  CHECK(wc_HKDF(WC_SHA256, ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
                sizeof okm) == 0);
  memcpy(key, okm, PL_SEAL_KEY_LEN);
  memcpy(iv, okm + PL_SEAL_KEY_LEN, PL_SEAL_IV_LEN);
}

/* 1 if a receiver holding key/iv opens the frame. */
static int opens_with(const uint8_t key[PL_SEAL_KEY_LEN], const uint8_t iv[PL_SEAL_IV_LEN],
                      const uint8_t *aad, const uint8_t *sealed, size_t n) {
  pl_seal_secrets s;
  pl_seal_keys *k = NULL;
  uint8_t back[64];
  size_t m = 0;
  memset(&s, 0, sizeof s);
  memcpy(s.recv_key, key, PL_SEAL_KEY_LEN);
  memcpy(s.recv_iv, iv, PL_SEAL_IV_LEN);
  CHECK_RV(pl_seal_keys_new(&k, &s), 0);
  int ok =
      k != NULL && pl_open(k, KAT_SEQ, aad, KAT_AAD_LEN, sealed, n, back, sizeof back, &m) == 0;
  pl_seal_keys_del(k);
  return ok;
}

static void test_rendezvous_cannot_open(void) {
  fixture_agent a, b, e;
  pl_identity ie;
  uint8_t secret[32], pairing[PL_SEAL_PAIRING_LEN], aad[KAT_AAD_LEN], sealed[KAT_SEALED_LEN];
  uint8_t key[PL_SEAL_KEY_LEN], iv[PL_SEAL_IV_LEN], z[32], true_iv[PL_SEAL_IV_LEN];
  fixture_agents(&a, &b);
  fixture_secret(secret);
  fixture_pairing(pairing);
  fixture_hex(aad, sizeof aad, KAT_AAD);
  fixture_hex(sealed, sizeof sealed, KAT_SEALED);
  fixture_hex(true_iv, sizeof true_iv, KAT_IV_AB);

  fixture_hex(z, sizeof z, KAT_Z);
  replica(key, iv, z, &a, &b);
  check_hex(key, PL_SEAL_KEY_LEN, KAT_KEY_AB);
  CHECK(opens_with(key, iv, aad, sealed, sizeof sealed));

  /* Everything but Z: all zero, or the secret itself in its place. */
  memset(z, 0, sizeof z);
  replica(key, iv, z, &a, &b);
  CHECK(!opens_with(key, iv, aad, sealed, sizeof sealed));
  memcpy(z, secret, sizeof z);
  replica(key, iv, z, &a, &b);
  CHECK(!opens_with(key, iv, aad, sealed, sizeof sealed));

  /* The keys the rendezvous does have: the frame and relay keys of the pairing secret, even
   * with the true IV. */
  pl_frame_keys fk;
  CHECK_RV(pl_frame_keys_derive(&fk, secret, sizeof secret), 0);
  CHECK(!opens_with(fk.frame, true_iv, aad, sealed, sizeof sealed));
  CHECK(!opens_with(fk.relay, true_iv, aad, sealed, sizeof sealed));

  /* Its own key pair in place of either agent's: the module derives, under its own ID, keys
   * that open nothing A sent to B. Claiming A's or B's ID with its own key is refused. */
  memset(&ie, 0, sizeof ie);
  CHECK_RV(load(&ie, &e, "rendezvous"), 0);
  const fixture_agent *peers[2] = {&a, &b};
  for (int i = 0; i < 2; i++) {
    pl_seal_secrets s;
    CHECK_RV(pl_seal_derive(&s, ie.private_key_der, ie.private_key_der_len, peers[i]->spki,
                            sizeof peers[i]->spki, e.id, peers[i]->id, pairing, secret,
                            sizeof secret),
             0);
    CHECK(!opens_with(s.send_key, s.send_iv, aad, sealed, sizeof sealed));
    CHECK(!opens_with(s.recv_key, s.recv_iv, aad, sealed, sizeof sealed));
    CHECK(!opens_with(s.recv_key, true_iv, aad, sealed, sizeof sealed));
    const fixture_agent *other = peers[1 - i];
    CHECK_RV(pl_seal_derive(&s, ie.private_key_der, ie.private_key_der_len, peers[i]->spki,
                            sizeof peers[i]->spki, other->id, peers[i]->id, pairing, secret,
                            sizeof secret),
             PL_ERR_AUTH);
  }
  pl_identity_free(&ie);
}

static int derive(const uint8_t *my, size_t mylen, const uint8_t *peer, size_t peerlen,
                  const uint8_t *my_id, const uint8_t *peer_id, size_t secretlen) {
  uint8_t secret[PL_SEAL_SECRET_MAX + 1], pairing[PL_SEAL_PAIRING_LEN];
  pl_seal_secrets s;
  memset(secret, 0x5a, sizeof secret);
  fixture_pairing(pairing);
  int rv = pl_seal_derive(&s, my, mylen, peer, peerlen, my_id, peer_id, pairing, secret, secretlen);
  if (rv != 0) {
    static const pl_seal_secrets zero;
    CHECK(memcmp(&s, &zero, sizeof s) == 0);
  }
  return rv;
}

static void test_refusals(void) {
  fixture_agent a, b;
  fixture_agents(&a, &b);
  uint8_t buf[KAT_SEC1_LEN + 1];

  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, 32), 0);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, PL_SEAL_SECRET_MIN), 0);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, PL_SEAL_SECRET_MAX), 0);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, 15), PL_ERR_INVALID);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, 65), PL_ERR_INVALID);
  CHECK_RV(derive(NULL, 0, b.spki, sizeof b.spki, a.id, b.id, 32), PL_ERR_INVALID);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, NULL, 32), PL_ERR_INVALID);
  CHECK_RV(pl_seal_derive(NULL, a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, a.id,
                          a.id, 16),
           PL_ERR_INVALID);
  /* Talking to oneself would make both directions one key. */
  CHECK_RV(derive(a.sec1, sizeof a.sec1, a.spki, sizeof a.spki, a.id, a.id, 32), PL_ERR_INVALID);

  /* Keys and IDs that do not belong together. */
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, b.id, a.id, 32), PL_ERR_AUTH);
  CHECK_RV(derive(b.sec1, sizeof b.sec1, b.spki, sizeof b.spki, a.id, b.id, 32), PL_ERR_AUTH);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, a.spki, sizeof a.spki, a.id, b.id, 32), PL_ERR_AUTH);
  /* Keys in each other's place do not parse. */
  CHECK_RV(derive(a.spki, sizeof a.spki, b.spki, sizeof b.spki, a.id, b.id, 32), PL_ERR_PARSE);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.sec1, sizeof b.sec1, a.id, b.id, 32), PL_ERR_PARSE);

  /* Truncated, trailing bytes, and a public point moved off the curve. */
  CHECK_RV(derive(a.sec1, sizeof a.sec1 - 1, b.spki, sizeof b.spki, a.id, b.id, 32), PL_ERR_PARSE);
  CHECK_RV(derive(a.sec1, sizeof a.sec1, b.spki, sizeof b.spki - 1, a.id, b.id, 32), PL_ERR_PARSE);
  memcpy(buf, a.sec1, sizeof a.sec1);
  buf[sizeof a.sec1] = 0;
  CHECK_RV(derive(buf, sizeof buf, b.spki, sizeof b.spki, a.id, b.id, 32), PL_ERR_PARSE);
  memcpy(buf, b.spki, sizeof b.spki);
  buf[sizeof b.spki - 1] ^= 1;
  CHECK_RV(derive(a.sec1, sizeof a.sec1, buf, sizeof b.spki, a.id, b.id, 32), PL_ERR_PARSE);
  CHECK_RV(derive(a.sec1, 0, b.spki, sizeof b.spki, a.id, b.id, 32), PL_ERR_PARSE);

  pl_seal_keys *k = NULL;
  CHECK_RV(pl_seal_keys_new(&k, NULL), PL_ERR_INVALID);
  CHECK_RV(pl_seal_keys_derive(NULL, a.sec1, sizeof a.sec1, b.spki, sizeof b.spki, a.id, b.id, a.id,
                               a.id, 16),
           PL_ERR_INVALID);
  CHECK(k == NULL);
  pl_seal_keys_del(NULL);
}

int main(void) {
  test_kat();
  test_identities();
  test_rendezvous_cannot_open();
  test_refusals();
  return pl_test_report("seal_keys_test");
}
