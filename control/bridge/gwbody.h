#ifndef PEERLINK_BRIDGE_GWBODY_H
#define PEERLINK_BRIDGE_GWBODY_H

/* The request body of a gRPC-Web call over HTTP/1.1 (gRPC's PROTOCOL-WEB.md, binary mode):
 * gRPC length-prefixed messages, in chunks of any size; the end of the body is the half-close.
 * I/O-free. */

#include <stddef.h>
#include <stdint.h>

#include "control/bridge/lpm.h"

typedef struct pl_bridge_gw_body {
  pl_bridge_lpm lpm;
  pl_bridge_reason reason; /* why the body was refused */
} pl_bridge_gw_body;

/* Whether `content_type` is binary gRPC-Web: "application/grpc-web" or
 * "application/grpc-web+proto", parameters allowed ("...; charset=..."). The base64 text mode
 * (grpc-web-text) is not served. */
int pl_bridge_gw_content_type_ok(const char *content_type);

void pl_bridge_gw_body_init(pl_bridge_gw_body *b, size_t max_message);
void pl_bridge_gw_body_free(pl_bridge_gw_body *b);

/* A chunk of the body; `fn` gets each whole request message. Returns what pl_bridge_lpm_feed
 * returns (b->reason set on PL_ERR_PARSE and PL_ERR_TOO_BIG). */
int pl_bridge_gw_body_feed(pl_bridge_gw_body *b, const uint8_t *data, size_t len,
                           pl_bridge_lpm_fn fn, void *arg);

/* The body ended. Returns 0, or PL_ERR_PARSE when it ended inside a message (b->reason). */
int pl_bridge_gw_body_end(pl_bridge_gw_body *b);

#endif
