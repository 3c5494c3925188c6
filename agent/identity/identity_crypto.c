#include "agent/identity/identity_crypto.h"

#include <stdlib.h>
#include <string.h>

/* options.h first: it carries the configure choices the library was built with. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include "agent/identity/identity.h"
#include "control/common/err.h"
#include "control/common/hex.h"

#define KEY_BITS_BYTES 32 /* P-256 */
#define CERT_DAYS_VALID (10 * 365 + 3)
/* Generous upper bounds for P-256 DER: ECPrivateKey ~121 bytes, SPKI 91, certificate ~400. */
#define KEY_DER_MAX 256
#define CERT_DER_MAX 2048

static int dup_bytes(uint8_t **pout, size_t *poutlen, const uint8_t *data, size_t datalen) {
  uint8_t *p = malloc(datalen);
  if (p == NULL) {
    return PL_ERR_NOMEM;
  }
  memcpy(p, data, datalen);
  *pout = p;
  *poutlen = datalen;
  return 0;
}

/* Decodes a SEC1 P-256 private key into an initialized `key`, rejecting trailing bytes and keys
 * whose public part does not belong to the private scalar. */
static int key_decode(ecc_key *key, const uint8_t *der, size_t derlen) {
  word32 idx = 0;
  if (derlen == 0 || derlen > KEY_DER_MAX) {
    return PL_ERR_PARSE;
  }
  if (wc_EccPrivateKeyDecode(der, &idx, key, (word32)derlen) != 0 || idx != derlen) {
    return PL_ERR_PARSE;
  }
  if (wc_ecc_get_curve_id(key->idx) != ECC_SECP256R1) {
    return PL_ERR_PARSE;
  }
  /* The public key is optional in ECPrivateKey; certificates and the ID need it. */
  if (key->type == ECC_PRIVATEKEY_ONLY && wc_ecc_make_pub(key, NULL) != 0) {
    return PL_ERR_PARSE;
  }
  if (wc_ecc_check_key(key) != 0) {
    return PL_ERR_PARSE;
  }
  return 0;
}

int pl_identity__crypto_init(void) {
  return wolfCrypt_Init() == 0 ? 0 : PL_ERR_CRYPTO;
}

void pl_identity__crypto_cleanup(void) {
  wolfCrypt_Cleanup();
}

int pl_identity__key_generate(uint8_t **pder, size_t *pderlen) {
  WC_RNG rng;
  ecc_key key;
  uint8_t buf[KEY_DER_MAX];
  int rv = PL_ERR_CRYPTO, n;

  if (wc_InitRng(&rng) != 0) {
    return PL_ERR_CRYPTO;
  }
  if (wc_ecc_init(&key) != 0) {
    goto fail_key;
  }
  if (wc_ecc_make_key_ex(&rng, KEY_BITS_BYTES, &key, ECC_SECP256R1) != 0) {
    goto fail_make;
  }
  n = wc_EccKeyToDer(&key, buf, sizeof(buf));
  if (n <= 0) {
    goto fail_make;
  }
  rv = dup_bytes(pder, pderlen, buf, (size_t)n);
  explicit_bzero(buf, sizeof(buf));

fail_make:
  wc_ecc_free(&key);
fail_key:
  wc_FreeRng(&rng);
  return rv;
}

int pl_identity__key_public(const uint8_t *key, size_t keylen, uint8_t **pspki, size_t *pspkilen) {
  ecc_key k;
  uint8_t buf[KEY_DER_MAX];
  int rv, n;

  if (wc_ecc_init(&k) != 0) {
    return PL_ERR_CRYPTO;
  }
  rv = key_decode(&k, key, keylen);
  if (rv != 0) {
    goto out;
  }
  n = wc_EccPublicKeyToDer(&k, buf, sizeof(buf), 1 /* with the curve OID: SPKI */);
  if (n <= 0) {
    rv = PL_ERR_CRYPTO;
    goto out;
  }
  rv = dup_bytes(pspki, pspkilen, buf, (size_t)n);
out:
  wc_ecc_free(&k);
  return rv;
}

int pl_identity__cert_make(const uint8_t *key, size_t keylen, const char *cn, uint8_t **pcert,
                           size_t *pcertlen) {
  WC_RNG rng;
  ecc_key k;
  Cert cert;
  uint8_t *buf;
  int rv, n;

  if (strlen(cn) >= sizeof(cert.subject.commonName)) {
    return PL_ERR_INVALID;
  }
  buf = malloc(CERT_DER_MAX);
  if (buf == NULL) {
    return PL_ERR_NOMEM;
  }
  rv = PL_ERR_CRYPTO;
  if (wc_InitRng(&rng) != 0) {
    goto fail_rng;
  }
  if (wc_ecc_init(&k) != 0) {
    goto fail_key;
  }
  rv = key_decode(&k, key, keylen);
  if (rv != 0) {
    goto fail_decode;
  }
  rv = PL_ERR_CRYPTO;
  /* wc_InitCert makes it self-signed (issuer = subject) with a random serial number. */
  if (wc_InitCert(&cert) != 0) {
    goto fail_decode;
  }
  memcpy(cert.subject.commonName, cn, strlen(cn) + 1);
  cert.subject.commonNameEnc = CTC_UTF8;
  cert.daysValid = CERT_DAYS_VALID;
  cert.sigType = CTC_SHA256wECDSA;
  cert.isCA = 0;
  if (wc_MakeCert_ex(&cert, buf, CERT_DER_MAX, ECC_TYPE, &k, &rng) < 0) {
    goto fail_decode;
  }
  n = wc_SignCert_ex(cert.bodySz, cert.sigType, buf, CERT_DER_MAX, ECC_TYPE, &k, &rng);
  if (n <= 0) {
    goto fail_decode;
  }
  rv = dup_bytes(pcert, pcertlen, buf, (size_t)n);

fail_decode:
  wc_ecc_free(&k);
fail_key:
  wc_FreeRng(&rng);
fail_rng:
  free(buf);
  return rv;
}

