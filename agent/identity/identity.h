#ifndef PEERLINK_AGENT_IDENTITY_H
#define PEERLINK_AGENT_IDENTITY_H

/* An agent's long-term identity: an ECDSA P-256 key pair, a self-signed certificate for the
 * QUIC (TLS 1.3) handshake, and the agent ID derived from the public key, so an ID proves
 * itself.
 *
 * Why ECDSA P-256 and not Ed25519: ecdsa_secp256r1_sha256 is the signature scheme every TLS 1.3
 * stack must implement (RFC 8446, 9.1), so any QUIC peer (and Debian's gtlsclient/gtlsserver,
 * which the benchmarks use) accepts our certificate; wolfSSL's QUIC path is most exercised with
 * it, and --enable-intelasm gives it a fast assembly implementation. */

#include <stddef.h>
#include <stdint.h>

#define PL_IDENTITY_ID_LEN 32 /* hex characters, without the NUL */

typedef struct pl_identity {
  /* Lowercase hex of the first 16 bytes of SHA-256(public_key_der). */
  char id[PL_IDENTITY_ID_LEN + 1];
  /* SubjectPublicKeyInfo DER. */
  uint8_t *public_key_der;
  size_t public_key_der_len;
  /* Self-signed X.509 certificate, CN = id, valid 10 years. */
  uint8_t *cert_der;
  size_t cert_der_len;
  /* Lowercase hex of SHA-256(cert_der): what a peer pins. */
  char cert_fingerprint[65];
  /* The private key as stored: SEC1 ECPrivateKey DER as we write it (a PKCS#8 key put there by
   * hand also loads). For wolfSSL_CTX_use_PrivateKey_buffer(..., WOLFSSL_FILETYPE_ASN1). */
  uint8_t *private_key_der;
  size_t private_key_der_len;
} pl_identity;

/* Loads the identity from `state_dir` (key.der, cert.der). On first start it creates the
 * directory (0700, with missing parents), a new key pair and a self-signed certificate, and
 * writes them atomically (temporary file, fsync, then link into place; key.der is 0600). An
 * existing file is never replaced: if key.der exists but cert.der does not, a new certificate is
 * made for the same key (the ID does not change); if cert.der exists without key.der, that is
 * PL_ERR_PARSE, since the identity it belonged to is lost.
 * Blocking file I/O: call it at start, before the event loop runs.
 * On success `ident` holds allocated buffers: release them with pl_identity_free.
 * Returns 0,
 *   PL_ERR_INVALID  a NULL or empty argument,
 *   PL_ERR_IO       a system call failed (errno says which),
 *   PL_ERR_PARSE    a file exists but is corrupt or does not match the other (left untouched),
 *   PL_ERR_CRYPTO   key or certificate generation failed,
 *   PL_ERR_NOMEM. */
int pl_identity_load_or_create(pl_identity *ident, const char *state_dir);

/* Frees the buffers (wiping the private key) and zeroes `ident`. NULL is fine; so is calling it
 * on an identity that failed to load or was already freed. */
void pl_identity_free(pl_identity *ident);

/* Computes the agent ID of a SubjectPublicKeyInfo DER, e.g. to check the ID an agent claims in
 * its Hello. Only the canonical encoding of a P-256 key is accepted, so one key has exactly one
 * ID. Returns 0, PL_ERR_INVALID (NULL argument), PL_ERR_PARSE (not a canonical P-256
 * SubjectPublicKeyInfo), PL_ERR_CRYPTO. */
int pl_identity_id_from_public_key(char out[PL_IDENTITY_ID_LEN + 1], const uint8_t *der,
                                   size_t derlen);

/* ---- Signatures (sign.c): proof that an agent holds the key behind its ID ---------------- */

/* Capacity a signature buffer needs: a DER ECDSA P-256 signature is at most 72 bytes. */
#define PL_IDENTITY_SIG_MAX 80

/* What an agent signs to register (rendezvous.proto, Hello.signature):
 * PL_IDENTITY_REGISTER_CONTEXT || challenge nonce || the agent ID as 32 ASCII hex characters.
 * pl_identity_sign_register and pl_identity_verify_register are the only places that lay these
 * bytes out, so the agent, the rendezvous and test clients cannot disagree. */
#define PL_IDENTITY_REGISTER_CONTEXT "peerlink-register-v1"
/* The longest challenge nonce either side accepts (the rendezvous sends 32 bytes). */
#define PL_IDENTITY_REGISTER_NONCE_MAX 64

/* Signs `msg` with the identity's private key: ECDSA P-256 over SHA-256, DER signature.
 * *psiglen is the capacity of `sig` on entry (at least PL_IDENTITY_SIG_MAX) and the signature's
 * length on return. Returns 0, PL_ERR_INVALID (NULL argument), PL_ERR_TOO_BIG (capacity below
 * PL_IDENTITY_SIG_MAX), PL_ERR_PARSE (the private key does not decode as P-256),
 * PL_ERR_CRYPTO. */
int pl_identity_sign(const pl_identity *ident, const uint8_t *msg, size_t len, uint8_t *sig,
                     size_t *psiglen);

/* Checks a signature made by pl_identity_sign against a SubjectPublicKeyInfo DER. Returns 0 when
 * it verifies, PL_ERR_AUTH (wrong or malformed signature), PL_ERR_PARSE (not a P-256
 * SubjectPublicKeyInfo), PL_ERR_INVALID (NULL argument), PL_ERR_CRYPTO. */
int pl_identity_verify(const uint8_t *spki_der, size_t spki_len, const uint8_t *msg, size_t len,
                       const uint8_t *sig, size_t siglen);

/* Signs the registration proof for `nonce` as the identity's ID (ident->id; only it and the
 * private key are used). `sig`/`psiglen` as for pl_identity_sign. Returns 0, PL_ERR_INVALID
 * (NULL argument, empty nonce, ID not 32 characters), PL_ERR_TOO_BIG (nonce longer than
 * PL_IDENTITY_REGISTER_NONCE_MAX, or signature capacity too small), PL_ERR_PARSE,
 * PL_ERR_CRYPTO. */
int pl_identity_sign_register(const pl_identity *ident, const uint8_t *nonce, size_t noncelen,
                              uint8_t *sig, size_t *psiglen);

/* Checks a registration proof: `sig` over `nonce` and `id` (32 hex characters) under the
 * SubjectPublicKeyInfo `spki_der`. Returns 0 when it verifies, PL_ERR_AUTH (wrong or malformed
 * signature), PL_ERR_INVALID (NULL argument, empty nonce, ID not 32 characters),
 * PL_ERR_TOO_BIG (nonce longer than PL_IDENTITY_REGISTER_NONCE_MAX), PL_ERR_PARSE (not a P-256
 * SubjectPublicKeyInfo), PL_ERR_CRYPTO. */
int pl_identity_verify_register(const uint8_t *spki_der, size_t spki_len, const uint8_t *nonce,
                                size_t noncelen, const char *id, const uint8_t *sig, size_t siglen);

#endif
