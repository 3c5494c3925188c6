/* The state-directory side of agent/identity: finding, creating and publishing key.der and
 * cert.der. The wolfSSL work is in identity_crypto.c. Runs once at start, before the loop, so
 * plain blocking I/O is fine here. */
#include "agent/identity/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/identity/identity_crypto.h"
#include "control/common/err.h"

#define KEY_FILE "key.der"
#define CERT_FILE "cert.der"
/* Real files are a few hundred bytes; anything this big is not ours. */
#define FILE_MAX (64 * 1024)

static int path_join(char **pout, const char *dir, const char *name) {
  size_t len = strlen(dir) + 1 + strlen(name) + 1;
  char *p = malloc(len);
  if (p == NULL) {
    return PL_ERR_NOMEM;
  }
  snprintf(p, len, "%s/%s", dir, name);
  *pout = p;
  return 0;
}

/* mkdir -p; the last component gets 0700 because it will hold the private key. */
static int make_dirs(const char *dir) {
  struct stat st;
  char *p, *s;
  int e;

  s = strdup(dir);
  if (s == NULL) {
    return PL_ERR_NOMEM;
  }
  for (p = s + 1; *p != '\0'; p++) {
    if (*p != '/') {
      continue;
    }
    *p = '\0';
    if (mkdir(s, 0755) != 0 && errno != EEXIST) {
      e = errno;
      free(s);
      errno = e;
      return PL_ERR_IO;
    }
    *p = '/';
  }
  free(s);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    return PL_ERR_IO;
  }
  if (stat(dir, &st) != 0) {
    return PL_ERR_IO;
  }
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return PL_ERR_IO;
  }
  return 0;
}

/* Reads a whole small file. PL_ERR_NOT_FOUND when it does not exist; PL_ERR_PARSE when it is
 * not a regular file of a plausible size. */
static int read_file(const char *path, uint8_t **pdata, size_t *pdatalen) {
  struct stat st;
  uint8_t *buf = NULL;
  size_t off = 0;
  ssize_t n;
  int fd, rv, e = 0;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? PL_ERR_NOT_FOUND : PL_ERR_IO;
  }
  if (fstat(fd, &st) != 0) {
    rv = PL_ERR_IO;
    e = errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > FILE_MAX) {
    rv = PL_ERR_PARSE;
    goto out;
  }
  buf = malloc((size_t)st.st_size);
  if (buf == NULL) {
    rv = PL_ERR_NOMEM;
    goto out;
  }
  while (off < (size_t)st.st_size) {
    n = read(fd, buf + off, (size_t)st.st_size - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      rv = PL_ERR_IO;
      e = errno;
      goto out;
    }
    if (n == 0) {
      break; /* shrank under us: the short buffer fails to parse below */
    }
    off += (size_t)n;
  }
  *pdata = buf;
  *pdatalen = off;
  buf = NULL;
  rv = 0;
out:
  if (buf != NULL) {
    explicit_bzero(buf, (size_t)st.st_size);
    free(buf);
  }
  close(fd);
  if (rv == PL_ERR_IO) {
    errno = e;
  }
  return rv;
}

static int write_all(int fd, const uint8_t *data, size_t datalen) {
  ssize_t n;
  while (datalen > 0) {
    n = write(fd, data, datalen);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -1;
    }
    data += n;
    datalen -= (size_t)n;
  }
  return 0;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;
  if (fd < 0) {
    return -1;
  }
  rc = fsync(fd);
  e = errno;
  close(fd);
  errno = e;
  return rc;
}

/* Publishes dir/name atomically and never over an existing file: the data goes to a temporary
 * file that is fsynced and then hard-linked into place. If dir/name appeared meanwhile (another
 * process starting on the same state dir), that one wins and this still returns 0: the caller
 * reads back whatever is on disk. */
static int publish_file(const char *dir, const char *name, const uint8_t *data, size_t datalen,
                        mode_t mode) {
  char *tmp = NULL, *final = NULL;
  int fd = -1, rv, e = 0;

  rv = path_join(&final, dir, name);
  if (rv != 0) {
    return rv;
  }
  tmp = malloc(strlen(final) + sizeof(".tmp-XXXXXX"));
  if (tmp == NULL) {
    rv = PL_ERR_NOMEM;
    goto out;
  }
  sprintf(tmp, "%s.tmp-XXXXXX", final);
  fd = mkstemp(tmp); /* 0600 from the start: the key is never readable by others */
  if (fd < 0) {
    rv = PL_ERR_IO;
    e = errno;
    free(tmp);
    tmp = NULL;
    goto out;
  }
  if (fchmod(fd, mode) != 0 || write_all(fd, data, datalen) != 0 || fsync(fd) != 0) {
    rv = PL_ERR_IO;
    e = errno;
    goto out;
  }
  if (close(fd) != 0) {
    fd = -1;
    rv = PL_ERR_IO;
    e = errno;
    goto out;
  }
  fd = -1;
  if (link(tmp, final) != 0 && errno != EEXIST) {
    rv = PL_ERR_IO;
    e = errno;
    goto out;
  }
  if (fsync_dir(dir) != 0) {
    rv = PL_ERR_IO;
    e = errno;
    goto out;
  }
  rv = 0;
out:
  if (fd >= 0) {
    close(fd);
  }
  if (tmp != NULL) {
    unlink(tmp);
    free(tmp);
  }
  free(final);
  if (rv == PL_ERR_IO) {
    errno = e;
  }
  return rv;
}

