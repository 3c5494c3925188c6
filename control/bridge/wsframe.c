/* grpc-websockets client messages. */

#include <stdlib.h>
#include <string.h>

#include "control/bridge/wsframe.h"
#include "control/common/err.h"

void pl_bridge_ws_reader_init(pl_bridge_ws_reader *r, size_t max_message, size_t max_headers) {
  memset(r, 0, sizeof *r);
  r->max_headers = max_headers;
  pl_bridge_lpm_init(&r->lpm, max_message);
}

void pl_bridge_ws_reader_free(pl_bridge_ws_reader *r) {
  free(r->headers);
  r->headers = NULL;
  pl_bridge_lpm_free(&r->lpm);
}

static int fail(pl_bridge_ws_reader *r, pl_bridge_reason reason) {
  r->state = PL_BRIDGE_WS_FAILED;
  r->reason = reason;
  return PL_ERR_PARSE;
}

static int add_headers(pl_bridge_ws_reader *r, const uint8_t *data, size_t len) {
  if (len > r->max_headers - r->headers_len)
    return fail(r, PL_BRIDGE_R_HEADERS_TOO_BIG);
  if (!r->headers && !(r->headers = malloc(r->max_headers ? r->max_headers : 1)))
    return PL_ERR_NOMEM;
  if (len)
    memcpy(r->headers + r->headers_len, data, len);
  r->headers_len += len;
  return 0;
}

typedef struct feed_ctx {
  const pl_bridge_ws_events *ev;
  void *arg;
} feed_ctx;

static int on_lpm_message(void *arg, const uint8_t *msg, size_t len) {
  feed_ctx *f = arg;
  return f->ev->on_message(f->arg, msg, len);
}

/* Bytes of a message whose first byte (its type) was seen already. */
static int body_bytes(pl_bridge_ws_reader *r, const uint8_t *data, size_t len,
                      const pl_bridge_ws_events *ev, void *arg) {
  if (len == 0)
    return 0;
  if (r->type == PL_BRIDGE_WS_HALF_CLOSE)
    return fail(r, PL_BRIDGE_R_BAD_HALF_CLOSE);
  feed_ctx f = {ev, arg};
  int rv = pl_bridge_lpm_feed(&r->lpm, data, len, on_lpm_message, &f);
  if (rv == PL_ERR_PARSE)
    return fail(r, r->lpm.reason);
  if (rv == PL_ERR_TOO_BIG) {
    r->state = PL_BRIDGE_WS_FAILED;
    r->reason = PL_BRIDGE_R_TOO_BIG;
  }
  return rv;
}

static int open_bytes(pl_bridge_ws_reader *r, const uint8_t *data, size_t len,
                      const pl_bridge_ws_events *ev, void *arg) {
  if (len == 0)
    return 0;
  if (r->message_bytes == 0) {
    r->type = data[0];
    if (r->type != PL_BRIDGE_WS_DATA && r->type != PL_BRIDGE_WS_HALF_CLOSE)
      return fail(r, PL_BRIDGE_R_BAD_TYPE);
    r->message_bytes = 1;
    data++;
    len--;
  }
  r->message_bytes += len;
  return body_bytes(r, data, len, ev, arg);
}

/* The current message ended. */
static int message_end(pl_bridge_ws_reader *r, const pl_bridge_ws_events *ev, void *arg) {
  r->in_message = 0;
  if (r->state == PL_BRIDGE_WS_AWAIT_HEADERS) {
    r->state = PL_BRIDGE_WS_OPEN;
    int rv = ev->on_headers(arg, r->headers ? r->headers : "", r->headers_len);
    free(r->headers);
    r->headers = NULL;
    return rv;
  }
  size_t n = r->message_bytes;
  r->message_bytes = 0;
  if (n == 0)
    return fail(r, PL_BRIDGE_R_BAD_TYPE);
  if (r->type != PL_BRIDGE_WS_HALF_CLOSE)
    return 0;
  if (!pl_bridge_lpm_at_boundary(&r->lpm))
    return fail(r, PL_BRIDGE_R_TRUNCATED);
  r->state = PL_BRIDGE_WS_HALF_CLOSED;
  return ev->on_half_close(arg);
}

int pl_bridge_ws_reader_recv(pl_bridge_ws_reader *r, const uint8_t *data, size_t len, int first,
                             int final, const pl_bridge_ws_events *ev, void *arg) {
  if (r->state == PL_BRIDGE_WS_FAILED)
    return PL_ERR_PARSE;
  /* The WebSocket library orders fragments; a first fragment inside a message would be its
   * bug, but costs nothing to treat as the start of the next message. */
  if (first || !r->in_message) {
    if (r->state == PL_BRIDGE_WS_HALF_CLOSED)
      return fail(r, PL_BRIDGE_R_AFTER_HALF_CLOSE);
    r->in_message = 1;
    r->message_bytes = 0;
  }
  int rv;
  if (r->state == PL_BRIDGE_WS_AWAIT_HEADERS)
    rv = add_headers(r, data, len);
  else
    rv = open_bytes(r, data, len, ev, arg);
  if (rv != 0)
    return rv;
  return final ? message_end(r, ev, arg) : 0;
}
