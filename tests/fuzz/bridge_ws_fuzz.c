/* The bridge's grpc-websockets reader (control/bridge/wsframe.c) and the header-block and
 * grpc-timeout parsers it feeds. Input: records of [flags: bit 0 first, bit 1 final][length]
 * [bytes], each one WebSocket fragment as libwebsockets would deliver it. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/bridge/metadata.h"
#include "control/bridge/wsframe.h"
#include "control/common/err.h"

static int on_header(void *arg, const char *key, const char *value) {
  uint64_t ms;
  (void)arg;
  if (strcmp(key, "grpc-timeout") == 0 && pl_bridge_timeout_parse(value, &ms) == 0 && ms == 0)
    abort(); /* 0 would mean "no deadline" */
  return 0;
}

static int on_headers(void *arg, const char *block, size_t len) {
  (void)arg;
  return pl_bridge_headers_parse(block, len, on_header, NULL) == 0 ? 0 : PL_ERR_PARSE;
}

static size_t total;

static int on_message(void *arg, const uint8_t *msg, size_t len) {
  (void)arg;
  if (len > 4096 || (len && !msg))
    abort();
  total += len;
  return 0;
}

static int on_half_close(void *arg) {
  (void)arg;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const pl_bridge_ws_events ev = {on_headers, on_message, on_half_close};
  pl_bridge_ws_reader r;
  pl_bridge_ws_reader_init(&r, 4096, 512);
  total = 0;
  size_t off = 0;
  while (off + 2 <= size) {
    uint8_t flags = data[off];
    size_t len = data[off + 1];
    off += 2;
    if (len > size - off)
      len = size - off;
    int rv = pl_bridge_ws_reader_recv(&r, data + off, len, flags & 1, (flags >> 1) & 1, &ev, NULL);
    off += len;
    if ((rv == PL_ERR_PARSE || rv == PL_ERR_TOO_BIG) && r.state == PL_BRIDGE_WS_FAILED &&
        r.reason == PL_BRIDGE_R_NONE)
      abort(); /* every refusal has a counted reason */
    if (rv != 0)
      break;
  }
  /* Messages come out of the input's bytes, never more. */
  if (total > size)
    abort();
  pl_bridge_ws_reader_free(&r);
  return 0;
}
