#ifndef PEERLINK_COMMON_PBJSON_H
#define PEERLINK_COMMON_PBJSON_H

/* protobuf-c message → JSON text, following the proto3 JSON mapping as grpcurl and buf curl
 * print it: lowerCamelCase field names, 64-bit integers as strings, enums by value name,
 * bytes as padded standard base64, NaN/Infinity as strings, fields in tag order, oneof
 * members only when set, proto3 default values left out.
 *
 * Well-known types get their special forms: Timestamp (RFC 3339, "Z"), Duration ("1.5s"),
 * the wrappers (the bare value), FieldMask, Struct, Value, ListValue. Any is encoded as a
 * plain message (typeUrl, value) because resolving its type needs a registry we do not have.
 * Map fields (repeated *Entry messages protoc generates) become JSON objects. */

#include <protobuf-c/protobuf-c.h>

enum {
  /* Also print fields holding their default value: scalars, [] for repeated fields, {} for
   * maps, null for unset message fields; unset proto2 optional scalars print their declared
   * default (as protobuf's Java and Python printers do). Unset oneofs stay out. */
  PL_PBJSON_EMIT_DEFAULTS = 1 << 0,
  /* Indent with two spaces, one field per line ("key": value), like grpcurl. */
  PL_PBJSON_PRETTY = 1 << 1,
  /* Use field names as written in the .proto file instead of lowerCamelCase. */
  PL_PBJSON_PROTO_NAMES = 1 << 2,
};

/* Encodes `msg` into a NUL-terminated string in *pjson (free() it), without a trailing
 * newline. Returns 0, PL_ERR_INVALID (msg is not a valid message, or a Timestamp or Duration
 * out of the range JSON can express), PL_ERR_TOO_BIG (messages nested over 100 deep),
 * PL_ERR_NOMEM. *pjson is NULL on error. */
int pl_pbjson_encode(const ProtobufCMessage *msg, int flags, char **pjson);

/* The JSON name protoc gives `proto_name` ("rendezvous_state" → "rendezvousState") written
 * into `out` (at most strlen(proto_name) + 1 bytes, always NUL-terminated). */
void pl_pbjson_json_name(const char *proto_name, char *out, size_t outlen);

#endif
