#include "control/common/pbjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

/* protobuf-c's own unpacker recurses without a limit; stop well before the stack does. */
#define MAX_DEPTH 100

typedef struct {
  char *data;
  size_t len, cap;
  int rv; /* first error; once set, every write is a no-op */
  int flags;
  int depth;   /* open containers, for indentation */
  int nesting; /* messages being written */
} jbuf;

static void put(jbuf *b, const char *s, size_t n) {
  if (b->rv)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
      b->rv = PL_ERR_NOMEM;
      return;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void puts_(jbuf *b, const char *s) {
  put(b, s, strlen(s));
}

static void putf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(jbuf *b, const char *fmt, ...) {
  char tmp[64]; /* numbers only */
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  put(b, tmp, n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- containers: commas, and newlines plus indentation in pretty mode ---- */

static void newline(jbuf *b) {
  if (!(b->flags & PL_PBJSON_PRETTY))
    return;
  put(b, "\n", 1);
  for (int i = 0; i < b->depth; i++)
    put(b, "  ", 2);
}

static void open_(jbuf *b, char c) {
  put(b, &c, 1);
  b->depth++;
}

static void item(jbuf *b, int *count) {
  if ((*count)++)
    put(b, ",", 1);
  newline(b);
}

static void close_(jbuf *b, char c, int count) {
  b->depth--;
  if (count)
    newline(b);
  put(b, &c, 1);
}

static void colon(jbuf *b) {
  puts_(b, (b->flags & PL_PBJSON_PRETTY) ? ": " : ":");
}

/* ---- scalars ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len;
  uint32_t cp, min;
  if (s[0] < 0xC2 || s[0] > 0xF4)
    return 0;
  if (s[0] < 0xE0) {
    len = 2, cp = s[0] & 0x1F, min = 0x80;
  } else if (s[0] < 0xF0) {
    len = 3, cp = s[0] & 0x0F, min = 0x800;
  } else {
    len = 4, cp = s[0] & 0x07, min = 0x10000;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/* Invalid UTF-8 becomes U+FFFD so the output is always valid JSON. */
static void put_string_n(jbuf *b, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  put(b, "\"", 1);
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
      run++;
    put(b, str + i, run - i);
    i = run;
    if (i == n)
      break;
    unsigned char c = s[i];
    if (c >= 0x80) {
      size_t len = utf8_len(s + i, n - i);
      if (len) {
        put(b, str + i, len);
        i += len;
      } else {
        puts_(b, "\\ufffd");
        i++;
      }
      continue;
    }
    switch (c) {
    case '"': puts_(b, "\\\""); break;
    case '\\': puts_(b, "\\\\"); break;
    case '\b': puts_(b, "\\b"); break;
    case '\f': puts_(b, "\\f"); break;
    case '\n': puts_(b, "\\n"); break;
    case '\r': puts_(b, "\\r"); break;
    case '\t': puts_(b, "\\t"); break;
    default: putf(b, "\\u%04x", c); break;
    }
    i++;
  }
  put(b, "\"", 1);
}

static void put_string(jbuf *b, const char *s) {
  put_string_n(b, s ? s : "", s ? strlen(s) : 0);
}

static void put_base64(jbuf *b, const uint8_t *d, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  put(b, "\"", 1);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)d[i + 1] << 8;
    if (i + 2 < n)
      v |= d[i + 2];
    char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                 i + 2 < n ? tab[v & 63] : '='};
    put(b, q, 4);
  }
  put(b, "\"", 1);
}

/* Shortest digits that read back to the same value, laid out as ECMAScript (and Go's
 * protojson) do: plain decimal for 1e-6 <= |v| < 1e21, exponent form otherwise. */
