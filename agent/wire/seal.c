/* End-to-end DATA keys (ECDH + HKDF-SHA256) and AES-256-GCM, from wolfCrypt. */
#include "agent/wire/seal.h"

#include <stdlib.h>
#include <string.h>

/* options.h first: it carries the configure choices the library was built with. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include "control/common/err.h"

/* Labels without their NUL: the bytes are the ASCII text as docs/protocol.md gives it. */
static const char salt_label[] = "peerlink data v1";
static const char info_label[] = "peerlink data key";

#define KEY_DER_MAX 256 /* P-256 ECPrivateKey is ~121 bytes, SPKI 91 */
#define ECDH_LEN 32

struct pl_seal_keys {
  Aes send, recv;
  uint8_t send_iv[PL_SEAL_IV_LEN], recv_iv[PL_SEAL_IV_LEN];
  uint64_t last_seq; /* highest sequence number sealed; valid when sealed_any */
  int sealed_any;
};

/* ID = SHA-256(SubjectPublicKeyInfo DER)[0:16], as agent/identity computes it. */
static int id_matches(const uint8_t *spki, size_t spkilen, const uint8_t id[PL_SEAL_ID_LEN]) {
  uint8_t digest[WC_SHA256_DIGEST_SIZE];
  if (wc_Sha256Hash(spki, (word32)spkilen, digest) != 0)
    return PL_ERR_CRYPTO;
  /* Both IDs are public: no need for a constant-time compare. */
  return memcmp(digest, id, PL_SEAL_ID_LEN) == 0 ? 0 : PL_ERR_AUTH;
}

/* A decoded key's public half as canonical SPKI DER, once the key is known to be a valid
 * P-256 key (an off-curve peer point would leak bits of our scalar through ECDH). Returns the
 * length, or PL_ERR_PARSE. */
static int spki_of(ecc_key *key, uint8_t spki[KEY_DER_MAX]) {
  if (wc_ecc_get_curve_id(key->idx) != ECC_SECP256R1 || wc_ecc_check_key(key) != 0)
    return PL_ERR_PARSE;
  int n = wc_EccPublicKeyToDer(key, spki, KEY_DER_MAX, 1 /* with the curve OID: SPKI */);
  return n > 0 ? n : PL_ERR_PARSE;
}

/* Our private key into `key` (initialized), and its ID checked against my_id. */
static int my_key_load(ecc_key *key, const uint8_t *der, size_t derlen,
                       const uint8_t my_id[PL_SEAL_ID_LEN]) {
  uint8_t spki[KEY_DER_MAX];
  word32 idx = 0;
  if (derlen == 0 || derlen > KEY_DER_MAX ||
      wc_EccPrivateKeyDecode(der, &idx, key, (word32)derlen) != 0 || idx != derlen)
    return PL_ERR_PARSE;
  /* The public key is optional in ECPrivateKey; the ID needs it. */
  if (key->type == ECC_PRIVATEKEY_ONLY && wc_ecc_make_pub(key, NULL) != 0)
    return PL_ERR_PARSE;
  int n = spki_of(key, spki);
  return n < 0 ? n : id_matches(spki, (size_t)n, my_id);
}

/* The peer's public key into `key`, checked against peer_id. Only the canonical SPKI encoding
 * is taken, as for IDs: wolfSSL's decoder alone also accepts other structures (an
 * ECPrivateKey). */
static int peer_key_load(ecc_key *key, const uint8_t *der, size_t derlen,
                         const uint8_t peer_id[PL_SEAL_ID_LEN]) {
  uint8_t canonical[KEY_DER_MAX];
  word32 idx = 0;
  if (derlen == 0 || derlen > KEY_DER_MAX ||
      wc_EccPublicKeyDecode(der, &idx, key, (word32)derlen) != 0 || idx != derlen ||
      key->type != ECC_PUBLICKEY)
    return PL_ERR_PARSE;
  int n = spki_of(key, canonical);
  if (n < 0 || (size_t)n != derlen || memcmp(canonical, der, derlen) != 0)
    return PL_ERR_PARSE;
  return id_matches(der, derlen, peer_id);
}

