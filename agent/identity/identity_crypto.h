#ifndef PEERLINK_AGENT_IDENTITY_CRYPTO_H
#define PEERLINK_AGENT_IDENTITY_CRYPTO_H

/* wolfSSL side of agent/identity: key and certificate generation and checks. Internal to the
 * module (pl_identity__ names); no file I/O here. */

#include <stddef.h>
#include <stdint.h>

/* wolfCrypt_Init / wolfCrypt_Cleanup, which are reference counted, so the module works whether
 * or not the program has initialized wolfSSL itself. Returns 0, PL_ERR_CRYPTO. */
int pl_identity__crypto_init(void);
void pl_identity__crypto_cleanup(void);

/* A new P-256 private key as SEC1 ECPrivateKey DER (with its public key) in *pder, malloc'd.
 * Returns 0, PL_ERR_CRYPTO, PL_ERR_NOMEM. */
int pl_identity__key_generate(uint8_t **pder, size_t *pderlen);

/* The SubjectPublicKeyInfo DER of a SEC1 P-256 private key, malloc'd.
 * Returns 0, PL_ERR_PARSE (not a valid P-256 private key), PL_ERR_CRYPTO, PL_ERR_NOMEM. */
int pl_identity__key_public(const uint8_t *key, size_t keylen, uint8_t **pspki, size_t *pspkilen);

/* A self-signed certificate (CN = cn, SHA-256 with ECDSA, valid 10 years) for the key, malloc'd.
 * Returns 0, PL_ERR_INVALID (cn too long), PL_ERR_PARSE (bad key), PL_ERR_CRYPTO, PL_ERR_NOMEM. */
int pl_identity__cert_make(const uint8_t *key, size_t keylen, const char *cn, uint8_t **pcert,
                           size_t *pcertlen);

/* Checks that `cert` is one DER certificate for public key `spki`, with CN = `cn` and a valid
 * self-signature. Returns 0, PL_ERR_PARSE. */
int pl_identity__cert_check(const uint8_t *cert, size_t certlen, const uint8_t *spki,
                            size_t spkilen, const char *cn);

/* Lowercase hex of the first outlen/2 bytes of SHA-256(data) into out[outlen + 1].
 * outlen is even and at most 64. Returns 0, PL_ERR_CRYPTO. */
int pl_identity__sha256_hex(char *out, size_t outlen, const uint8_t *data, size_t datalen);

#endif