/* Reads a file that this process just published; it vanishing in between is an I/O error. */
static int read_back(const char *path, uint8_t **pdata, size_t *pdatalen) {
  int rv = read_file(path, pdata, pdatalen);
  if (rv == PL_ERR_NOT_FOUND) {
    errno = ENOENT;
    rv = PL_ERR_IO;
  }
  return rv;
}

static int create_key(const char *state_dir, const char *key_path, const char *cert_path) {
  struct stat st;
  uint8_t *key;
  size_t keylen;
  int rv;

  /* A certificate without its key means the identity was lost or moved: say so rather than
   * quietly becoming a different agent. (Unless another process starting on the same directory
   * has just published both.) */
  if (lstat(cert_path, &st) == 0) {
    return lstat(key_path, &st) == 0 ? 0 : PL_ERR_PARSE;
  }
  if (errno != ENOENT) {
    return PL_ERR_IO;
  }
  rv = pl_identity__key_generate(&key, &keylen);
  if (rv != 0) {
    return rv;
  }
  rv = publish_file(state_dir, KEY_FILE, key, keylen, 0600);
  explicit_bzero(key, keylen);
  free(key);
  return rv;
}

static int create_cert(const char *state_dir, const pl_identity *ident) {
  uint8_t *cert;
  size_t certlen;
  int rv;

  rv = pl_identity__cert_make(ident->private_key_der, ident->private_key_der_len, ident->id, &cert,
                              &certlen);
  if (rv != 0) {
    return rv;
  }
  rv = publish_file(state_dir, CERT_FILE, cert, certlen, 0644);
  free(cert);
  return rv;
}

int pl_identity_load_or_create(pl_identity *ident, const char *state_dir) {
  char *key_path = NULL, *cert_path = NULL;
  int rv, e;

  if (ident == NULL || state_dir == NULL || state_dir[0] == '\0') {
    return PL_ERR_INVALID;
  }
  memset(ident, 0, sizeof(*ident));
  rv = pl_identity__crypto_init();
  if (rv != 0) {
    return rv;
  }
  rv = make_dirs(state_dir);
  if (rv != 0) {
    goto out;
  }
  if ((rv = path_join(&key_path, state_dir, KEY_FILE)) != 0 ||
      (rv = path_join(&cert_path, state_dir, CERT_FILE)) != 0) {
    goto out;
  }

  rv = read_file(key_path, &ident->private_key_der, &ident->private_key_der_len);
  if (rv == PL_ERR_NOT_FOUND) {
    rv = create_key(state_dir, key_path, cert_path);
    if (rv == 0) {
      rv = read_back(key_path, &ident->private_key_der, &ident->private_key_der_len);
    }
  }
  if (rv != 0) {
    goto out;
  }
  rv = pl_identity__key_public(ident->private_key_der, ident->private_key_der_len,
                               &ident->public_key_der, &ident->public_key_der_len);
  if (rv != 0) {
    goto out;
  }
  rv = pl_identity__sha256_hex(ident->id, PL_IDENTITY_ID_LEN, ident->public_key_der,
                               ident->public_key_der_len);
  if (rv != 0) {
    goto out;
  }

  rv = read_file(cert_path, &ident->cert_der, &ident->cert_der_len);
  if (rv == PL_ERR_NOT_FOUND) {
    /* The key is the identity; the certificate is derived from it and can be made again. */
    rv = create_cert(state_dir, ident);
    if (rv == 0) {
      rv = read_back(cert_path, &ident->cert_der, &ident->cert_der_len);
    }
  }
  if (rv != 0) {
    goto out;
  }
  rv = pl_identity__cert_check(ident->cert_der, ident->cert_der_len, ident->public_key_der,
                               ident->public_key_der_len, ident->id);
  if (rv != 0) {
    goto out;
  }
  rv = pl_identity__sha256_hex(ident->cert_fingerprint, sizeof(ident->cert_fingerprint) - 1,
                               ident->cert_der, ident->cert_der_len);
out:
  e = errno;
  if (rv != 0) {
    pl_identity_free(ident);
  }
  free(key_path);
  free(cert_path);
  pl_identity__crypto_cleanup();
  errno = e;
  return rv;
}

void pl_identity_free(pl_identity *ident) {
  if (ident == NULL) {
    return;
  }
  if (ident->private_key_der != NULL) {
    explicit_bzero(ident->private_key_der, ident->private_key_der_len);
    free(ident->private_key_der);
  }
  free(ident->public_key_der);
  free(ident->cert_der);
  memset(ident, 0, sizeof(*ident));
}