static void put_double(jbuf *b, double v, int is_float) {
  if (isnan(v)) {
    puts_(b, "\"NaN\"");
    return;
  }
  if (isinf(v)) {
    puts_(b, v < 0 ? "\"-Infinity\"" : "\"Infinity\"");
    return;
  }
  if (v == 0) {
    puts_(b, signbit(v) ? "-0" : "0");
    return;
  }
  char tmp[40];
  for (int prec = 0; prec <= 16; prec++) {
    snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
    if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
      break;
  }
  /* tmp is "[-]D[.DDD]e[+-]XX": split into digits and exponent */
  char digits[24];
  size_t nd = 0;
  const char *p = tmp;
  if (*p == '-')
    put(b, p++, 1);
  for (; *p != 'e'; p++)
    if (*p != '.')
      digits[nd++] = *p;
  int exp = atoi(p + 1);
  double mag = fabs(v);
  if (mag >= 1e-6 && mag < 1e21) {
    if (exp < 0) {
      puts_(b, "0.");
      for (int i = -1; i > exp; i--)
        put(b, "0", 1);
      put(b, digits, nd);
    } else if ((size_t)exp + 1 >= nd) {
      put(b, digits, nd);
      for (size_t i = nd; i < (size_t)exp + 1; i++)
        put(b, "0", 1);
    } else {
      put(b, digits, (size_t)exp + 1);
      put(b, ".", 1);
      put(b, digits + exp + 1, nd - (size_t)exp - 1);
    }
  } else {
    put(b, digits, 1);
    if (nd > 1) {
      put(b, ".", 1);
      put(b, digits + 1, nd - 1);
    }
    putf(b, "e%c%d", exp < 0 ? '-' : '+', abs(exp));
  }
}

/* protoc's JSON name: drop underscores, capitalize the letter after each. */
void pl_pbjson_json_name(const char *proto_name, char *out, size_t outlen) {
  size_t n = 0;
  int upper = 0;
  if (!outlen)
    return;
  for (const char *s = proto_name; *s && n + 1 < outlen; s++) {
    if (*s == '_') {
      upper = 1;
      continue;
    }
    out[n++] = (upper && *s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
    upper = 0;
  }
  out[n] = '\0';
}

/* `s` in lowerCamelCase as a JSON string (or as is with PL_PBJSON_PROTO_NAMES). */
static void put_name(jbuf *b, const char *s, int camel) {
  char stack[64], *name = stack;
  size_t len = strlen(s);
  if (!camel) {
    put_string_n(b, s, len);
    return;
  }
  if (len >= sizeof(stack) && !(name = malloc(len + 1))) {
    b->rv = b->rv ? b->rv : PL_ERR_NOMEM;
    return;
  }
  pl_pbjson_json_name(s, name, len + 1);
  put_string(b, name);
  if (name != stack)
    free(name);
}

static void put_key(jbuf *b, int *count, const char *proto_name) {
  item(b, count);
  put_name(b, proto_name, !(b->flags & PL_PBJSON_PROTO_NAMES));
  colon(b);
}

/* ---- messages ---- */

static void put_message(jbuf *b, const ProtobufCMessage *m);

#define MEMBER(m, off) ((const char *)(m) + (off))

static void put_enum(jbuf *b, const ProtobufCEnumDescriptor *ed, int v) {
  if (!strcmp(ed->name, "google.protobuf.NullValue")) {
    puts_(b, "null");
    return;
  }
  const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
  if (ev)
    put_string(b, ev->name);
  else
    putf(b, "%d", v); /* a value this build does not know: the number, as the mapping says */
}

/* One value of field f's type stored at p (not a repeated array). */
static void put_value(jbuf *b, const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32: putf(b, "%" PRId32, *(const int32_t *)p); break;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32: putf(b, "%" PRIu32, *(const uint32_t *)p); break;
  /* JSON numbers lose precision past 2^53 in most readers. */
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64: putf(b, "\"%" PRId64 "\"", *(const int64_t *)p); break;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64: putf(b, "\"%" PRIu64 "\"", *(const uint64_t *)p); break;
  case PROTOBUF_C_TYPE_FLOAT: put_double(b, *(const float *)p, 1); break;
  case PROTOBUF_C_TYPE_DOUBLE: put_double(b, *(const double *)p, 0); break;
  case PROTOBUF_C_TYPE_BOOL: puts_(b, *(const protobuf_c_boolean *)p ? "true" : "false"); break;
  case PROTOBUF_C_TYPE_ENUM: put_enum(b, f->descriptor, *(const int *)p); break;
  case PROTOBUF_C_TYPE_STRING: put_string(b, *(const char *const *)p); break;
  case PROTOBUF_C_TYPE_BYTES: {
    const ProtobufCBinaryData *bd = p;
    put_base64(b, bd->data, bd->len);
    break;
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
    if (sub)
      put_message(b, sub);
    else
      puts_(b, "null");
    break;
  }
  }
}

