#ifndef PEERLINK_BRIDGE_REASONS_H
#define PEERLINK_BRIDGE_REASONS_H

/* Why the bridge refused what a client sent. Each refusal is counted by reason, logged on one
 * line and shown by GET /debug/bridge, so a misbehaving client is visible without a debugger. */

#include <stdint.h>

typedef enum {
  PL_BRIDGE_R_NONE = 0,
  /* framing (PL_ERR_PARSE from the parsers: the socket closes with a protocol error) */
  PL_BRIDGE_R_BAD_TYPE,         /* a WebSocket message that is neither 0x00 data nor 0x01 */
  PL_BRIDGE_R_BAD_HALF_CLOSE,   /* 0x01 with bytes after it */
  PL_BRIDGE_R_AFTER_HALF_CLOSE, /* a message after the half-close */
  PL_BRIDGE_R_BAD_HEADERS,      /* the headers message is not "key: value\r\n" lines */
  PL_BRIDGE_R_HEADERS_TOO_BIG,  /* the headers message is over its bound */
  PL_BRIDGE_R_CLIENT_TRAILER,   /* a request frame with the trailer bit (0x80) */
  PL_BRIDGE_R_COMPRESSED,       /* a compressed request frame (no encoding is negotiated) */
  PL_BRIDGE_R_BAD_FLAGS,        /* other flag bits */
  PL_BRIDGE_R_TRUNCATED,        /* the request ended inside a frame */
  /* limits (answered RESOURCE_EXHAUSTED) */
  PL_BRIDGE_R_TOO_BIG,    /* a request message over --max-message */
  PL_BRIDGE_R_AGENT_FULL, /* the agent reads requests too slowly (send queue full) */
  /* access (refused before any call starts) */
  PL_BRIDGE_R_ORIGIN,      /* Origin not on the allow-list */
  PL_BRIDGE_R_HOST,        /* Host header not one of ours (DNS rebinding) */
  PL_BRIDGE_R_TOKEN,       /* --token set and not presented */
  PL_BRIDGE_R_SERVICE,     /* a method of a service the bridge does not expose */
  PL_BRIDGE_R_BAD_REQUEST, /* wrong HTTP method or content-type for a gRPC-Web call */
  PL_BRIDGE_R_COUNT
} pl_bridge_reason;

/* "bad_type", "too_big", ...: the name used in logs and /debug/bridge. */
const char *pl_bridge_reason_name(pl_bridge_reason r);

typedef struct pl_bridge_counters {
  uint64_t refused[PL_BRIDGE_R_COUNT];
  uint64_t calls_ws, calls_grpcweb; /* calls started, by transport */
  uint64_t calls_active;
  uint64_t static_files;
} pl_bridge_counters;

/* The counters as one JSON object (no newline). Returns the length snprintf would write. */
int pl_bridge_counters_json(const pl_bridge_counters *c, char *buf, size_t cap);

#endif
