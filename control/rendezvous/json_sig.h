#ifndef PEERLINK_RENDEZVOUS_JSON_SIG_H
#define PEERLINK_RENDEZVOUS_JSON_SIG_H

/* The JSON signalling codec of WS /ws/register/{id} (docs/protocol.md), I/O-free. A client
 * message is a peerlink.v1.RegisterRequest in the proto3 JSON mapping ({"hello": {...}},
 * {"pair": {"peerId": "..."}}, ...; lowerCamelCase or proto field names, bytes as base64,
 * 64-bit integers as numbers or strings, enums by name or number); a server message is a
 * RegisterResponse the same way ({"offer": {...}}), or {"error": {"code", "message"}}. So a JSON
 * agent gets exactly what a gRPC agent gets. */

#include <stddef.h>

#include "peerlink/v1/rendezvous.pb-c.h"

/* The largest signalling message, in bytes of text (a Hello with 32 candidates is ~5 KiB). */
#define PL_RDV_JSON_MAX (64 * 1024)

/* Parses one client message into *preq (free with pl_rdv_json_request_free). On failure writes
 * a message naming the field into err ("hello.candidates[0].port: ..."). Returns 0,
 * PL_ERR_PARSE (not JSON, or a field of the wrong type or unknown), PL_ERR_INVALID (no message
 * type, an unknown one, or several), PL_ERR_TOO_BIG (over PL_RDV_JSON_MAX or nested over 16
 * deep), PL_ERR_NOMEM. *preq is NULL on error. */
int pl_rdv_json_request(const char *text, size_t len, Peerlink__V1__RegisterRequest **preq,
                        char *err, size_t errlen);
void pl_rdv_json_request_free(Peerlink__V1__RegisterRequest *req);

/* One server message as text in *ptext (free() it). Returns 0, PL_ERR_INVALID, PL_ERR_NOMEM. */
int pl_rdv_json_response(const Peerlink__V1__RegisterResponse *resp, char **ptext);

/* {"error": {"code": code, "message": message}} in *ptext (free() it); code is a gRPC status
 * name ("INVALID_ARGUMENT"). Returns 0, PL_ERR_NOMEM. */
int pl_rdv_json_error(const char *code, const char *message, char **ptext);

#endif
