/* agent/identity: create on first start, reuse after, and never overwrite what is on disk. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "agent/identity/identity.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "tests/unit/common/check.h"

/* A fresh directory name under $TEST_TMPDIR (not created: the module must create it). */
static char *state_dir(const char *name) {
  const char *base = getenv("TEST_TMPDIR");
  static int seq;
  char *p;
  if (base == NULL) {
    base = "/tmp";
  }
  p = malloc(strlen(base) + strlen(name) + 64);
  sprintf(p, "%s/identity-%d-%d/%s", base, (int)getpid(), seq++, name);
  return p;
}

static char *file_in(const char *dir, const char *name) {
  char *p = malloc(strlen(dir) + strlen(name) + 2);
  sprintf(p, "%s/%s", dir, name);
  return p;
}

/* Whole file into a malloc'd buffer; NULL when it cannot be read. */
static uint8_t *slurp(const char *path, size_t *plen) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  long n;
  if (f == NULL) {
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(n > 0 ? (size_t)n : 1);
  *plen = fread(buf, 1, (size_t)n, f);
  fclose(f);
  return buf;
}

static void spit(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f != NULL) {
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
  }
}

static int file_equals(const char *path, const uint8_t *data, size_t len) {
  size_t n = 0;
  uint8_t *buf = slurp(path, &n);
  int eq = buf != NULL && n == len && memcmp(buf, data, len) == 0;
  free(buf);
  return eq;
}

static void sha256_hex(char out[65], const uint8_t *data, size_t len) {
  uint8_t d[WC_SHA256_DIGEST_SIZE];
  wc_Sha256Hash(data, (word32)len, d);
  pl_hex_encode(out, d, sizeof d);
}

