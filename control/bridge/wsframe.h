#ifndef PEERLINK_BRIDGE_WSFRAME_H
#define PEERLINK_BRIDGE_WSFRAME_H

/* The client side of improbable-eng's grpc-websockets protocol, one WebSocket per call:
 *   first message   the request headers, "key: value\r\n" lines (text or binary, may be empty)
 *   then            0x00 + request bytes: a stream of gRPC length-prefixed messages (a frame may
 *                   span WebSocket messages, or one message carry several)
 *                   0x01 alone: the half-close
 * The reader takes WebSocket messages in the fragments the library delivers. I/O-free. */

#include <stddef.h>
#include <stdint.h>

#include "control/bridge/lpm.h"
#include "control/bridge/reasons.h"

#define PL_BRIDGE_WS_DATA 0x00
#define PL_BRIDGE_WS_HALF_CLOSE 0x01

/* What the reader found. Each returns 0 to go on; anything else stops the reader and is
 * returned by pl_bridge_ws_reader_recv. */
typedef struct pl_bridge_ws_events {
  int (*on_headers)(void *arg, const char *block, size_t len);
  int (*on_message)(void *arg, const uint8_t *msg, size_t len);
  int (*on_half_close)(void *arg);
} pl_bridge_ws_events;

typedef enum {
  PL_BRIDGE_WS_AWAIT_HEADERS,
  PL_BRIDGE_WS_OPEN,
  PL_BRIDGE_WS_HALF_CLOSED,
  PL_BRIDGE_WS_FAILED,
} pl_bridge_ws_state;

typedef struct pl_bridge_ws_reader {
  pl_bridge_ws_state state;
  size_t max_headers;
  char *headers; /* the headers message so far */
  size_t headers_len;
  int in_message; /* between a first and a final fragment */
  size_t message_bytes;
  uint8_t type; /* of the current message, once its first byte came */
  pl_bridge_lpm lpm;
  pl_bridge_reason reason; /* why the reader failed */
} pl_bridge_ws_reader;

/* max_message: largest gRPC request message; max_headers: largest headers message. */
void pl_bridge_ws_reader_init(pl_bridge_ws_reader *r, size_t max_message, size_t max_headers);
void pl_bridge_ws_reader_free(pl_bridge_ws_reader *r);

/* One fragment of a WebSocket message (`first`/`final` as the WebSocket library reports
 * them; a whole message is first and final). Returns 0, PL_ERR_PARSE (malformed: r->reason),
 * PL_ERR_TOO_BIG (a request message over max_message: r->lpm.too_big_len), PL_ERR_NOMEM, or
 * what an event returned. */
int pl_bridge_ws_reader_recv(pl_bridge_ws_reader *r, const uint8_t *data, size_t len, int first,
                             int final, const pl_bridge_ws_events *ev, void *arg);

#endif
