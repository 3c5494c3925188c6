/* JSON signalling: a generic proto3-JSON → protobuf-c decoder for RegisterRequest (only the
 * field types the rendezvous protos use: no maps, no well-known types), and the encoders, which
 * are control/common/pbjson's. Field errors name the path so that a person can fix the client. */
#include "control/rendezvous/json_sig.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/pbjson.h"

#define MAX_DEPTH 16

typedef struct dec {
  char *err;
  size_t errlen;
  char path[256];
} dec;

static int fail(dec *d, int rv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(dec *d, int rv, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(d->err, d->errlen, "%s%s%s", d->path, d->path[0] ? ": " : "", msg);
  return rv;
}

static int b64_value(int c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

/* Standard or URL-safe base64, padding optional (as protojson reads it). */
static int b64_decode(const char *s, size_t n, ProtobufCBinaryData *out) {
  while (n > 0 && s[n - 1] == '=')
    n--;
  if (n % 4 == 1)
    return PL_ERR_PARSE;
  uint8_t *p = malloc(n * 3 / 4 + 1);
  if (!p)
    return PL_ERR_NOMEM;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value((unsigned char)s[i]);
    if (v < 0) {
      free(p);
      return PL_ERR_PARSE;
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      p[o++] = (uint8_t)(acc >> bits);
    }
  }
  out->data = p;
  out->len = o;
  return 0;
}

/* An integer given as a JSON integer or a decimal string. */
static int int_value(dec *d, const json_t *j, int is_signed, int64_t *pv, uint64_t *pu) {
  if (json_is_integer(j)) {
    json_int_t v = json_integer_value(j);
    if (!is_signed && v < 0)
      return fail(d, PL_ERR_PARSE, "must not be negative");
    *pv = v;
    *pu = (uint64_t)v;
    return 0;
  }
  if (json_is_string(j)) {
    const char *s = json_string_value(j);
    char *end;
    errno = 0;
    if (is_signed)
      *pv = strtoll(s, &end, 10), *pu = (uint64_t)*pv;
    else
      *pu = strtoull(s, &end, 10), *pv = (int64_t)*pu;
    if (errno == 0 && end != s && *end == '\0' && (is_signed || s[0] != '-'))
      return 0;
  }
  return fail(d, PL_ERR_PARSE, "an integer expected");
}

static int message_decode(dec *d, const ProtobufCMessageDescriptor *md, const json_t *obj,
                          ProtobufCMessage **pm, int depth);

/* One value of field f into the memory at p. */
static int value_decode(dec *d, const ProtobufCFieldDescriptor *f, const json_t *j, void *p,
                        int depth) {
  int64_t v;
  uint64_t u;
  int rv;
  switch (f->type) {
  case PROTOBUF_C_TYPE_BOOL:
    if (!json_is_boolean(j))
      return fail(d, PL_ERR_PARSE, "true or false expected");
    *(protobuf_c_boolean *)p = json_is_true(j);
    return 0;
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    if ((rv = int_value(d, j, 1, &v, &u)) != 0)
      return rv;
    if (v < INT32_MIN || v > INT32_MAX)
      return fail(d, PL_ERR_PARSE, "out of range for int32");
    *(int32_t *)p = (int32_t)v;
    return 0;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if ((rv = int_value(d, j, 0, &v, &u)) != 0)
      return rv;
    if (u > UINT32_MAX)
      return fail(d, PL_ERR_PARSE, "out of range for uint32");
    *(uint32_t *)p = (uint32_t)u;
    return 0;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    if ((rv = int_value(d, j, 1, &v, &u)) != 0)
      return rv;
    *(int64_t *)p = v;
    return 0;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    if ((rv = int_value(d, j, 0, &v, &u)) != 0)
      return rv;
    *(uint64_t *)p = u;
    return 0;
  case PROTOBUF_C_TYPE_FLOAT:
  case PROTOBUF_C_TYPE_DOUBLE:
    if (!json_is_number(j))
      return fail(d, PL_ERR_PARSE, "a number expected");
    if (f->type == PROTOBUF_C_TYPE_FLOAT)
      *(float *)p = (float)json_number_value(j);
    else
      *(double *)p = json_number_value(j);
    return 0;
  case PROTOBUF_C_TYPE_ENUM: {
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    if (json_is_integer(j)) {
      json_int_t n = json_integer_value(j);
      if (n < INT32_MIN || n > INT32_MAX)
        return fail(d, PL_ERR_PARSE, "out of range for an enum");
      *(int *)p = (int)n;
      return 0;
    }
    if (json_is_string(j)) {
      for (unsigned i = 0; i < ed->n_values; i++)
        if (strcmp(ed->values[i].name, json_string_value(j)) == 0) {
          *(int *)p = ed->values[i].value;
          return 0;
        }
    }
    return fail(d, PL_ERR_PARSE, "one of %s's value names expected", ed->name);
  }
  case PROTOBUF_C_TYPE_STRING: {
    if (!json_is_string(j))
      return fail(d, PL_ERR_PARSE, "a string expected");
    size_t n = json_string_length(j);
    if (memchr(json_string_value(j), '\0', n))
      return fail(d, PL_ERR_PARSE, "a string without NUL expected");
    char *s = strdup(json_string_value(j));
    if (!s)
      return PL_ERR_NOMEM;
    *(char **)p = s;
    return 0;
  }
  case PROTOBUF_C_TYPE_BYTES:
    if (!json_is_string(j))
      return fail(d, PL_ERR_PARSE, "a base64 string expected");
    rv = b64_decode(json_string_value(j), json_string_length(j), p);
    return rv == PL_ERR_PARSE ? fail(d, rv, "a base64 string expected") : rv;
  case PROTOBUF_C_TYPE_MESSAGE: return message_decode(d, f->descriptor, j, p, depth + 1);
  }
  return fail(d, PL_ERR_PARSE, "unsupported field type");
}

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *md,
                                                   const char *key, unsigned *pindex) {
  char json_name[128];
  for (unsigned i = 0; i < md->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &md->fields[i];
    pl_pbjson_json_name(f->name, json_name, sizeof json_name);
    if (strcmp(key, f->name) == 0 || strcmp(key, json_name) == 0) {
      *pindex = i;
      return f;
    }
  }
  return NULL;
}