static void test_create_then_reuse(void) {
  char *dir = state_dir("nested/state");
  char *key_path = file_in(dir, "key.der"), *cert_path = file_in(dir, "cert.der");
  pl_identity a, b;
  struct stat st;
  char id[33], fp[65];

  CHECK_RV(pl_identity_load_or_create(&a, dir), 0);
  CHECK(pl_hex_is_lower(a.id, 32));
  CHECK(pl_hex_is_lower(a.cert_fingerprint, 64));
  CHECK(a.public_key_der_len > 0 && a.cert_der_len > 0 && a.private_key_der_len > 0);

  CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
  CHECK(stat(key_path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
  CHECK(file_equals(key_path, a.private_key_der, a.private_key_der_len));
  CHECK(file_equals(cert_path, a.cert_der, a.cert_der_len));

  /* The ID is recomputable from the public key alone. */
  CHECK_RV(pl_identity_id_from_public_key(id, a.public_key_der, a.public_key_der_len), 0);
  CHECK(strcmp(id, a.id) == 0);
  sha256_hex(fp, a.cert_der, a.cert_der_len);
  CHECK(strcmp(fp, a.cert_fingerprint) == 0);
  sha256_hex(fp, a.public_key_der, a.public_key_der_len);
  CHECK(strncmp(fp, a.id, 32) == 0);

  /* Second start: the same identity, byte for byte, and the files stay as they were. */
  CHECK_RV(pl_identity_load_or_create(&b, dir), 0);
  CHECK(strcmp(a.id, b.id) == 0);
  CHECK(strcmp(a.cert_fingerprint, b.cert_fingerprint) == 0);
  CHECK(a.private_key_der_len == b.private_key_der_len &&
        memcmp(a.private_key_der, b.private_key_der, a.private_key_der_len) == 0);
  CHECK(a.public_key_der_len == b.public_key_der_len &&
        memcmp(a.public_key_der, b.public_key_der, a.public_key_der_len) == 0);
  CHECK(a.cert_der_len == b.cert_der_len && memcmp(a.cert_der, b.cert_der, a.cert_der_len) == 0);

  pl_identity_free(&a);
  pl_identity_free(&b);
  pl_identity_free(&b); /* twice is fine */
  CHECK(a.private_key_der == NULL && a.id[0] == '\0');
  free(key_path);
  free(cert_path);
  free(dir);
}

/* The certificate through wolfSSL's X.509 and TLS layers, as the QUIC handshake will use it. */
static void test_cert_is_self_signed_for_the_key(void) {
  char *dir = state_dir("x509");
  pl_identity a;
  WOLFSSL_X509 *x;
  WOLFSSL_EVP_PKEY *pk;
  WOLFSSL_CTX *ctx;
  char cn[128];
  int days = 0, secs = 0;

  CHECK_RV(pl_identity_load_or_create(&a, dir), 0);
  x = wolfSSL_X509_load_certificate_buffer(a.cert_der, (int)a.cert_der_len, WOLFSSL_FILETYPE_ASN1);
  CHECK(x != NULL);
  if (x != NULL) {
    CHECK(wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_subject_name(x), NID_commonName, cn,
                                            sizeof(cn)) == 32);
    CHECK(strcmp(cn, a.id) == 0);
    CHECK(wolfSSL_X509_NAME_cmp(wolfSSL_X509_get_subject_name(x),
                                wolfSSL_X509_get_issuer_name(x)) == 0);
    pk = wolfSSL_X509_get_pubkey(x);
    CHECK(pk != NULL);
    CHECK(wolfSSL_X509_verify(x, pk) == WOLFSSL_SUCCESS);
    wolfSSL_EVP_PKEY_free(pk);
    CHECK(wolfSSL_ASN1_TIME_diff(&days, &secs, wolfSSL_X509_get_notBefore(x),
                                 wolfSSL_X509_get_notAfter(x)) == WOLFSSL_SUCCESS);
    CHECK(days >= 3650 && days <= 3660);
    wolfSSL_X509_free(x);
  }

  /* The stored private key and the certificate form a usable TLS 1.3 credential. */
  ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
  CHECK(ctx != NULL);
  if (ctx != NULL) {
    CHECK(wolfSSL_CTX_use_certificate_buffer(ctx, a.cert_der, (long)a.cert_der_len,
                                             WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS);
    CHECK(wolfSSL_CTX_use_PrivateKey_buffer(ctx, a.private_key_der, (long)a.private_key_der_len,
                                            WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS);
    CHECK(wolfSSL_CTX_check_private_key(ctx) == WOLFSSL_SUCCESS);
    wolfSSL_CTX_free(ctx);
  }
  pl_identity_free(&a);
  free(dir);
}

/* Creates an identity in a fresh dir, replaces `victim` with `bytes`, and expects `want`
 * from the next load with the file left exactly as written. */
static void expect_corrupt(const char *victim, const uint8_t *bytes, size_t len, int want) {
  char *dir = state_dir("corrupt");
  char *path = file_in(dir, victim);
  pl_identity a;
  struct stat before, after;

  CHECK_RV(pl_identity_load_or_create(&a, dir), 0);
  pl_identity_free(&a);
  spit(path, bytes, len);
  CHECK(stat(path, &before) == 0);
  CHECK_RV(pl_identity_load_or_create(&a, dir), want);
  CHECK(a.private_key_der == NULL && a.cert_der == NULL && a.public_key_der == NULL);
  CHECK(file_equals(path, bytes, len));
  CHECK(stat(path, &after) == 0 && before.st_ino == after.st_ino &&
        before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
        before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
  free(path);
  free(dir);
}

static void test_corrupt_files_are_refused_and_kept(void) {
  static const uint8_t junk[] = "this is not DER";
  char *dir = state_dir("good");
  pl_identity a;
  uint8_t *buf;

  CHECK_RV(pl_identity_load_or_create(&a, dir), 0);
  expect_corrupt("key.der", junk, sizeof(junk), PL_ERR_PARSE);
  expect_corrupt("cert.der", junk, sizeof(junk), PL_ERR_PARSE);

  /* A valid key truncated by one byte, and one with a trailing byte. */
  expect_corrupt("key.der", a.private_key_der, a.private_key_der_len - 1, PL_ERR_PARSE);
  buf = malloc(a.cert_der_len + 1);
  memcpy(buf, a.private_key_der, a.private_key_der_len);
  buf[a.private_key_der_len] = 0;
  expect_corrupt("key.der", buf, a.private_key_der_len + 1, PL_ERR_PARSE);

  /* A certificate with a flipped bit in its signature, and one with a trailing byte. */
  memcpy(buf, a.cert_der, a.cert_der_len);
  buf[a.cert_der_len - 3] ^= 0x01;
  expect_corrupt("cert.der", buf, a.cert_der_len, PL_ERR_PARSE);
  memcpy(buf, a.cert_der, a.cert_der_len);
  buf[a.cert_der_len] = 0;
  expect_corrupt("cert.der", buf, a.cert_der_len + 1, PL_ERR_PARSE);
  free(buf);

  /* A perfectly good certificate of another agent. */
  expect_corrupt("cert.der", a.cert_der, a.cert_der_len, PL_ERR_PARSE);

  /* An empty key file. */
  expect_corrupt("key.der", (const uint8_t *)"", 0, PL_ERR_PARSE);

  pl_identity_free(&a);
  free(dir);
}

static void test_missing_files(void) {
  char *dir = state_dir("missing");
  char *key_path = file_in(dir, "key.der"), *cert_path = file_in(dir, "cert.der");
  pl_identity a, b;
  uint8_t *cert;
  size_t certlen = 0;

  /* Without its certificate the key still is the identity: a new certificate, same ID. */
  CHECK_RV(pl_identity_load_or_create(&a, dir), 0);
  CHECK(unlink(cert_path) == 0);
  CHECK_RV(pl_identity_load_or_create(&b, dir), 0);
  CHECK(strcmp(a.id, b.id) == 0);
  CHECK(file_equals(cert_path, b.cert_der, b.cert_der_len));
  pl_identity_free(&b);

  /* A certificate whose key is gone: refuse rather than become someone else. */
  cert = slurp(cert_path, &certlen);
  CHECK(unlink(key_path) == 0);
  CHECK_RV(pl_identity_load_or_create(&b, dir), PL_ERR_PARSE);
  CHECK(access(key_path, F_OK) != 0);
  CHECK(file_equals(cert_path, cert, certlen));

  free(cert);
  pl_identity_free(&a);
  free(key_path);
  free(cert_path);
  free(dir);
}

static void test_io_errors(void) {
  char *dir = state_dir("file");
  char *parent = strdup(dir);
  pl_identity a;

  *strrchr(parent, '/') = '\0';
  CHECK(mkdir(parent, 0700) == 0);
  spit(dir, "x", 1); /* the state dir is a regular file */
  errno = 0;
  CHECK_RV(pl_identity_load_or_create(&a, dir), PL_ERR_IO);
  CHECK(errno == ENOTDIR || errno == EEXIST);
  CHECK_RV(pl_identity_load_or_create(&a, ""), PL_ERR_INVALID);
  CHECK_RV(pl_identity_load_or_create(NULL, dir), PL_ERR_INVALID);
  CHECK_RV(pl_identity_load_or_create(&a, NULL), PL_ERR_INVALID);
  free(parent);
  free(dir);
}

static void test_id_from_public_key(void) {
  char *dir = state_dir("id");
  pl_identity a;
  char id[33];
  uint8_t *buf;

  CHECK_RV(pl_identity_load_or_create(&a, dir), 0);
  CHECK_RV(pl_identity_id_from_public_key(NULL, a.public_key_der, a.public_key_der_len),
           PL_ERR_INVALID);
  CHECK_RV(pl_identity_id_from_public_key(id, NULL, 1), PL_ERR_INVALID);
  CHECK_RV(pl_identity_id_from_public_key(id, (const uint8_t *)"junk", 4), PL_ERR_PARSE);
  CHECK_RV(pl_identity_id_from_public_key(id, a.public_key_der, 0), PL_ERR_PARSE);
  /* The private key DER is not a public key. */
  CHECK_RV(pl_identity_id_from_public_key(id, a.private_key_der, a.private_key_der_len),
           PL_ERR_PARSE);

  buf = malloc(a.public_key_der_len + 1);
  memcpy(buf, a.public_key_der, a.public_key_der_len);
  buf[a.public_key_der_len] = 0;
  CHECK_RV(pl_identity_id_from_public_key(id, buf, a.public_key_der_len + 1), PL_ERR_PARSE);
  /* A point that is not on the curve (last byte of Y changed). */
  buf[a.public_key_der_len - 1] ^= 0x01;
  CHECK_RV(pl_identity_id_from_public_key(id, buf, a.public_key_der_len), PL_ERR_PARSE);
  free(buf);

  pl_identity_free(&a);
  free(dir);
}

int main(void) {
  CHECK(wolfSSL_Init() == WOLFSSL_SUCCESS);
  test_create_then_reuse();
  test_cert_is_self_signed_for_the_key();
  test_corrupt_files_are_refused_and_kept();
  test_missing_files();
  test_io_errors();
  test_id_from_public_key();
  wolfSSL_Cleanup();
  printf("identity_test: ok\n");
  return 0;
}
