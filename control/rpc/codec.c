/* protobuf-c messages <-> gRPC byte buffers, and small metadata helpers. */

#include <stdlib.h>
#include <string.h>

#include "control/rpc/rpc_internal.h"

grpc_byte_buffer *pl_rpc__pack(const ProtobufCMessage *msg) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  /* grpc_slice_malloc aborts rather than failing, so there is no NULL to check here. */
  grpc_slice slice = grpc_slice_malloc(len);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return bb;
}

ProtobufCMessage *pl_rpc__unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc) {
  grpc_byte_buffer_reader reader;
  /* The reader undoes any compression the peer applied. */
  if (!grpc_byte_buffer_reader_init(&reader, bb))
    return NULL;
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  ProtobufCMessage *msg = NULL;
  if (pl_rpc__pbcheck_message(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), desc) == 0)
    msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
  grpc_slice_unref(all);
  return msg;
}

char *pl_rpc__slice_strdup(grpc_slice s) {
  size_t len = GRPC_SLICE_LENGTH(s);
  char *str = malloc(len + 1);
  if (!str)
    return NULL;
  memcpy(str, GRPC_SLICE_START_PTR(s), len);
  str[len] = '\0';
  return str;
}

int pl_rpc__metadata_equals(const grpc_metadata_array *md, const char *key, const char *value) {
  size_t keylen = strlen(key), vlen = strlen(value);
  int found = 0;
  for (size_t i = 0; i < md->count; i++) {
    const grpc_metadata *m = &md->metadata[i];
    if (GRPC_SLICE_LENGTH(m->key) != keylen ||
        memcmp(GRPC_SLICE_START_PTR(m->key), key, keylen) != 0)
      continue;
    /* A repeated header must not let a wrong first value be overridden by a right second one. */
    if (found)
      return 0;
    found = 1;
    if (GRPC_SLICE_LENGTH(m->value) != vlen)
      return 0;
    /* No early exit, so the time taken does not tell how much of a guess was right. */
    const uint8_t *a = GRPC_SLICE_START_PTR(m->value);
    unsigned diff = 0;
    for (size_t j = 0; j < vlen; j++)
      diff |= (unsigned)(a[j] ^ (uint8_t)value[j]);
    if (diff != 0)
      return 0;
  }
  return found;
}
