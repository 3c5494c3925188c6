/* The file-transfer header and verdict (agent/files/wire.h). */
#include "agent/files/wire.h"

#include <string.h>

#include "control/common/err.h"

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

const char *pl_files_code_name(uint8_t code) {
  switch (code) {
  case PL_FILES_STORED: return "stored";
  case PL_FILES_BAD_NAME: return "bad name";
  case PL_FILES_EXISTS: return "already exists";
  case PL_FILES_HASH_MISMATCH: return "hash mismatch";
  case PL_FILES_NO_SPACE: return "no space";
  case PL_FILES_STORAGE: return "storage error";
  case PL_FILES_PROTOCOL: return "protocol error";
  case PL_FILES_UNAVAILABLE: return "unavailable";
  default: return "unknown";
  }
}

int pl_files_header_encode(uint8_t *out, size_t *plen, const char *name, size_t name_len,
                           uint64_t size, int overwrite) {
  if (out == NULL || plen == NULL || name == NULL || name_len == 0 || name_len > PL_FILES_NAME_MAX)
    return PL_ERR_INVALID;
  memcpy(out, PL_FILES_MAGIC, PL_FILES_MAGIC_LEN);
  out[4] = overwrite ? PL_FILES_FLAG_OVERWRITE : 0;
  put_u64(out + 5, size);
  out[13] = (uint8_t)name_len;
  memcpy(out + PL_FILES_HEADER_MIN, name, name_len);
  *plen = PL_FILES_HEADER_MIN + name_len;
  return 0;
}

int pl_files_header_parse(const uint8_t *data, size_t len, pl_files_header *h, size_t *pused) {
  *pused = 0;
  /* Refuse a wrong magic as soon as its first bytes show it, not after 14 bytes. */
  size_t m = len < PL_FILES_MAGIC_LEN ? len : PL_FILES_MAGIC_LEN;
  if (memcmp(data, PL_FILES_MAGIC, m) != 0)
    return PL_ERR_PARSE;
  if (len > 4 && (data[4] & ~PL_FILES_FLAG_OVERWRITE) != 0)
    return PL_ERR_PARSE;
  if (len > 13 && data[13] == 0)
    return PL_ERR_PARSE;
  if (len < PL_FILES_HEADER_MIN || len < PL_FILES_HEADER_MIN + (size_t)data[13])
    return 0;
  size_t n = data[13];
  if (memchr(data + PL_FILES_HEADER_MIN, '\0', n) != NULL)
    return PL_ERR_PARSE;
  h->overwrite = (data[4] & PL_FILES_FLAG_OVERWRITE) != 0;
  h->size = get_u64(data + 5);
  memcpy(h->name, data + PL_FILES_HEADER_MIN, n);
  h->name[n] = '\0';
  h->name_len = n;
  *pused = PL_FILES_HEADER_MIN + n;
  return 0;
}

size_t pl_files_verdict_encode(uint8_t *out, uint8_t code, uint64_t size,
                               const uint8_t sha256[PL_FILES_SHA256_LEN], const char *msg) {
  size_t n = msg ? strnlen(msg, PL_FILES_MSG_MAX) : 0;
  out[0] = code;
  put_u64(out + 1, size);
  if (sha256)
    memcpy(out + 9, sha256, PL_FILES_SHA256_LEN);
  else
    memset(out + 9, 0, PL_FILES_SHA256_LEN);
  out[9 + PL_FILES_SHA256_LEN] = (uint8_t)n;
  if (n)
    memcpy(out + PL_FILES_VERDICT_MIN, msg, n);
  return PL_FILES_VERDICT_MIN + n;
}

int pl_files_verdict_parse(const uint8_t *data, size_t len, pl_files_verdict *v, size_t *pused) {
  *pused = 0;
  if (len < PL_FILES_VERDICT_MIN)
    return 0;
  size_t n = data[PL_FILES_VERDICT_MIN - 1];
  if (len < PL_FILES_VERDICT_MIN + n)
    return 0;
  if (memchr(data + PL_FILES_VERDICT_MIN, '\0', n) != NULL)
    return PL_ERR_PARSE;
  v->code = data[0];
  v->size = get_u64(data + 1);
  memcpy(v->sha256, data + 9, PL_FILES_SHA256_LEN);
  memcpy(v->msg, data + PL_FILES_VERDICT_MIN, n);
  v->msg[n] = '\0';
  *pused = PL_FILES_VERDICT_MIN + n;
  return 0;
}
