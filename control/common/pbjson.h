#ifndef PEERLINK_COMMON_PBJSON_H
#define PEERLINK_COMMON_PBJSON_H

/* protobuf-c message → JSON, following the proto3 JSON mapping as grpcurl and buf curl print
 * it: lowerCamelCase field names, 64-bit integers as strings, enums by value name, bytes as
 * padded standard base64, NaN/Infinity as strings, fields in tag order, oneof members only
 * when set, proto3 default values left out. The JSON is built and written by jansson.
 *
 * Only what peerlink's, health's and reflection's protos use is supported: no map fields and
 * no well-known types (Timestamp, Duration, wrappers, Struct, Any, ...), whose mapping differs
 * from a plain message's. A well-known type other than Empty is refused (PL_ERR_INVALID); a
 * map field would print as a list of {key, value} objects, so tests/unit/pbjson/crosscheck.py
 * fails when one appears in our API. */

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

enum {
  /* Also print fields holding their default value: scalars, [] for repeated fields, null for
   * unset message fields; unset proto2 optional scalars print their declared default (as
   * protobuf's Java and Python printers do). Unset oneofs stay out. */
  PL_PBJSON_EMIT_DEFAULTS = 1 << 0,
  /* Indent with two spaces, one field per line ("key": value), like grpcurl. */
  PL_PBJSON_PRETTY = 1 << 1,
  /* Use field names as written in the .proto file instead of lowerCamelCase. */
  PL_PBJSON_PROTO_NAMES = 1 << 2,
};

/* Encodes `msg` into a NUL-terminated string in *pjson (free() it), without a trailing
 * newline. Returns 0, PL_ERR_INVALID (msg is not a valid message, or is a well-known type),
 * PL_ERR_TOO_BIG (messages nested over 100 deep), PL_ERR_NOMEM. *pjson is NULL on error. */
int pl_pbjson_encode(const ProtobufCMessage *msg, int flags, char **pjson);

/* The same as a jansson object in *pjson (json_decref() it), for embedding in larger JSON
 * documents; write those with pl_pbjson_dumps to keep the numbers as protojson prints them.
 * Returns the codes of pl_pbjson_encode; *pjson is NULL on error. */
int pl_pbjson_to_json(const ProtobufCMessage *msg, int flags, json_t **pjson);

/* Writes any jansson value as text in *ptext (free() it): indented with PL_PBJSON_PRETTY, else
 * compact; reals as the shortest digits that read back (ECMAScript layout, as protojson), and
 * \u escapes in lowercase. Returns 0, PL_ERR_INVALID (json is NULL), or PL_ERR_NOMEM. */
int pl_pbjson_dumps(const json_t *json, int flags, char **ptext);

/* The JSON name protoc gives `proto_name` ("rendezvous_state" → "rendezvousState") written
 * into `out` (at most strlen(proto_name) + 1 bytes, always NUL-terminated). */
void pl_pbjson_json_name(const char *proto_name, char *out, size_t outlen);

/* The size protobuf-c gives one element of a field of type `t` in a message struct (a repeated
 * field's array stride). */
size_t pl_pbjson_field_size(ProtobufCType t);

/* ---- internal to pbjson*.c ---- */

/* The double whose shortest digits are those of the float `f` (0.1f → 0.1), so that a real
 * written by pl_pbjson_dumps prints as the float's shortest form. */
double pl_pbjson__float_value(float f);

#endif
