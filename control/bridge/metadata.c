/* Header blocks, timeouts and the grpc-message encoding. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "control/bridge/metadata.h"
#include "control/common/err.h"

#define LINE_MAX_BYTES 4096

static int is_token_char(unsigned char c) {
  return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int parse_line(const char *line, size_t len, pl_bridge_header_fn fn, void *arg) {
  char buf[LINE_MAX_BYTES + 1];
  if (len > LINE_MAX_BYTES)
    return PL_ERR_TOO_BIG;
  memcpy(buf, line, len);
  buf[len] = '\0';
  char *colon = memchr(buf, ':', len);
  if (!colon || colon == buf)
    return PL_ERR_PARSE;
  *colon = '\0';
  for (char *k = buf; *k; k++) {
    if (!is_token_char((unsigned char)*k))
      return PL_ERR_PARSE;
    *k = (char)tolower((unsigned char)*k);
  }
  char *v = colon + 1;
  for (char *p = v; *p; p++)
    if ((*p < 0x20 && *p != '\t') || (unsigned char)*p > 0x7e)
      return PL_ERR_PARSE;
  while (*v == ' ' || *v == '\t')
    v++;
  char *end = v + strlen(v);
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    *--end = '\0';
  return fn(arg, buf, v);
}

int pl_bridge_headers_parse(const char *block, size_t len, pl_bridge_header_fn fn, void *arg) {
  size_t start = 0;
  while (start < len) {
    const char *nl = memchr(block + start, '\n', len - start);
    size_t end = nl ? (size_t)(nl - block) : len;
    size_t line_len = end - start;
    if (line_len > 0 && block[start + line_len - 1] == '\r')
      line_len--;
    if (line_len > 0) {
      /* A NUL would end the key or value early and hide what follows. */
      if (memchr(block + start, '\0', line_len))
        return PL_ERR_PARSE;
      int rv = parse_line(block + start, line_len, fn, arg);
      if (rv != 0)
        return rv;
    }
    start = end + 1;
  }
  return 0;
}

int pl_bridge_timeout_parse(const char *value, uint64_t *pms) {
  size_t n = strlen(value);
  if (n < 2 || n > 9)
    return PL_ERR_PARSE;
  uint64_t v = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (!isdigit((unsigned char)value[i]))
      return PL_ERR_PARSE;
    v = v * 10 + (uint64_t)(value[i] - '0');
  }
  /* In milliseconds per unit, or per 1000/1000000 for the smaller ones (rounded up): with at
   * most 8 digits nothing overflows. */
  switch (value[n - 1]) {
  case 'H': *pms = v * 3600000ull; break;
  case 'M': *pms = v * 60000ull; break;
  case 'S': *pms = v * 1000ull; break;
  case 'm': *pms = v; break;
  case 'u': *pms = (v + 999ull) / 1000ull; break;
  case 'n': *pms = (v + 999999ull) / 1000000ull; break;
  default: return PL_ERR_PARSE;
  }
  /* 0 means "no deadline" to control/rpc; a zero timeout is an immediate deadline. */
  if (*pms == 0)
    *pms = 1;
  return 0;
}

size_t pl_bridge_percent_encode(const char *in, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  if (cap == 0)
    return 0;
  for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
    if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
      if (n + 1 >= cap)
        break;
      out[n++] = (char)*p;
    } else {
      if (n + 3 >= cap)
        break;
      out[n++] = '%';
      out[n++] = hex[*p >> 4];
      out[n++] = hex[*p & 15];
    }
  }
  out[n] = '\0';
  return n;
}

size_t pl_bridge_trailers_block(int code, const char *message, char *out, size_t cap) {
  int n = snprintf(out, cap, "grpc-status: %d\r\n", code);
  if (n < 0 || (size_t)n >= cap)
    return 0;
  size_t len = (size_t)n;
  static const char key[] = "grpc-message: ";
  if (message && *message && len + sizeof key + 3 < cap) {
    memcpy(out + len, key, sizeof key - 1);
    len += sizeof key - 1;
    len += pl_bridge_percent_encode(message, out + len, cap - len - 2);
    memcpy(out + len, "\r\n", 3);
    len += 2;
  }
  return len;
}
