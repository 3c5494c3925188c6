#ifndef PEERLINK_TESTS_BENCH_SYNTH_AGENT_H
#define PEERLINK_TESTS_BENCH_SYNTH_AGENT_H

/* Synthetic agents for load generation: a real P-256 key pair made in memory (the rendezvous
 * checks that an ID is SHA-256(public key)[0:16] and that the agent signs its Challenge) and the
 * Register stream's two Hellos. No certificate and no files: the rendezvous only checks the
 * fingerprint's format, and a thousand state directories would measure the disk rather than
 * the rendezvous. */

#include <stddef.h>
#include <stdint.h>

#include "agent/identity/identity.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/rendezvous.pb-c.h"

typedef struct pl_bench_identity {
  char id[PL_IDENTITY_ID_LEN + 1];
  uint8_t spki[128]; /* SubjectPublicKeyInfo DER; 91 bytes for P-256 */
  size_t spki_len;
  uint8_t key[192]; /* SEC1 ECPrivateKey DER, as pl_identity_sign wants it */
  size_t key_len;
  char fingerprint[65]; /* SHA-256 of the SPKI: a stand-in with the right format */
} pl_bench_identity;

/* Takes a wolfCrypt reference for the rest of the process. Without one, every pl_identity_*
 * call ends with the last wolfCrypt_Cleanup, which frees wolfSSL's fixed-point ECC tables
 * (FP_ECC), and the next call rebuilds them: measured here, that makes a signature ~4x and a
 * verification ~30x slower. Call once at start. Returns 0 or PL_ERR_CRYPTO. */
int pl_bench_crypto_init(void);

/* Fills ids[0..n). Returns 0 or PL_ERR_CRYPTO. */
int pl_bench_identity_make(pl_bench_identity *ids, size_t n);

/* One synthetic agent's Register stream. */
typedef struct pl_bench_agent {
  const pl_bench_identity *ident;
  char name[32];
  uint16_t port;       /* its one loopback host candidate, so AgentInfo has a real agent's size */
  const char *network; /* Hello.network (NULL: none) */
  pl_rpc_client_call *call;
} pl_bench_agent;

/* The packed RegisterRequest{hello} of `ag` (ag->call unused): unsigned when nonce is NULL,
 * else signed over it. *pdata is the caller's to free(). Returns 0, PL_ERR_TOO_BIG (nonce too
 * long), PL_ERR_CRYPTO, PL_ERR_NOMEM. */
int pl_bench_hello_pack(const pl_bench_agent *ag, const uint8_t *nonce, size_t noncelen,
                        uint8_t **pdata, size_t *plen);

/* Starts the Register stream on `channel` and queues the unsigned Hello; the rendezvous answers
 * with a Challenge, to be passed to pl_bench_agent_answer. Callbacks as
 * pl_rpc_client_call_start's. When the call started (ag->call set) on_status always follows,
 * even if this returns an error. Returns 0, PL_ERR_NOMEM, PL_ERR_CLOSED. */
int pl_bench_agent_start(pl_bench_agent *ag, pl_rpc_channel *channel,
                         const pl_rpc_client_callbacks *cb, void *arg);

/* Queues the Hello signed over the Challenge's nonce.
 * Returns 0, PL_ERR_TOO_BIG (nonce too long), PL_ERR_CRYPTO, PL_ERR_NOMEM, PL_ERR_CLOSED. */
int pl_bench_agent_answer(pl_bench_agent *ag, const Peerlink__V1__Challenge *challenge);

#endif