static int field_decode(dec *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                        const json_t *j, int depth) {
  char *base = (char *)m;
  if (json_is_null(j))
    return 0; /* protojson: null is the default value */
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    if (!json_is_array(j))
      return fail(d, PL_ERR_PARSE, "a list expected");
    size_t n = json_array_size(j), sz = pl_pbjson_field_size(f->type), plen = strlen(d->path);
    if (n == 0)
      return 0;
    void *arr = calloc(n, sz);
    if (!arr)
      return PL_ERR_NOMEM;
    *(void **)(base + f->offset) = arr;
    size_t *pn = (size_t *)(base + f->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
      snprintf(d->path + plen, sizeof d->path - plen, "[%zu]", i);
      /* Counted before they are filled: free_unpacked frees what is there (a NULL too). */
      *pn = i + 1;
      int rv = value_decode(d, f, json_array_get(j, i), (char *)arr + i * sz, depth);
      if (rv != 0)
        return rv;
    }
    d->path[plen] = '\0';
    return 0;
  }
  /* A oneof's case is set first, so that free_unpacked frees a member that failed half-way. */
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    *(uint32_t *)(base + f->quantifier_offset) = f->id;
  int rv = value_decode(d, f, j, base + f->offset, depth);
  if (rv == 0 && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
      f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
      f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
    *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
  return rv;
}

