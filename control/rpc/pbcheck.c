/* A strict pass over protobuf wire bytes before protobuf-c sees them.
 *
 * protobuf-c does not check the wire type of a known field for most scalar types: a string
 * sent where the schema has a bool is read as `true` (its length byte taken for the value).
 * A client built from another schema would then be served nonsense instead of an error. This
 * walk rejects any known field whose wire type cannot encode its declared type, recursing into
 * sub-messages; unknown fields are skipped, as protobuf requires. */

#include "control/common/err.h"
#include "control/rpc/rpc_testing.h"

enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2, WT_32BIT = 5 };

/* Deeper nesting than this is refused rather than risking the stack. */
#define MAX_DEPTH 64

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (*p >= end)
      return -1;
    uint8_t b = *(*p)++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* The wire type a non-packed value of `type` uses. */
static int expected_wire_type(ProtobufCType type) {
  switch (type) {
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_FLOAT: return WT_32BIT;
  case PROTOBUF_C_TYPE_FIXED64:
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_DOUBLE: return WT_64BIT;
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_BYTES:
  case PROTOBUF_C_TYPE_MESSAGE: return WT_LEN;
  default: return WT_VARINT; /* int*, sint*, uint*, bool, enum */
  }
}

static int check(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *desc,
                 int depth) {
  if (depth > MAX_DEPTH)
    return PL_ERR_PARSE;
  while (p < end) {
    uint64_t key, v;
    if (read_varint(&p, end, &key) != 0)
      return PL_ERR_PARSE;
    uint64_t number = key >> 3;
    int wt = (int)(key & 7);
    if (number == 0 || number > 536870911u)
      return PL_ERR_PARSE;
    const uint8_t *value = p;
    size_t value_len = 0;
    switch (wt) {
    case WT_VARINT:
      if (read_varint(&p, end, &v) != 0)
        return PL_ERR_PARSE;
      break;
    case WT_64BIT:
    case WT_32BIT: {
      size_t n = wt == WT_64BIT ? 8 : 4;
      if ((size_t)(end - p) < n)
        return PL_ERR_PARSE;
      p += n;
      break;
    }
    case WT_LEN:
      if (read_varint(&p, end, &v) != 0 || v > (uint64_t)(end - p))
        return PL_ERR_PARSE;
      value = p;
      value_len = (size_t)v;
      p += v;
      break;
    default: return PL_ERR_PARSE; /* groups (3, 4) do not exist in proto3; 6, 7 never did */
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(desc, (unsigned)number);
    if (!f)
      continue;
    int want = expected_wire_type(f->type);
    /* Repeated scalars may come packed, in one length-delimited run. */
    int packed_ok = f->label == PROTOBUF_C_LABEL_REPEATED && want != WT_LEN && wt == WT_LEN;
    if (wt != want && !packed_ok)
      return PL_ERR_PARSE;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
        check(value, value + value_len, f->descriptor, depth + 1) != 0)
      return PL_ERR_PARSE;
  }
  return 0;
}

int pl_rpc__pbcheck_message(const uint8_t *data, size_t len,
                            const ProtobufCMessageDescriptor *desc) {
  return check(data, data + len, desc, 0);
}