/* Z = x-coordinate of ECDH(my private, peer public). */
static int ecdh(uint8_t z[ECDH_LEN], const uint8_t *my_der, size_t my_len, const uint8_t *peer_der,
                size_t peer_len, const uint8_t my_id[PL_SEAL_ID_LEN],
                const uint8_t peer_id[PL_SEAL_ID_LEN]) {
  ecc_key mine, theirs;
  WC_RNG rng;
  word32 zlen = ECDH_LEN;
  int rv = PL_ERR_CRYPTO;

  if (wc_InitRng(&rng) != 0)
    return PL_ERR_CRYPTO;
  if (wc_ecc_init(&mine) != 0)
    goto fail_mine;
  if (wc_ecc_init(&theirs) != 0)
    goto fail_theirs;
  rv = my_key_load(&mine, my_der, my_len, my_id);
  if (rv == 0)
    rv = peer_key_load(&theirs, peer_der, peer_len, peer_id);
  if (rv != 0)
    goto out;
  /* wolfSSL is built timing-resistant: the scalar multiplication blinds with this RNG. */
  rv = PL_ERR_CRYPTO;
  if (wc_ecc_set_rng(&mine, &rng) == 0 && wc_ecc_shared_secret(&mine, &theirs, z, &zlen) == 0 &&
      zlen == ECDH_LEN)
    rv = 0;
out:
  wc_ecc_free(&theirs);
fail_theirs:
  wc_ecc_free(&mine);
fail_mine:
  wc_FreeRng(&rng);
  return rv;
}

/* key || iv for sender → receiver: HKDF-SHA256(IKM = Z || secret, salt, info = label || sender
 * || receiver). */
static int expand(uint8_t key[PL_SEAL_KEY_LEN], uint8_t iv[PL_SEAL_IV_LEN], const uint8_t *ikm,
                  size_t ikmlen, const uint8_t *salt, size_t saltlen,
                  const uint8_t sender[PL_SEAL_ID_LEN], const uint8_t receiver[PL_SEAL_ID_LEN]) {
  uint8_t info[sizeof info_label - 1 + 2 * PL_SEAL_ID_LEN];
  uint8_t okm[PL_SEAL_KEY_LEN + PL_SEAL_IV_LEN];
  memcpy(info, info_label, sizeof info_label - 1);
  memcpy(info + sizeof info_label - 1, sender, PL_SEAL_ID_LEN);
  memcpy(info + sizeof info_label - 1 + PL_SEAL_ID_LEN, receiver, PL_SEAL_ID_LEN);
  if (wc_HKDF(WC_SHA256, ikm, (word32)ikmlen, salt, (word32)saltlen, info, sizeof info, okm,
              sizeof okm) != 0)
    return PL_ERR_CRYPTO;
  memcpy(key, okm, PL_SEAL_KEY_LEN);
  memcpy(iv, okm + PL_SEAL_KEY_LEN, PL_SEAL_IV_LEN);
  explicit_bzero(okm, sizeof okm);
  return 0;
}