static size_t elt_size(ProtobufCType t) {
  switch (t) {
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
  case PROTOBUF_C_TYPE_DOUBLE: return 8;
  case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
  case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
  default: return 4; /* 32-bit integers, float, enum */
  }
}

/* protoc turns map<K, V> into `repeated <Field>Entry` with key = 1, value = 2, nested in the
 * parent; protobuf-c keeps no map flag, so recognize that shape. */
static int is_map(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *f) {
  if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
    return 0;
  const ProtobufCMessageDescriptor *e = f->descriptor;
  size_t pl = strlen(parent->name), sl = strlen(e->short_name);
  return e->n_fields == 2 && e->fields[0].id == 1 && !strcmp(e->fields[0].name, "key") &&
         e->fields[1].id == 2 && !strcmp(e->fields[1].name, "value") && sl > 5 &&
         !strcmp(e->short_name + sl - 5, "Entry") && !strncmp(e->name, parent->name, pl) &&
         e->name[pl] == '.' && !strcmp(e->name + pl + 1, e->short_name);
}

static void put_map(jbuf *b, const ProtobufCFieldDescriptor *f, size_t n,
                    const ProtobufCMessage *const *entries) {
  const ProtobufCMessageDescriptor *ed = f->descriptor;
  const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
  int count = 0;
  open_(b, '{');
  for (size_t i = 0; i < n; i++) {
    const void *k = MEMBER(entries[i], kf->offset), *v = MEMBER(entries[i], vf->offset);
    item(b, &count);
    /* keys are strings in JSON: quote whatever scalar the key is */
    if (kf->type == PROTOBUF_C_TYPE_STRING)
      put_string(b, *(const char *const *)k);
    else if (kf->type == PROTOBUF_C_TYPE_BOOL)
      puts_(b, *(const protobuf_c_boolean *)k ? "\"true\"" : "\"false\"");
    else if (elt_size(kf->type) == 8)
      put_value(b, kf, k); /* 64-bit values are already quoted */
    else {
      put(b, "\"", 1);
      put_value(b, kf, k);
      put(b, "\"", 1);
    }
    colon(b);
    if (vf->type == PROTOBUF_C_TYPE_MESSAGE && !*(const void *const *)v)
      puts_(b, "{}"); /* a missing map value is the default message */
    else
      put_value(b, vf, v);
  }
  close_(b, '}', count);
}

static void put_repeated(jbuf *b, const ProtobufCMessageDescriptor *md,
                         const ProtobufCFieldDescriptor *f, size_t n, const void *arr) {
  if (is_map(md, f)) {
    put_map(b, f, n, arr);
    return;
  }
  int count = 0;
  size_t sz = elt_size(f->type);
  open_(b, '[');
  for (size_t i = 0; i < n; i++) {
    item(b, &count);
    put_value(b, f, (const char *)arr + i * sz);
  }
  close_(b, ']', count);
}

static int is_zero(const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(const char *const *)p;
    return !s || !*s;
  }
  case PROTOBUF_C_TYPE_MESSAGE: return !*(const void *const *)p;
  case PROTOBUF_C_TYPE_BYTES: return !((const ProtobufCBinaryData *)p)->len;
  case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
  case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0 && !signbit(*(const float *)p);
  case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0 && !signbit(*(const double *)p);
  default: {
    static const uint8_t zeros[8];
    return !memcmp(p, zeros, elt_size(f->type));
  }
  }
}

