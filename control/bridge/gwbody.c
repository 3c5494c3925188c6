/* gRPC-Web request bodies. */

#include <string.h>
#include <strings.h>

#include "control/bridge/gwbody.h"
#include "control/common/err.h"

int pl_bridge_gw_content_type_ok(const char *ct) {
  static const char *const ok[] = {"application/grpc-web+proto", "application/grpc-web"};
  if (!ct)
    return 0;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    size_t n = strlen(ok[i]);
    if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
      return 1;
  }
  return 0;
}

void pl_bridge_gw_body_init(pl_bridge_gw_body *b, size_t max_message) {
  b->reason = PL_BRIDGE_R_NONE;
  pl_bridge_lpm_init(&b->lpm, max_message);
}

void pl_bridge_gw_body_free(pl_bridge_gw_body *b) {
  pl_bridge_lpm_free(&b->lpm);
}

int pl_bridge_gw_body_feed(pl_bridge_gw_body *b, const uint8_t *data, size_t len,
                           pl_bridge_lpm_fn fn, void *arg) {
  int rv = pl_bridge_lpm_feed(&b->lpm, data, len, fn, arg);
  if (rv == PL_ERR_PARSE || rv == PL_ERR_TOO_BIG)
    b->reason = b->lpm.reason;
  return rv;
}

int pl_bridge_gw_body_end(pl_bridge_gw_body *b) {
  if (!pl_bridge_lpm_at_boundary(&b->lpm)) {
    b->reason = PL_BRIDGE_R_TRUNCATED;
    return PL_ERR_PARSE;
  }
  return 0;
}
