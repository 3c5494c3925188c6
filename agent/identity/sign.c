/* Signatures with the identity key: proof of possession for the rendezvous (a signed challenge
 * in the Register stream). ECDSA P-256 over SHA-256, DER-encoded signatures, as X.509 and TLS
 * use them, so any crypto library can check ours. */
#include <string.h>

/* options.h first: it carries the configure choices the library was built with. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include "agent/identity/identity.h"
#include "control/common/err.h"

/* Generous bounds for P-256 DER: ECPrivateKey ~121 bytes, SPKI 91. */
#define KEY_DER_MAX 256

int pl_identity_sign(const pl_identity *ident, const uint8_t *msg, size_t len, uint8_t *sig,
                     size_t *psiglen) {
  uint8_t digest[WC_SHA256_DIGEST_SIZE];
  WC_RNG rng;
  ecc_key key;
  word32 idx = 0, siglen;
  int rv = PL_ERR_CRYPTO;

  if (ident == NULL || ident->private_key_der == NULL || (msg == NULL && len > 0) || sig == NULL ||
      psiglen == NULL) {
    return PL_ERR_INVALID;
  }
  if (*psiglen < PL_IDENTITY_SIG_MAX) {
    return PL_ERR_TOO_BIG;
  }
  if (ident->private_key_der_len == 0 || ident->private_key_der_len > KEY_DER_MAX) {
    return PL_ERR_PARSE;
  }
  /* Reference counted: harmless when the program has already initialized wolfSSL. */
  if (wolfCrypt_Init() != 0) {
    return PL_ERR_CRYPTO;
  }
  if (wc_Sha256Hash(msg, (word32)len, digest) != 0) {
    goto fail_rng;
  }
  if (wc_InitRng(&rng) != 0) {
    goto fail_rng;
  }
  if (wc_ecc_init(&key) != 0) {
    goto fail_key;
  }
  if (wc_EccPrivateKeyDecode(ident->private_key_der, &idx, &key,
                             (word32)ident->private_key_der_len) != 0 ||
      idx != ident->private_key_der_len || wc_ecc_get_curve_id(key.idx) != ECC_SECP256R1) {
    rv = PL_ERR_PARSE;
    goto fail_decode;
  }
  siglen = (word32)*psiglen;
  if (wc_ecc_sign_hash(digest, sizeof digest, sig, &siglen, &rng, &key) != 0) {
    goto fail_decode;
  }
  *psiglen = siglen;
  rv = 0;
fail_decode:
  wc_ecc_free(&key);
fail_key:
  wc_FreeRng(&rng);
fail_rng:
  wolfCrypt_Cleanup();
  return rv;
}

int pl_identity_verify(const uint8_t *spki_der, size_t spki_len, const uint8_t *msg, size_t len,
                       const uint8_t *sig, size_t siglen) {
  uint8_t digest[WC_SHA256_DIGEST_SIZE];
  ecc_key key;
  word32 idx = 0;
  int rv = PL_ERR_PARSE, res = 0;

  if (spki_der == NULL || (msg == NULL && len > 0) || (sig == NULL && siglen > 0)) {
    return PL_ERR_INVALID;
  }
  if (spki_len == 0 || spki_len > KEY_DER_MAX) {
    return PL_ERR_PARSE;
  }
  /* A DER ECDSA P-256 signature is at most 72 bytes; anything else cannot verify. */
  if (siglen == 0 || siglen > PL_IDENTITY_SIG_MAX) {
    return PL_ERR_AUTH;
  }
  if (wolfCrypt_Init() != 0) {
    return PL_ERR_CRYPTO;
  }
  if (wc_ecc_init(&key) != 0) {
    rv = PL_ERR_CRYPTO;
    goto fail_key;
  }
  /* On-curve is enough for P-256 (cofactor 1; identity_crypto.c says why it is not
   * wc_ecc_check_key). */
  if (wc_EccPublicKeyDecode(spki_der, &idx, &key, (word32)spki_len) != 0 || idx != spki_len ||
      wc_ecc_get_curve_id(key.idx) != ECC_SECP256R1 ||
      wc_ecc_point_is_on_curve(&key.pubkey, key.idx) != 0) {
    goto out;
  }
  if (wc_Sha256Hash(msg, (word32)len, digest) != 0) {
    rv = PL_ERR_CRYPTO;
    goto out;
  }
  /* A malformed signature fails the same way as a wrong one: neither proves anything. */
  rv = wc_ecc_verify_hash(sig, (word32)siglen, digest, sizeof digest, &res, &key) == 0 && res == 1
           ? 0
           : PL_ERR_AUTH;
out:
  wc_ecc_free(&key);
fail_key:
  wolfCrypt_Cleanup();
  return rv;
}

#define REGISTER_CONTEXT_LEN (sizeof PL_IDENTITY_REGISTER_CONTEXT - 1)
#define REGISTER_MSG_MAX                                                                           \
  (REGISTER_CONTEXT_LEN + PL_IDENTITY_REGISTER_NONCE_MAX + PL_IDENTITY_ID_LEN)

/* context || nonce || id into buf[REGISTER_MSG_MAX]. Returns the length, or a negative
 * PL_ERR_INVALID / PL_ERR_TOO_BIG. */
static int register_message(uint8_t *buf, const uint8_t *nonce, size_t noncelen, const char *id) {
  if (nonce == NULL || noncelen == 0 || id == NULL || strlen(id) != PL_IDENTITY_ID_LEN)
    return PL_ERR_INVALID;
  if (noncelen > PL_IDENTITY_REGISTER_NONCE_MAX)
    return PL_ERR_TOO_BIG;
  memcpy(buf, PL_IDENTITY_REGISTER_CONTEXT, REGISTER_CONTEXT_LEN);
  memcpy(buf + REGISTER_CONTEXT_LEN, nonce, noncelen);
  memcpy(buf + REGISTER_CONTEXT_LEN + noncelen, id, PL_IDENTITY_ID_LEN);
  return (int)(REGISTER_CONTEXT_LEN + noncelen + PL_IDENTITY_ID_LEN);
}

int pl_identity_sign_register(const pl_identity *ident, const uint8_t *nonce, size_t noncelen,
                              uint8_t *sig, size_t *psiglen) {
  uint8_t msg[REGISTER_MSG_MAX];
  if (ident == NULL)
    return PL_ERR_INVALID;
  int n = register_message(msg, nonce, noncelen, ident->id);
  if (n < 0)
    return n;
  return pl_identity_sign(ident, msg, (size_t)n, sig, psiglen);
}

int pl_identity_verify_register(const uint8_t *spki_der, size_t spki_len, const uint8_t *nonce,
                                size_t noncelen, const char *id, const uint8_t *sig,
                                size_t siglen) {
  uint8_t msg[REGISTER_MSG_MAX];
  int n = register_message(msg, nonce, noncelen, id);
  if (n < 0)
    return n;
  return pl_identity_verify(spki_der, spki_len, msg, (size_t)n, sig, siglen);
}