static int is_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, int flags) {
  const void *p = MEMBER(m, f->offset);
  int is_ptr = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    if (*(const uint32_t *)MEMBER(m, f->quantifier_offset) != f->id)
      return 0;
    return !is_ptr || *(const void *const *)p;
  }
  switch (f->label) {
  case PROTOBUF_C_LABEL_REQUIRED: return 1;
  case PROTOBUF_C_LABEL_REPEATED:
    return *(const size_t *)MEMBER(m, f->quantifier_offset) || (flags & PL_PBJSON_EMIT_DEFAULTS);
  case PROTOBUF_C_LABEL_OPTIONAL:
    if (flags & PL_PBJSON_EMIT_DEFAULTS)
      return 1; /* unset proto2 fields hold their declared default */
    if (is_ptr) {
      const void *v = *(const void *const *)p;
      return v && v != f->default_value;
    }
    return *(const protobuf_c_boolean *)MEMBER(m, f->quantifier_offset);
  case PROTOBUF_C_LABEL_NONE:
  default: return (flags & PL_PBJSON_EMIT_DEFAULTS) || !is_zero(f, p);
  }
}

static void put_fields(jbuf *b, const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *md = m->descriptor;
  int count = 0;
  open_(b, '{');
  for (unsigned i = 0; i < md->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &md->fields[i];
    if (!is_present(m, f, b->flags))
      continue;
    put_key(b, &count, f->name);
    const void *p = MEMBER(m, f->offset);
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
      put_repeated(b, md, f, *(const size_t *)MEMBER(m, f->quantifier_offset),
                   *(const void *const *)p);
    else
      put_value(b, f, p);
  }
  close_(b, '}', count);
}

/* ---- well-known types ---- */

static const void *wkt_field(const ProtobufCMessage *m, const char *name,
                             const ProtobufCFieldDescriptor **pf) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
  if (pf)
    *pf = f;
  return f ? MEMBER(m, f->offset) : NULL;
}

static void put_nanos(jbuf *b, int32_t nanos) {
  if (nanos == 0)
    return;
  if (nanos % 1000000 == 0)
    putf(b, ".%03" PRId32, nanos / 1000000);
  else if (nanos % 1000 == 0)
    putf(b, ".%06" PRId32, nanos / 1000);
  else
    putf(b, ".%09" PRId32, nanos);
}

/* 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z, as RFC 3339 with "Z". */
static void put_timestamp(jbuf *b, int64_t secs, int32_t nanos) {
  if (secs < -62135596800LL || secs > 253402300799LL || nanos < 0 || nanos > 999999999) {
    b->rv = b->rv ? b->rv : PL_ERR_INVALID;
    return;
  }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0)
    rem += 86400, days--;
  /* civil-from-days (proleptic Gregorian), days counted from 1970-01-01 */
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1, mo = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (mo <= 2);
  putf(b, "\"%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRId64 ":%02" PRId64 ":%02" PRId64, y,
       mo, d, rem / 3600, rem / 60 % 60, rem % 60);
  put_nanos(b, nanos);
  puts_(b, "Z\"");
}

static void put_duration(jbuf *b, int64_t secs, int32_t nanos) {
  if (secs < -315576000000LL || secs > 315576000000LL || nanos < -999999999 || nanos > 999999999 ||
      (secs > 0 && nanos < 0) || (secs < 0 && nanos > 0)) {
    b->rv = b->rv ? b->rv : PL_ERR_INVALID;
    return;
  }
  int neg = secs < 0 || nanos < 0;
  putf(b, "\"%s%" PRIu64, neg ? "-" : "", neg ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs);
  put_nanos(b, neg ? -nanos : nanos);
  puts_(b, "s\"");
}