int pl_seal_derive(pl_seal_secrets *out, const uint8_t *my_key_der, size_t my_key_der_len,
                   const uint8_t *peer_spki_der, size_t peer_spki_der_len,
                   const uint8_t my_id[PL_SEAL_ID_LEN], const uint8_t peer_id[PL_SEAL_ID_LEN],
                   const uint8_t pairing_id[PL_SEAL_PAIRING_LEN], const uint8_t *secret,
                   size_t secretlen) {
  uint8_t ikm[ECDH_LEN + PL_SEAL_SECRET_MAX];
  uint8_t salt[sizeof salt_label - 1 + PL_SEAL_PAIRING_LEN + 2 * PL_SEAL_ID_LEN];
  int rv;

  if (out == NULL)
    return PL_ERR_INVALID;
  memset(out, 0, sizeof *out);
  if (my_key_der == NULL || peer_spki_der == NULL || my_id == NULL || peer_id == NULL ||
      pairing_id == NULL || secret == NULL || secretlen < PL_SEAL_SECRET_MIN ||
      secretlen > PL_SEAL_SECRET_MAX)
    return PL_ERR_INVALID;
  /* The two directions are told apart by the IDs; equal IDs would make them one key. */
  int order = memcmp(my_id, peer_id, PL_SEAL_ID_LEN);
  if (order == 0)
    return PL_ERR_INVALID;
  if (wolfCrypt_Init() != 0)
    return PL_ERR_CRYPTO;

  rv = ecdh(ikm, my_key_der, my_key_der_len, peer_spki_der, peer_spki_der_len, my_id, peer_id);
  if (rv != 0)
    goto out;
  memcpy(ikm + ECDH_LEN, secret, secretlen);
  /* Sorted IDs: both sides build the same salt. */
  const uint8_t *lo = order < 0 ? my_id : peer_id, *hi = order < 0 ? peer_id : my_id;
  size_t off = sizeof salt_label - 1;
  memcpy(salt, salt_label, off);
  memcpy(salt + off, pairing_id, PL_SEAL_PAIRING_LEN);
  memcpy(salt + off + PL_SEAL_PAIRING_LEN, lo, PL_SEAL_ID_LEN);
  memcpy(salt + off + PL_SEAL_PAIRING_LEN + PL_SEAL_ID_LEN, hi, PL_SEAL_ID_LEN);
  rv = expand(out->send_key, out->send_iv, ikm, ECDH_LEN + secretlen, salt, sizeof salt, my_id,
              peer_id);
  if (rv == 0)
    rv = expand(out->recv_key, out->recv_iv, ikm, ECDH_LEN + secretlen, salt, sizeof salt, peer_id,
                my_id);
out:
  explicit_bzero(ikm, sizeof ikm);
  if (rv != 0)
    explicit_bzero(out, sizeof *out);
  wolfCrypt_Cleanup();
  return rv;
}

int pl_seal_keys_new(pl_seal_keys **pkeys, const pl_seal_secrets *s) {
  pl_seal_keys *k;
  if (pkeys == NULL || s == NULL)
    return PL_ERR_INVALID;
  k = calloc(1, sizeof *k);
  if (k == NULL)
    return PL_ERR_NOMEM;
  if (wc_AesInit(&k->send, NULL, INVALID_DEVID) != 0)
    goto fail_send;
  if (wc_AesInit(&k->recv, NULL, INVALID_DEVID) != 0)
    goto fail_recv;
  /* Key schedules once here, not per frame. */
  if (wc_AesGcmSetKey(&k->send, s->send_key, PL_SEAL_KEY_LEN) != 0 ||
      wc_AesGcmSetKey(&k->recv, s->recv_key, PL_SEAL_KEY_LEN) != 0)
    goto fail_key;
  memcpy(k->send_iv, s->send_iv, PL_SEAL_IV_LEN);
  memcpy(k->recv_iv, s->recv_iv, PL_SEAL_IV_LEN);
  *pkeys = k;
  return 0;

fail_key:
  wc_AesFree(&k->recv);
fail_recv:
  wc_AesFree(&k->send);
fail_send:
  explicit_bzero(k, sizeof *k);
  free(k);
  return PL_ERR_CRYPTO;
}

