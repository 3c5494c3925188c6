#ifndef PEERLINK_TESTS_BENCH_SYNTH_AGENT_H
#define PEERLINK_TESTS_BENCH_SYNTH_AGENT_H

/* Synthetic agents for load generation: a real P-256 key made in memory (the rendezvous checks
 * that an ID is SHA-256(public key)[0:16]) and the Register stream's Hello. No certificate and
 * no files: the rendezvous only checks the fingerprint's format, and a thousand state
 * directories would measure the disk rather than the rendezvous. */

#include <stddef.h>
#include <stdint.h>

#include "agent/identity/identity.h"
#include "control/rpc/rpc.h"

typedef struct pl_bench_identity {
  char id[PL_IDENTITY_ID_LEN + 1];
  uint8_t spki[128]; /* SubjectPublicKeyInfo DER; 91 bytes for P-256 */
  size_t spki_len;
  char fingerprint[65]; /* SHA-256 of the SPKI: a stand-in with the right format */
} pl_bench_identity;

/* Fills ids[0..n). Returns 0 or PL_ERR_CRYPTO. */
int pl_bench_identity_make(pl_bench_identity *ids, size_t n);

/* Starts a Register stream on `channel` and queues the Hello for `ident` named `name`, with one
 * loopback host candidate at `port`. Callbacks as pl_rpc_client_call_start's. When the call
 * started (*pcall not NULL) on_status always follows, even if this returns an error.
 * Returns 0, PL_ERR_NOMEM, PL_ERR_CLOSED. */
int pl_bench_register_start(pl_rpc_client_call **pcall, pl_rpc_channel *channel,
                            const pl_bench_identity *ident, const char *name, uint16_t port,
                            const pl_rpc_client_callbacks *cb, void *arg);

#endif
