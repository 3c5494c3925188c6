/* The QUIC tunnel's TLS: our identity in two wolfSSL contexts (client and server), ALPN
 * "peerlink/1" both ways, and the pin: the peer must present exactly one certificate whose
 * SHA-256 is the fingerprint we were given. Checked twice: in wolfSSL's verify callback, so a
 * wrong certificate fails the handshake with bad_certificate before the peer learns anything
 * more, and on the certificate the session kept once the handshake is done. */
#include <ngtcp2/ngtcp2_crypto_wolfssl.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/quic/quic_impl.h"
#include "control/common/err.h"
#include "control/common/hex.h"

#define ALPN_LEN (sizeof PL_QUIC_ALPN - 1)

void pl_quic__set_detail(pl_quic *q, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(q->detail, sizeof q->detail, fmt, ap);
  va_end(ap);
}

static int alpn_select(WOLFSSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  for (const unsigned char *p = in, *end = in + inlen; p < end && p + 1 + *p <= end; p += 1 + *p)
    if (*p == ALPN_LEN && memcmp(p + 1, PL_QUIC_ALPN, ALPN_LEN) == 0) {
      *out = p + 1;
      *outlen = (unsigned char)ALPN_LEN;
      return SSL_TLSEXT_ERR_OK;
    }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Compares a certificate with the pin; on a mismatch says so in q->detail. */
static int pin_matches(pl_quic *q, const uint8_t *der, size_t derlen) {
  uint8_t got[WC_SHA256_DIGEST_SIZE];
  char got_hex[2 * sizeof got + 1], pin_hex[2 * sizeof q->pin + 1];
  if (der == NULL || derlen == 0 || wc_Sha256Hash(der, (word32)derlen, got) != 0) {
    pl_quic__set_detail(q, "cannot hash the peer's certificate");
    return 0;
  }
  if (memcmp(got, q->pin, sizeof got) == 0)
    return 1;
  q->auth_failed = 1;
  pl_hex_encode(got_hex, got, sizeof got);
  pl_hex_encode(pin_hex, q->pin, sizeof q->pin);
  pl_quic__set_detail(q,
                      "peer certificate does not match the pinned fingerprint %s (it presented "
                      "%s)",
                      pin_hex, got_hex);
  /* What the peer reads in our CONNECTION_CLOSE: short, and in its own terms. */
  snprintf(q->close_reason, sizeof q->close_reason,
           "your certificate %.16s... is not the one pinned here (%.16s...)", got_hex, pin_hex);
  return 0;
}

/* Runs for every certificate the peer sent (WOLFSSL_ALWAYS_VERIFY_CB), also when wolfSSL's own
 * chain check failed, which it does for every self-signed certificate: the pin replaces it. */
static int verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store) {
  (void)preverify;
  pl_quic *q = store->userCtx;
  if (q == NULL || store->certs == NULL || store->totalCerts < 1)
    return 0;
  if (store->totalCerts != 1) {
    pl_quic__set_detail(q, "the peer sent %d certificates; a peerlink agent sends exactly one",
                        store->totalCerts);
    return 0;
  }
  return pin_matches(q, store->certs[0].buffer, store->certs[0].length);
}

int pl_quic__tls_check_peer(pl_quic *q) {
  const unsigned char *alpn = NULL;
  unsigned int alpnlen = 0;
  wolfSSL_get0_alpn_selected(q->ssl, &alpn, &alpnlen);
  if (alpn == NULL || alpnlen != ALPN_LEN || memcmp(alpn, PL_QUIC_ALPN, ALPN_LEN) != 0) {
    pl_quic__set_detail(q, "the peer does not speak %s (ALPN)", PL_QUIC_ALPN);
    return PL_ERR_AUTH;
  }
  WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(q->ssl);
  if (x == NULL) {
    pl_quic__set_detail(q, "the peer presented no certificate");
    return PL_ERR_AUTH;
  }
  int derlen = 0;
  const unsigned char *der = wolfSSL_X509_get_der(x, &derlen);
  int ok = der != NULL && derlen > 0 && pin_matches(q, der, (size_t)derlen);
  wolfSSL_X509_free(x);
  return ok ? 0 : PL_ERR_AUTH;
}

static WOLFSSL_CTX *ctx_new(int client, const uint8_t *cert, size_t certlen, const uint8_t *key,
                            size_t keylen) {
  WOLFSSL_CTX *ctx =
      wolfSSL_CTX_new(client ? wolfTLSv1_3_client_method() : wolfTLSv1_3_server_method());
  if (ctx == NULL)
    return NULL;
  int rv = client ? ngtcp2_crypto_wolfssl_configure_client_context(ctx)
                  : ngtcp2_crypto_wolfssl_configure_server_context(ctx);
  if (rv != 0 ||
      wolfSSL_CTX_use_certificate_buffer(ctx, cert, (long)certlen, WOLFSSL_FILETYPE_ASN1) !=
          WOLFSSL_SUCCESS ||
      wolfSSL_CTX_use_PrivateKey_buffer(ctx, key, (long)keylen, WOLFSSL_FILETYPE_ASN1) !=
          WOLFSSL_SUCCESS ||
      wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
    wolfSSL_CTX_free(ctx);
    return NULL;
  }
  /* Both sides demand a certificate; the pin decides, never a CA store (none is loaded). */
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
  wolfSSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (!client)
    wolfSSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  return ctx;
}

int pl_quic_tls_new(pl_quic_tls **ptls, const uint8_t *cert_der, size_t cert_len,
                    const uint8_t *key_der, size_t key_len) {
  if (ptls == NULL || cert_der == NULL || cert_len == 0 || key_der == NULL || key_len == 0)
    return PL_ERR_INVALID;
  pl_quic_tls *tls = calloc(1, sizeof *tls);
  if (tls == NULL)
    return PL_ERR_NOMEM;
  tls->client = ctx_new(1, cert_der, cert_len, key_der, key_len);
  if (tls->client == NULL)
    goto fail_client;
  tls->server = ctx_new(0, cert_der, cert_len, key_der, key_len);
  if (tls->server == NULL)
    goto fail_server;
  *ptls = tls;
  return 0;

fail_server:
  wolfSSL_CTX_free(tls->client);
fail_client:
  free(tls);
  return PL_ERR_CRYPTO;
}

void pl_quic_tls_del(pl_quic_tls *tls) {
  if (tls == NULL)
    return;
  wolfSSL_CTX_free(tls->client);
  wolfSSL_CTX_free(tls->server);
  free(tls);
}

int pl_quic__tls_session(pl_quic *q, const pl_quic_tls *tls) {
  q->ssl = wolfSSL_new(q->client ? tls->client : tls->server);
  if (q->ssl == NULL)
    return PL_ERR_NOMEM;
  wolfSSL_set_app_data(q->ssl, &q->conn_ref);
  wolfSSL_SetCertCbCtx(q->ssl, q);
  if (q->client) {
    wolfSSL_set_connect_state(q->ssl);
    if (wolfSSL_UseALPN(q->ssl, (char *)PL_QUIC_ALPN, (unsigned)ALPN_LEN,
                        WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS)
      return PL_ERR_CRYPTO;
  } else {
    wolfSSL_set_accept_state(q->ssl);
  }
  wolfSSL_set_quic_use_legacy_codepoint(q->ssl, 0);
  return 0;
}
