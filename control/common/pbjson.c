/* protobuf-c message → jansson value: the descriptor walk (no packaged C library converts
 * protobuf-c messages to JSON). pbjson_text.c writes the text. */

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

#define MEMBER(m, off) ((const char *)(m) + (off))

typedef struct {
  int flags;
  int rv;      /* first error */
  int nesting; /* messages being written */
} walk;

/* Records a failed jansson constructor (it returns NULL only when out of memory); jansson's
 * setters ignore a NULL value, so the walk goes on and reports the error at the end. */
static json_t *made(walk *w, json_t *j) {
  if (j == NULL && w->rv == 0)
    w->rv = PL_ERR_NOMEM;
  return j;
}

/* ---- scalars ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len;
  uint32_t cp, min;
  if (s[0] < 0x80)
    return 1;
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

/* jansson refuses invalid UTF-8; each invalid byte becomes U+FFFD so the output is always
 * valid JSON. */
static json_t *string_json(walk *w, const char *str) {
  const unsigned char *s = (const unsigned char *)(str ? str : "");
  size_t n = strlen((const char *)s), i = 0, len;
  while (i < n && (len = utf8_len(s + i, n - i)) != 0)
    i += len;
  if (i == n)
    return made(w, json_stringn_nocheck((const char *)s, n));
  char *fixed = malloc(3 * n), *o = fixed;
  if (fixed == NULL)
    return made(w, NULL);
  for (i = 0; i < n; i += len ? len : 1) {
    if ((len = utf8_len(s + i, n - i)) != 0) {
      memcpy(o, s + i, len);
      o += len;
    } else {
      memcpy(o, "\xef\xbf\xbd", 3);
      o += 3;
    }
  }
  json_t *j = made(w, json_stringn_nocheck(fixed, (size_t)(o - fixed)));
  free(fixed);
  return j;
}

static json_t *base64_json(walk *w, const uint8_t *d, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
  if (out == NULL)
    return made(w, NULL);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)d[i + 1] << 8;
    if (i + 2 < n)
      v |= d[i + 2];
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    *o++ = i + 2 < n ? tab[v & 63] : '=';
  }
  json_t *j = made(w, json_stringn_nocheck(out, (size_t)(o - out)));
  free(out);
  return j;
}

static json_t *double_json(walk *w, double v) {
  if (isnan(v))
    return made(w, json_string("NaN"));
  if (isinf(v))
    return made(w, json_string(v < 0 ? "-Infinity" : "Infinity"));
  return made(w, json_real(v));
}

/* JSON numbers lose precision past 2^53 in most readers: the mapping quotes 64-bit values. */
static json_t *int64_json(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *int64_json(walk *w, const char *fmt, ...) {
  char tmp[24];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  return made(w, json_string(tmp));
}

static json_t *enum_json(walk *w, const ProtobufCEnumDescriptor *ed, int v) {
  const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
  if (ev)
    return made(w, json_string(ev->name));
  return made(w, json_integer(v)); /* a value this build does not know: the number */
}

/* ---- messages ---- */

static json_t *message_json(walk *w, const ProtobufCMessage *m);

/* One value of field f's type stored at p (not a repeated array). */
static json_t *value_json(walk *w, const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32: return made(w, json_integer(*(const int32_t *)p));
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32: return made(w, json_integer(*(const uint32_t *)p));
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64: return int64_json(w, "%" PRId64, *(const int64_t *)p);
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64: return int64_json(w, "%" PRIu64, *(const uint64_t *)p);
  case PROTOBUF_C_TYPE_FLOAT: return double_json(w, pl_pbjson__float_value(*(const float *)p));
  case PROTOBUF_C_TYPE_DOUBLE: return double_json(w, *(const double *)p);
  case PROTOBUF_C_TYPE_BOOL: return made(w, json_boolean(*(const protobuf_c_boolean *)p));
  case PROTOBUF_C_TYPE_ENUM: return enum_json(w, f->descriptor, *(const int *)p);
  case PROTOBUF_C_TYPE_STRING: return string_json(w, *(const char *const *)p);
  case PROTOBUF_C_TYPE_BYTES: {
    const ProtobufCBinaryData *bd = p;
    return base64_json(w, bd->data, bd->len);
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
    return sub ? message_json(w, sub) : made(w, json_null());
  }
  }
  w->rv = w->rv ? w->rv : PL_ERR_INVALID;
  return NULL;
}

size_t pl_pbjson_field_size(ProtobufCType t) {
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

static json_t *repeated_json(walk *w, const ProtobufCFieldDescriptor *f, size_t n,
                             const void *arr) {
  json_t *a = made(w, json_array());
  size_t sz = pl_pbjson_field_size(f->type);
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, value_json(w, f, (const char *)arr + i * sz)) != 0)
      made(w, NULL);
  return a;
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
    return !memcmp(p, zeros, pl_pbjson_field_size(f->type));
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

/* Sets obj[name in the chosen spelling] = v (v may be NULL after a failure). */
static void set_field(walk *w, json_t *obj, const char *proto_name, json_t *v) {
  char stack[64], *name = stack;
  size_t len = strlen(proto_name);
  if (w->flags & PL_PBJSON_PROTO_NAMES) {
    if (json_object_set_new_nocheck(obj, proto_name, v) != 0)
      made(w, NULL);
    return;
  }
  if (len >= sizeof(stack) && (name = malloc(len + 1)) == NULL) {
    json_decref(v);
    made(w, NULL);
    return;
  }
  pl_pbjson_json_name(proto_name, name, len + 1);
  if (json_object_set_new_nocheck(obj, name, v) != 0)
    made(w, NULL);
  if (name != stack)
    free(name);
}

static json_t *fields_json(walk *w, const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *md = m->descriptor;
  json_t *obj = made(w, json_object());
  for (unsigned i = 0; obj && i < md->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &md->fields[i];
    if (!is_present(m, f, w->flags))
      continue;
    const void *p = MEMBER(m, f->offset);
    json_t *v = f->label == PROTOBUF_C_LABEL_REPEATED
                    ? repeated_json(w, f, *(const size_t *)MEMBER(m, f->quantifier_offset),
                                    *(const void *const *)p)
                    : value_json(w, f, p);
    set_field(w, obj, f->name, v);
  }
  return obj;
}

static json_t *message_json(walk *w, const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *md = m->descriptor;
  if (w->rv)
    return NULL;
  if (!md || md->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC ||
      (!strncmp(md->name, "google.protobuf.", 16) && strcmp(md->name, "google.protobuf.Empty"))) {
    w->rv = PL_ERR_INVALID; /* well-known types have their own JSON forms: not built */
    return NULL;
  }
  if (w->nesting >= MAX_DEPTH) {
    w->rv = PL_ERR_TOO_BIG;
    return NULL;
  }
  w->nesting++;
  json_t *obj = fields_json(w, m);
  w->nesting--;
  return obj;
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

int pl_pbjson_to_json(const ProtobufCMessage *msg, int flags, json_t **pjson) {
  walk w = {.flags = flags};
  *pjson = NULL;
  if (!msg)
    return PL_ERR_INVALID;
  json_t *j = message_json(&w, msg);
  if (w.rv) {
    json_decref(j);
    return w.rv;
  }
  *pjson = j;
  return 0;
}

int pl_pbjson_encode(const ProtobufCMessage *msg, int flags, char **pjson) {
  json_t *j;
  *pjson = NULL;
  int rv = pl_pbjson_to_json(msg, flags, &j);
  if (rv == 0) {
    rv = pl_pbjson_dumps(j, flags, pjson);
    json_decref(j);
  }
  return rv;
}