/* "a_b.c_d" paths → "aB.cD,..." (the mapping joins the camelCased paths with commas) */
static void put_field_mask(jbuf *b, size_t n, char *const *paths) {
  jbuf tmp = {.flags = b->flags};
  for (size_t i = 0; i < n; i++) {
    size_t start = tmp.len;
    if (i)
      put(&tmp, ",", 1);
    put(&tmp, paths[i], strlen(paths[i]));
    if (!tmp.rv)
      pl_pbjson_json_name(tmp.data + start, tmp.data + start, tmp.len - start + 1);
    tmp.len = tmp.rv ? 0 : strlen(tmp.data);
  }
  if (tmp.rv)
    b->rv = b->rv ? b->rv : tmp.rv;
  else
    put_string_n(b, tmp.data ? tmp.data : "", tmp.len);
  free(tmp.data);
}

/* Returns 1 when m was a well-known type and has been written. */
static int put_wkt(jbuf *b, const ProtobufCMessage *m) {
  const char *name = m->descriptor->name;
  const ProtobufCFieldDescriptor *f;
  const void *p;
  if (strncmp(name, "google.protobuf.", 16))
    return 0;
  name += 16;
  if (!strcmp(name, "Timestamp") || !strcmp(name, "Duration")) {
    const int64_t *secs = wkt_field(m, "seconds", NULL);
    const int32_t *nanos = wkt_field(m, "nanos", NULL);
    if (!secs || !nanos)
      return 0;
    (name[0] == 'T' ? put_timestamp : put_duration)(b, *secs, *nanos);
    return 1;
  }
  size_t nl = strlen(name);
  if (nl > 5 && !strcmp(name + nl - 5, "Value") && strcmp(name, "Value") &&
      strcmp(name, "ListValue") && (p = wkt_field(m, "value", &f)) &&
      f->label != PROTOBUF_C_LABEL_REPEATED) {
    put_value(b, f, p); /* DoubleValue, Int64Value, StringValue, ...: the bare value */
    return 1;
  }
  if (!strcmp(name, "FieldMask") && (p = wkt_field(m, "paths", &f))) {
    put_field_mask(b, *(const size_t *)MEMBER(m, f->quantifier_offset), *(char *const *const *)p);
    return 1;
  }
  if (!strcmp(name, "Struct") && (p = wkt_field(m, "fields", &f)) && is_map(m->descriptor, f)) {
    put_map(b, f, *(const size_t *)MEMBER(m, f->quantifier_offset), *(const void *const *)p);
    return 1;
  }
  if (!strcmp(name, "ListValue") && (p = wkt_field(m, "values", &f))) {
    put_repeated(b, m->descriptor, f, *(const size_t *)MEMBER(m, f->quantifier_offset),
                 *(const void *const *)p);
    return 1;
  }
  if (!strcmp(name, "Any") && (p = wkt_field(m, "type_url", &f)) && is_zero(f, p) &&
      (p = wkt_field(m, "value", &f)) && is_zero(f, p)) {
    puts_(b, "{}"); /* the empty Any; anything else needs a type registry we do not have */
    return 1;
  }
  if (!strcmp(name, "Value")) {
    for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
      f = &m->descriptor->fields[i];
      if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
          *(const uint32_t *)MEMBER(m, f->quantifier_offset) == f->id) {
        put_value(b, f, MEMBER(m, f->offset));
        return 1;
      }
    }
    puts_(b, "null"); /* no kind set */
    return 1;
  }
  return 0;
}

static void put_message(jbuf *b, const ProtobufCMessage *m) {
  if (b->rv)
    return;
  if (!m->descriptor || m->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) {
    b->rv = PL_ERR_INVALID;
    return;
  }
  if (b->nesting >= MAX_DEPTH) {
    b->rv = PL_ERR_TOO_BIG;
    return;
  }
  b->nesting++;
  if (!put_wkt(b, m))
    put_fields(b, m);
  b->nesting--;
}

int pl_pbjson_encode(const ProtobufCMessage *msg, int flags, char **pjson) {
  jbuf b = {.flags = flags};
  *pjson = NULL;
  if (!msg)
    return PL_ERR_INVALID;
  put_message(&b, msg);
  if (!b.rv && !b.data)
    put(&b, "", 0);
  if (b.rv) {
    free(b.data);
    return b.rv;
  }
  *pjson = b.data;
  return 0;
}
