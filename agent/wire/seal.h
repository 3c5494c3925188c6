#ifndef PEERLINK_WIRE_SEAL_H
#define PEERLINK_WIRE_SEAL_H

/* End-to-end keys and AEAD for what the two agents of a pairing say to each other (DATA and
 * what is built on it). I/O-free. The construction is specified, with a known-answer vector, in
 * docs/protocol.md ("End-to-end keys and AEAD"); this header is the contract.
 *
 * Keys: ECDH of the two agents' long-term P-256 keys, mixed with the pairing secret through
 * HKDF-SHA256; the salt binds the pairing ID and both agent IDs (sorted), the info the direction,
 * so each direction has its own key and IV. The rendezvous, which made the secret and knows both
 * public keys, lacks the ECDH output and can neither read nor forge.
 *
 * AEAD: AES-256-GCM (AES-NI) with a 16-byte tag. Nonce = IV XOR (4 zero bytes || seq as 8 bytes
 * big-endian), seq being the frame's 64-bit sequence number; pl_seal refuses a sequence number
 * that is not above the last one it sealed, so a nonce is never used twice under one key.
 * Replay protection stays with the caller (pl_replay_check after pl_open succeeds). */

#include <stddef.h>
#include <stdint.h>

#define PL_SEAL_ID_LEN 16     /* an agent ID as bytes (the frame's sender field) */
#define PL_SEAL_PAIRING_LEN 8 /* the pairing ID as bytes (the frame's pairing field) */
#define PL_SEAL_KEY_LEN 32    /* AES-256 */
#define PL_SEAL_IV_LEN 12     /* GCM nonce length */
#define PL_SEAL_TAG_LEN 16    /* appended to the ciphertext */
#define PL_SEAL_MAX_PLAIN 65535
#define PL_SEAL_SECRET_MIN 16 /* pairing secret bounds, in bytes */
#define PL_SEAL_SECRET_MAX 64

/* The derived key material of one side. Wipe it (explicit_bzero) once it has been used. */
typedef struct pl_seal_secrets {
  uint8_t send_key[PL_SEAL_KEY_LEN]; /* me → peer */
  uint8_t send_iv[PL_SEAL_IV_LEN];
  uint8_t recv_key[PL_SEAL_KEY_LEN]; /* peer → me */
  uint8_t recv_iv[PL_SEAL_IV_LEN];
} pl_seal_secrets;

/* An AEAD context for both directions (key schedules ready, last sealed sequence number). */
typedef struct pl_seal_keys pl_seal_keys;

/* Derives one side's secrets. my_key_der: our SEC1 ECPrivateKey DER (pl_identity's
 * private_key_der); peer_spki_der: the peer's SubjectPublicKeyInfo DER (from the offer). Each ID
 * must be the first 16 bytes of SHA-256 of that agent's SubjectPublicKeyInfo, as pl_identity
 * makes it: so the peer's ID (which the caller has checked is the peer it wanted) vouches for
 * the public key, and a mix-up of keys and IDs fails here instead of producing keys nobody
 * shares. Returns 0,
 *   PL_ERR_INVALID  a NULL argument, my_id equal to peer_id, or secretlen outside
 *                   PL_SEAL_SECRET_MIN..PL_SEAL_SECRET_MAX,
 *   PL_ERR_PARSE    a key that is not a valid P-256 key (or has trailing bytes),
 *   PL_ERR_AUTH     an ID that does not match its key,
 *   PL_ERR_CRYPTO   a wolfCrypt call failed.
 * On failure *out is zeroed. */
int pl_seal_derive(pl_seal_secrets *out, const uint8_t *my_key_der, size_t my_key_der_len,
                   const uint8_t *peer_spki_der, size_t peer_spki_der_len,
                   const uint8_t my_id[PL_SEAL_ID_LEN], const uint8_t peer_id[PL_SEAL_ID_LEN],
                   const uint8_t pairing_id[PL_SEAL_PAIRING_LEN], const uint8_t *secret,
                   size_t secretlen);

/* A context from secrets (copied; the caller may wipe its copy). Returns 0, PL_ERR_INVALID,
 * PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_seal_keys_new(pl_seal_keys **pkeys, const pl_seal_secrets *secrets);

/* pl_seal_derive then pl_seal_keys_new, wiping the intermediate secrets. Same codes as both. */
int pl_seal_keys_derive(pl_seal_keys **pkeys, const uint8_t *my_key_der, size_t my_key_der_len,
                        const uint8_t *peer_spki_der, size_t peer_spki_der_len,
                        const uint8_t my_id[PL_SEAL_ID_LEN], const uint8_t peer_id[PL_SEAL_ID_LEN],
                        const uint8_t pairing_id[PL_SEAL_PAIRING_LEN], const uint8_t *secret,
                        size_t secretlen);

/* Wipes and frees. NULL is fine. */
void pl_seal_keys_del(pl_seal_keys *keys);

/* Encrypts `plain` under the send key for sequence number `seq`, authenticating `aad` too (the
 * frame header), into out: ciphertext (plainlen bytes) then the tag; *poutlen = plainlen +
 * PL_SEAL_TAG_LEN. out may be plain itself (in place); other overlaps are not allowed.
 * Returns 0,
 *   PL_ERR_INVALID  a NULL argument (plain and aad may be NULL when their length is 0),
 *   PL_ERR_TOO_BIG  plainlen over PL_SEAL_MAX_PLAIN, or cap below plainlen + PL_SEAL_TAG_LEN,
 *   PL_ERR_STATE    seq not above the last sequence number sealed with these keys (the nonce
 *                   would repeat); nothing is written,
 *   PL_ERR_CRYPTO. */
int pl_seal(pl_seal_keys *keys, uint64_t seq, const uint8_t *aad, size_t aadlen,
            const uint8_t *plain, size_t plainlen, uint8_t *out, size_t cap, size_t *poutlen);

/* Checks and decrypts what the peer sealed for `seq` with `aad`: in = ciphertext || tag;
 * *poutlen = inlen - PL_SEAL_TAG_LEN. out may be in itself. When the check fails, the bytes
 * of out it would have filled are zeroed: no unauthenticated plaintext is left there. The
 * caller then runs its replay check (pl_replay_check) on seq. Returns 0,
 *   PL_ERR_INVALID  a NULL argument,
 *   PL_ERR_AUTH     shorter than a tag, or any byte of aad, ciphertext or tag changed, a
 *                   different seq, or sealed under another key (our own send key included: a
 *                   reflected frame does not open),
 *   PL_ERR_TOO_BIG  more than PL_SEAL_MAX_PLAIN + PL_SEAL_TAG_LEN bytes, or cap too small,
 *   PL_ERR_CRYPTO. */
int pl_open(pl_seal_keys *keys, uint64_t seq, const uint8_t *aad, size_t aadlen, const uint8_t *in,
            size_t inlen, uint8_t *out, size_t cap, size_t *poutlen);

#endif
