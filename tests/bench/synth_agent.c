#include "tests/bench/synth_agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include "control/common/err.h"
#include "peerlink/v1/rendezvous.pb-c.h"

static void hex(char *out, const uint8_t *data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  out[2 * len] = '\0';
}

static int make_one(WC_RNG *rng, pl_bench_identity *id) {
  ecc_key key;
  uint8_t digest[WC_SHA256_DIGEST_SIZE];
  int rv = PL_ERR_CRYPTO, n;
  if (wc_ecc_init(&key) != 0)
    return PL_ERR_CRYPTO;
  if (wc_ecc_make_key_ex(rng, 32, &key, ECC_SECP256R1) != 0)
    goto out;
  n = wc_EccPublicKeyToDer(&key, id->spki, sizeof id->spki, 1 /* SPKI, with the curve OID */);
  if (n <= 0)
    goto out;
  id->spki_len = (size_t)n;
  n = wc_EccKeyToDer(&key, id->key, sizeof id->key);
  if (n <= 0)
    goto out;
  id->key_len = (size_t)n;
  /* The same derivation the rendezvous checks, so a mismatch shows up here, not as
   * INVALID_ARGUMENT in the middle of a run. */
  if (pl_identity_id_from_public_key(id->id, id->spki, id->spki_len) != 0)
    goto out;
  if (wc_Sha256Hash(id->spki, (word32)id->spki_len, digest) != 0)
    goto out;
  hex(id->fingerprint, digest, sizeof digest);
  rv = 0;
out:
  wc_ecc_free(&key);
  return rv;
}

int pl_bench_crypto_init(void) {
  return wolfCrypt_Init() == 0 ? 0 : PL_ERR_CRYPTO;
}

int pl_bench_identity_make(pl_bench_identity *ids, size_t n) {
  WC_RNG rng;
  int rv = 0;
  if (wolfCrypt_Init() != 0)
    return PL_ERR_CRYPTO;
  if (wc_InitRng(&rng) != 0) {
    wolfCrypt_Cleanup();
    return PL_ERR_CRYPTO;
  }
  for (size_t i = 0; i < n && rv == 0; i++)
    rv = make_one(&rng, &ids[i]);
  wc_FreeRng(&rng);
  wolfCrypt_Cleanup();
  return rv;
}

int pl_bench_hello_pack(const pl_bench_agent *ag, const uint8_t *nonce, size_t noncelen,
                        uint8_t **pdata, size_t *plen) {
  const pl_bench_identity *ident = ag->ident;
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  Peerlink__V1__Candidate cand = PEERLINK__V1__CANDIDATE__INIT;
  Peerlink__V1__Candidate *cands[1] = {&cand};
  Peerlink__V1__Hello hello = PEERLINK__V1__HELLO__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  uint8_t sig[PL_IDENTITY_SIG_MAX];
  size_t siglen = sizeof sig;

  ep.ip = "127.0.0.1";
  ep.port = ag->port;
  cand.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  cand.endpoint = &ep;
  hello.id = (char *)ident->id;
  hello.name = (char *)ag->name;
  hello.public_key.data = (uint8_t *)ident->spki;
  hello.public_key.len = ident->spki_len;
  hello.cert_fingerprint = (char *)ident->fingerprint;
  hello.version = "bench";
  hello.network = (char *)(ag->network ? ag->network : "");
  hello.n_candidates = 1;
  hello.candidates = cands;
  if (nonce) {
    pl_identity view = {.private_key_der = (uint8_t *)ident->key,
                        .private_key_der_len = ident->key_len};
    memcpy(view.id, ident->id, sizeof view.id);
    int rv = pl_identity_sign_register(&view, nonce, noncelen, sig, &siglen);
    if (rv != 0)
      return rv;
    hello.challenge.data = (uint8_t *)nonce;
    hello.challenge.len = noncelen;
    hello.signature.data = sig;
    hello.signature.len = siglen;
  }
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO;
  req.hello = &hello;
  *plen = peerlink__v1__register_request__get_packed_size(&req);
  if ((*pdata = malloc(*plen ? *plen : 1)) == NULL)
    return PL_ERR_NOMEM;
  peerlink__v1__register_request__pack(&req, *pdata);
  return 0;
}

/* Queues a Hello; signed over `nonce` when it is not NULL. */
static int send_hello(pl_bench_agent *ag, const uint8_t *nonce, size_t noncelen) {
  uint8_t *data;
  size_t len;
  int rv = pl_bench_hello_pack(ag, nonce, noncelen, &data, &len);
  if (rv != 0)
    return rv;
  rv = pl_rpc_client_call_send_raw(ag->call, data, len);
  free(data);
  return rv;
}

int pl_bench_agent_start(pl_bench_agent *ag, pl_rpc_channel *channel,
                         const pl_rpc_client_callbacks *cb, void *arg) {
  ag->call = NULL;
  int rv = pl_rpc_client_call_start(&ag->call, channel, "/peerlink.v1.Rendezvous/Register",
                                    &peerlink__v1__register_response__descriptor, cb, arg, 0);
  if (rv != 0)
    return rv;
  if ((rv = send_hello(ag, NULL, 0)) != 0)
    pl_rpc_client_call_cancel(ag->call);
  return rv;
}

int pl_bench_agent_answer(pl_bench_agent *ag, const Peerlink__V1__Challenge *challenge) {
  return send_hello(ag, challenge->nonce.data, challenge->nonce.len);
}