int pl_seal_keys_derive(pl_seal_keys **pkeys, const uint8_t *my_key_der, size_t my_key_der_len,
                        const uint8_t *peer_spki_der, size_t peer_spki_der_len,
                        const uint8_t my_id[PL_SEAL_ID_LEN], const uint8_t peer_id[PL_SEAL_ID_LEN],
                        const uint8_t pairing_id[PL_SEAL_PAIRING_LEN], const uint8_t *secret,
                        size_t secretlen) {
  pl_seal_secrets s;
  if (pkeys == NULL)
    return PL_ERR_INVALID;
  int rv = pl_seal_derive(&s, my_key_der, my_key_der_len, peer_spki_der, peer_spki_der_len, my_id,
                          peer_id, pairing_id, secret, secretlen);
  if (rv == 0)
    rv = pl_seal_keys_new(pkeys, &s);
  explicit_bzero(&s, sizeof s);
  return rv;
}

void pl_seal_keys_del(pl_seal_keys *keys) {
  if (keys == NULL)
    return;
  wc_AesFree(&keys->send);
  wc_AesFree(&keys->recv);
  explicit_bzero(keys, sizeof *keys);
  free(keys);
}

static void make_nonce(uint8_t nonce[PL_SEAL_IV_LEN], const uint8_t iv[PL_SEAL_IV_LEN],
                       uint64_t seq) {
  memcpy(nonce, iv, PL_SEAL_IV_LEN);
  for (int i = 0; i < 8; i++)
    nonce[PL_SEAL_IV_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

int pl_seal(pl_seal_keys *keys, uint64_t seq, const uint8_t *aad, size_t aadlen,
            const uint8_t *plain, size_t plainlen, uint8_t *out, size_t cap, size_t *poutlen) {
  uint8_t nonce[PL_SEAL_IV_LEN];
  static const uint8_t empty[1];
  if (keys == NULL || out == NULL || poutlen == NULL || (aad == NULL && aadlen != 0) ||
      (plain == NULL && plainlen != 0))
    return PL_ERR_INVALID;
  if (plainlen > PL_SEAL_MAX_PLAIN || cap < plainlen + PL_SEAL_TAG_LEN || aadlen > UINT32_MAX)
    return PL_ERR_TOO_BIG;
  if (keys->sealed_any && seq <= keys->last_seq)
    return PL_ERR_STATE;
  make_nonce(nonce, keys->send_iv, seq);
  if (wc_AesGcmEncrypt(&keys->send, out, plain ? plain : empty, (word32)plainlen, nonce,
                       sizeof nonce, out + plainlen, PL_SEAL_TAG_LEN, aad ? aad : empty,
                       (word32)aadlen) != 0)
    return PL_ERR_CRYPTO;
  /* Recorded only once the nonce has been used, so a failed call does not burn a number. */
  keys->last_seq = seq;
  keys->sealed_any = 1;
  *poutlen = plainlen + PL_SEAL_TAG_LEN;
  return 0;
}

int pl_open(pl_seal_keys *keys, uint64_t seq, const uint8_t *aad, size_t aadlen, const uint8_t *in,
            size_t inlen, uint8_t *out, size_t cap, size_t *poutlen) {
  uint8_t nonce[PL_SEAL_IV_LEN];
  static const uint8_t empty[1];
  if (keys == NULL || in == NULL || out == NULL || poutlen == NULL || (aad == NULL && aadlen != 0))
    return PL_ERR_INVALID;
  if (inlen < PL_SEAL_TAG_LEN)
    return PL_ERR_AUTH;
  size_t len = inlen - PL_SEAL_TAG_LEN;
  if (len > PL_SEAL_MAX_PLAIN || cap < len || aadlen > UINT32_MAX)
    return PL_ERR_TOO_BIG;
  make_nonce(nonce, keys->recv_iv, seq);
  int r = wc_AesGcmDecrypt(&keys->recv, out, in, (word32)len, nonce, sizeof nonce, in + len,
                           PL_SEAL_TAG_LEN, aad ? aad : empty, (word32)aadlen);
  if (r != 0) {
    /* GCM decrypts as it authenticates: do not leave unauthenticated plaintext behind. */
    if (len > 0)
      memset(out, 0, len);
    return r == AES_GCM_AUTH_E ? PL_ERR_AUTH : PL_ERR_CRYPTO;
  }
  *poutlen = len;
  return 0;
}