/* True when `der` is exactly one DER SEQUENCE: wolfSSL's parser would accept trailing bytes, and
 * those would change the fingerprint without changing the certificate. */
static int der_is_one_sequence(const uint8_t *der, size_t derlen) {
  size_t len, hdr, i, nlen;
  if (derlen < 2 || der[0] != 0x30) {
    return 0;
  }
  if (der[1] < 0x80) {
    len = der[1];
    hdr = 2;
  } else {
    nlen = der[1] & 0x7f;
    if (nlen == 0 || nlen > 3 || derlen < 2 + nlen) {
      return 0;
    }
    len = 0;
    for (i = 0; i < nlen; i++) {
      len = (len << 8) | der[2 + i];
    }
    hdr = 2 + nlen;
  }
  return hdr + len == derlen;
}

int pl_identity__cert_check(const uint8_t *cert, size_t certlen, const uint8_t *spki,
                            size_t spkilen, const char *cn) {
  DecodedCert dc;
  uint8_t pub[KEY_DER_MAX];
  word32 publen = sizeof(pub);
  int rv = PL_ERR_PARSE;

  if (certlen > CERT_DER_MAX || !der_is_one_sequence(cert, certlen)) {
    return PL_ERR_PARSE;
  }
  wc_InitDecodedCert(&dc, cert, (word32)certlen, NULL);
  if (wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL) != 0) {
    goto out;
  }
  if (wc_GetPubKeyDerFromCert(&dc, pub, &publen) != 0 || publen != spkilen ||
      memcmp(pub, spki, spkilen) != 0) {
    goto out;
  }
  if (dc.subjectCN == NULL || dc.subjectCNLen < 0 || (size_t)dc.subjectCNLen != strlen(cn) ||
      memcmp(dc.subjectCN, cn, strlen(cn)) != 0) {
    goto out;
  }
  /* A broken signature would only show up as a failed handshake on the peer's side. */
  if (wc_CheckCertSigPubKey(cert, (word32)certlen, NULL, spki, (word32)spkilen, ECDSAk) != 0) {
    goto out;
  }
  rv = 0;
out:
  wc_FreeDecodedCert(&dc);
  return rv;
}

int pl_identity__sha256_hex(char *out, size_t outlen, const uint8_t *data, size_t datalen) {
  uint8_t digest[WC_SHA256_DIGEST_SIZE];

  if (outlen / 2 > sizeof digest || wc_Sha256Hash(data, (word32)datalen, digest) != 0) {
    return PL_ERR_CRYPTO;
  }
  /* outlen hex characters: the first outlen/2 bytes of the digest (an ID is a prefix). */
  pl_hex_encode(out, digest, outlen / 2);
  return 0;
}

int pl_identity_id_from_public_key(char out[PL_IDENTITY_ID_LEN + 1], const uint8_t *der,
                                   size_t derlen) {
  ecc_key k;
  uint8_t canon[KEY_DER_MAX];
  word32 idx = 0;
  int rv = PL_ERR_PARSE, n;

  if (out == NULL || der == NULL) {
    return PL_ERR_INVALID;
  }
  if (derlen == 0 || derlen > KEY_DER_MAX) {
    return PL_ERR_PARSE;
  }
  /* Reference counted: harmless when the program has already initialized wolfSSL. */
  if (wolfCrypt_Init() != 0) {
    return PL_ERR_CRYPTO;
  }
  if (wc_ecc_init(&k) != 0) {
    wolfCrypt_Cleanup();
    return PL_ERR_CRYPTO;
  }
  /* On the curve with coordinates below p is the whole check for P-256: its cofactor is 1, so
   * every such point has the group's prime order. wc_ecc_check_key also multiplies the point by
   * the order, a full scalar multiplication per key (1.4 ms, and with FP_ECC a second use of a
   * fresh point builds a lookup table for it): the rendezvous runs this per registration. */
  if (wc_EccPublicKeyDecode(der, &idx, &k, (word32)derlen) != 0 || idx != derlen ||
      wc_ecc_get_curve_id(k.idx) != ECC_SECP256R1 ||
      wc_ecc_point_is_on_curve(&k.pubkey, k.idx) != 0) {
    goto out;
  }
  /* One key, one ID: a compressed point or other re-encoding of the same key is refused. */
  n = wc_EccPublicKeyToDer(&k, canon, sizeof(canon), 1);
  if (n <= 0 || (size_t)n != derlen || memcmp(canon, der, derlen) != 0) {
    goto out;
  }
  rv = pl_identity__sha256_hex(out, PL_IDENTITY_ID_LEN, der, derlen);
out:
  wc_ecc_free(&k);
  wolfCrypt_Cleanup();
  return rv;
}
