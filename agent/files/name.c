/* File names a receiver may create (agent/files/wire.h, pl_files_name_check). */
#include <stdio.h>
#include <string.h>

#include "agent/files/wire.h"
#include "control/common/err.h"

static int refuse(char *why, size_t cap, const char *what) {
  if (cap)
    snprintf(why, cap, "%s", what);
  return PL_ERR_INVALID;
}

/* Length of the UTF-8 sequence at p (at most left bytes), or 0 when it is not valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF included, as RFC 3629 has it). */
static size_t utf8_len(const unsigned char *p, size_t left) {
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xC2 && p[0] <= 0xDF)
    n = 2;
  else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
    n = 3;
    lo = p[0] == 0xE0 ? 0xA0 : 0x80;
    hi = p[0] == 0xED ? 0x9F : 0xBF;
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    n = 4;
    lo = p[0] == 0xF0 ? 0x90 : 0x80;
    hi = p[0] == 0xF4 ? 0x8F : 0xBF;
  } else
    return 0;
  if (n > left || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return n;
}

int pl_files_name_check(const char *name, size_t len, char *why, size_t cap) {
  const unsigned char *p = (const unsigned char *)name;
  if (name == NULL || len == 0)
    return refuse(why, cap, "is empty");
  if (len > PL_FILES_NAME_MAX)
    return refuse(why, cap, "is longer than 255 bytes");
  if (p[0] == '/')
    return refuse(why, cap, "is an absolute path (give a file name)");
  if (p[0] == '.')
    return refuse(why, cap, "starts with '.' (\".\", \"..\" and hidden names are refused)");
  for (size_t i = 0; i < len;) {
    if (p[i] == '/')
      return refuse(why, cap, "contains '/' (give a file name, not a path)");
    if (p[i] == '\\')
      return refuse(why, cap, "contains '\\'");
    if (p[i] == '\0')
      return refuse(why, cap, "contains a NUL byte");
    if (p[i] < 0x20 || p[i] == 0x7f)
      return refuse(why, cap, "contains a control character");
    if (p[i] == '.' && i + 1 < len && p[i + 1] == '.')
      return refuse(why, cap, "contains \"..\"");
    size_t n = utf8_len(p + i, len - i);
    if (n == 0)
      return refuse(why, cap, "is not valid UTF-8");
    i += n;
  }
  return 0;
}