static int message_decode(dec *d, const ProtobufCMessageDescriptor *md, const json_t *obj,
                          ProtobufCMessage **pm, int depth) {
  if (depth > MAX_DEPTH)
    return fail(d, PL_ERR_TOO_BIG, "nested over %d deep", MAX_DEPTH);
  if (!json_is_object(obj))
    return fail(d, PL_ERR_PARSE, "an object expected");
  ProtobufCMessage *m = calloc(1, md->sizeof_message);
  if (!m)
    return PL_ERR_NOMEM;
  md->message_init(m);
  *pm = m;
  const char *key;
  json_t *v;
  size_t plen = strlen(d->path);
  uint64_t seen = 0;
  json_object_foreach((json_t *)obj, key, v) {
    unsigned index;
    snprintf(d->path + plen, sizeof d->path - plen, "%s%s", plen ? "." : "", key);
    const ProtobufCFieldDescriptor *f = field_named(md, key, &index);
    if (!f || index >= 64)
      return fail(d, PL_ERR_PARSE, "unknown field");
    /* Both spellings of one name ("peerId", "peer_id") would set it twice. */
    if (seen & (UINT64_C(1) << index))
      return fail(d, PL_ERR_PARSE, "given twice");
    seen |= UINT64_C(1) << index;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && !json_is_null(v) &&
        *(uint32_t *)((char *)m + f->quantifier_offset) != 0)
      return fail(d, PL_ERR_INVALID, "a second member of a oneof");
    int rv = field_decode(d, m, f, v, depth);
    if (rv != 0)
      return rv;
    d->path[plen] = '\0';
  }
  return 0;
}

int pl_rdv_json_request(const char *text, size_t len, Peerlink__V1__RegisterRequest **preq,
                        char *err, size_t errlen) {
  dec d = {err, errlen, ""};
  json_error_t je;
  *preq = NULL;
  if (len > PL_RDV_JSON_MAX)
    return fail(&d, PL_ERR_TOO_BIG, "message of %zu bytes is over the limit of %d", len,
                PL_RDV_JSON_MAX);
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return fail(&d, PL_ERR_PARSE, "not JSON: %s (line %d column %d)", je.text, je.line, je.column);
  int rv;
  if (!json_is_object(root)) {
    rv = fail(&d, PL_ERR_PARSE, "a JSON object expected");
  } else if (json_object_size(root) != 1) {
    rv = fail(&d, PL_ERR_INVALID,
              "exactly one message type expected: hello, candidates, pair, relay, watch or "
              "unwatch");
  } else {
    const char *key = json_object_iter_key(json_object_iter(root));
    unsigned index;
    if (!field_named(&peerlink__v1__register_request__descriptor, key, &index))
      rv = fail(&d, PL_ERR_INVALID,
                "unknown message type \"%.40s\": hello, candidates, pair, relay, watch or unwatch",
                key);
    else if (json_is_null(json_object_get(root, key)))
      rv = fail(&d, PL_ERR_INVALID, "%.40s: an object expected", key);
    else
      rv = message_decode(&d, &peerlink__v1__register_request__descriptor, root,
                          (ProtobufCMessage **)preq, 0);
  }
  json_decref(root);
  if (rv != 0 && *preq) {
    pl_rdv_json_request_free(*preq);
    *preq = NULL;
  }
  return rv;
}

void pl_rdv_json_request_free(Peerlink__V1__RegisterRequest *req) {
  if (req)
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

int pl_rdv_json_response(const Peerlink__V1__RegisterResponse *resp, char **ptext) {
  int rv = pl_pbjson_encode(&resp->base, 0, ptext);
  return rv == PL_ERR_TOO_BIG ? PL_ERR_INVALID : rv;
}

int pl_rdv_json_error(const char *code, const char *message, char **ptext) {
  *ptext = NULL;
  json_t *root = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
  if (!root)
    return PL_ERR_NOMEM;
  int rv = pl_pbjson_dumps(root, 0, ptext);
  json_decref(root);
  return rv;
}
