/* The bridge's gRPC-Web request-body parser (control/bridge/gwbody.c). Input: one byte giving
 * the chunk size (as the HTTP layer might deliver the body), then the body. */

#include <stdint.h>
#include <stdlib.h>

#include "control/bridge/gwbody.h"
#include "control/common/err.h"

static size_t total;

static int on_message(void *arg, const uint8_t *msg, size_t len) {
  (void)arg;
  if (len > 4096 || (len && !msg))
    abort();
  total += len;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  size_t chunk = (size_t)data[0] + 1;
  pl_bridge_gw_body b;
  pl_bridge_gw_body_init(&b, 4096);
  total = 0;
  int rv = 0;
  for (size_t off = 1; off < size && rv == 0; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    rv = pl_bridge_gw_body_feed(&b, data + off, n, on_message, NULL);
  }
  if (rv == 0)
    rv = pl_bridge_gw_body_end(&b);
  if ((rv == PL_ERR_PARSE || rv == PL_ERR_TOO_BIG) && b.reason == PL_BRIDGE_R_NONE)
    abort(); /* every refusal has a counted reason */
  if (total > size)
    abort();
  pl_bridge_gw_body_free(&b);
  return 0;
}
