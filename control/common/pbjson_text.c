/* jansson value → JSON text with protojson's number and escape spelling.
 *
 * jansson prints reals as "%.17g" plus ".0" when integral ("0.10000000000000001", "1.0",
 * "1e21") and \u escapes in upper case; Go's protojson (buf curl, grpcurl) prints the
 * shortest digits that read back, in ECMAScript's layout, and lower case. Scripts compare our
 * --json output with theirs byte for byte, so rewrite those two tokens after jansson wrote the
 * rest. */

#include "control/common/pbjson.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

/* Shortest "%.Ne" form of v that reads back as v (as a float when is_float). */
static void shortest_exp(double v, int is_float, char *tmp, size_t cap) {
  for (int prec = 0; prec <= 16; prec++) {
    snprintf(tmp, cap, "%.*e", prec, v);
    if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
      return;
  }
}

double pl_pbjson__float_value(float f) {
  char tmp[40];
  if (!isfinite(f))
    return f;
  shortest_exp(f, 1, tmp, sizeof(tmp));
  return strtod(tmp, NULL);
}

/* Finite v laid out as ECMAScript (and Go's protojson) do: plain decimal for
 * 1e-6 <= |v| < 1e21, exponent form otherwise. */
static void put_double(FILE *out, double v) {
  if (v == 0) {
    fputs(signbit(v) ? "-0" : "0", out);
    return;
  }
  char tmp[40], digits[24];
  size_t nd = 0;
  shortest_exp(v, 0, tmp, sizeof(tmp));
  /* tmp is "[-]D[.DDD]e[+-]XX": split into digits and exponent */
  const char *p = tmp;
  if (*p == '-')
    fputc(*p++, out);
  for (; *p != 'e'; p++)
    if (*p != '.')
      digits[nd++] = *p;
  int exp = atoi(p + 1);
  double mag = fabs(v);
  if (mag >= 1e-6 && mag < 1e21) {
    if (exp < 0) {
      fputs("0.", out);
      for (int i = -1; i > exp; i--)
        fputc('0', out);
      fwrite(digits, 1, nd, out);
    } else if ((size_t)exp + 1 >= nd) {
      fwrite(digits, 1, nd, out);
      for (size_t i = nd; i < (size_t)exp + 1; i++)
        fputc('0', out);
    } else {
      fwrite(digits, 1, (size_t)exp + 1, out);
      fputc('.', out);
      fwrite(digits + exp + 1, 1, nd - (size_t)exp - 1, out);
    }
  } else {
    fputc(digits[0], out);
    if (nd > 1) {
      fputc('.', out);
      fwrite(digits + 1, 1, nd - 1, out);
    }
    fprintf(out, "e%c%d", exp < 0 ? '-' : '+', abs(exp));
  }
}

/* Copies jansson's text, rewriting reals and \u escapes. Outside strings jansson writes only
 * punctuation, whitespace, literals and numbers; a number with '.' or 'e' is a real, and
 * "%.17g" reads back exactly. */
static void respell(FILE *out, const char *p) {
  int in_str = 0;
  while (*p) {
    if (in_str) {
      if (*p == '\\') {
        size_t n = p[1] == 'u' ? 6 : 2;
        for (size_t i = 0; i < n; i++)
          fputc(tolower((unsigned char)p[i]), out);
        p += n;
        continue;
      }
      in_str = *p != '"';
      fputc(*p++, out);
    } else if (*p == '-' || isdigit((unsigned char)*p)) {
      size_t n = strspn(p, "0123456789+-.eE");
      if (memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n))
        put_double(out, strtod(p, NULL));
      else
        fwrite(p, 1, n, out);
      p += n;
    } else {
      in_str = *p == '"';
      fputc(*p++, out);
    }
  }
}

int pl_pbjson_dumps(const json_t *json, int flags, char **ptext) {
  size_t jflags = JSON_ENCODE_ANY | JSON_REAL_PRECISION(17) |
                  ((flags & PL_PBJSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT);
  char *raw, *text = NULL;
  size_t len;
  *ptext = NULL;
  if (json == NULL)
    return PL_ERR_INVALID;
  if ((raw = json_dumps(json, jflags)) == NULL)
    return PL_ERR_NOMEM;
  FILE *out = open_memstream(&text, &len);
  if (out == NULL) {
    free(raw);
    return PL_ERR_NOMEM;
  }
  respell(out, raw);
  free(raw);
  int bad = ferror(out);
  if (fclose(out) != 0 || bad) {
    free(text);
    return PL_ERR_NOMEM;
  }
  *ptext = text;
  return 0;
}
