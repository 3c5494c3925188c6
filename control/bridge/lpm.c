/* Length-prefixed message reassembly. */

#include <stdlib.h>
#include <string.h>

#include "control/bridge/lpm.h"
#include "control/common/err.h"

void pl_bridge_lpm_init(pl_bridge_lpm *r, size_t max) {
  memset(r, 0, sizeof *r);
  r->max = max;
}

void pl_bridge_lpm_free(pl_bridge_lpm *r) {
  free(r->msg);
  r->msg = NULL;
}

static int fail(pl_bridge_lpm *r, pl_bridge_reason reason, int rv) {
  r->reason = reason;
  return rv;
}

/* The header is complete: check it and make room for the message. */
static int begin_message(pl_bridge_lpm *r) {
  uint8_t flags = r->hdr[0];
  size_t len = ((size_t)r->hdr[1] << 24) | ((size_t)r->hdr[2] << 16) | ((size_t)r->hdr[3] << 8) |
               (size_t)r->hdr[4];
  if (flags & PL_BRIDGE_LPM_FLAG_TRAILER)
    return fail(r, PL_BRIDGE_R_CLIENT_TRAILER, PL_ERR_PARSE);
  if (flags & PL_BRIDGE_LPM_FLAG_COMPRESSED)
    return fail(r, PL_BRIDGE_R_COMPRESSED, PL_ERR_PARSE);
  if (flags != 0)
    return fail(r, PL_BRIDGE_R_BAD_FLAGS, PL_ERR_PARSE);
  if (len > r->max) {
    r->too_big_len = len;
    return fail(r, PL_BRIDGE_R_TOO_BIG, PL_ERR_TOO_BIG);
  }
  /* Allocated as the bytes are announced, never more than max: a peer that lies about the
   * length holds at most one message's worth. */
  r->msg = malloc(len ? len : 1);
  if (!r->msg)
    return fail(r, PL_BRIDGE_R_NONE, PL_ERR_NOMEM);
  r->msg_len = len;
  r->msg_have = 0;
  return 0;
}

int pl_bridge_lpm_feed(pl_bridge_lpm *r, const uint8_t *data, size_t len, pl_bridge_lpm_fn fn,
                       void *arg) {
  while (len > 0) {
    if (!r->msg) {
      size_t take = PL_BRIDGE_LPM_HEADER - r->hdr_have;
      if (take > len)
        take = len;
      memcpy(r->hdr + r->hdr_have, data, take);
      r->hdr_have += take;
      data += take;
      len -= take;
      if (r->hdr_have < PL_BRIDGE_LPM_HEADER)
        return 0;
      int rv = begin_message(r);
      if (rv != 0)
        return rv;
    }
    size_t take = r->msg_len - r->msg_have;
    if (take > len)
      take = len;
    if (take)
      memcpy(r->msg + r->msg_have, data, take);
    r->msg_have += take;
    data += take;
    len -= take;
    if (r->msg_have < r->msg_len)
      return 0;
    uint8_t *msg = r->msg;
    size_t msg_len = r->msg_len;
    r->msg = NULL;
    r->hdr_have = 0;
    int rv = fn(arg, msg, msg_len);
    free(msg);
    if (rv != 0)
      return rv;
  }
  return 0;
}

int pl_bridge_lpm_at_boundary(const pl_bridge_lpm *r) {
  return r->hdr_have == 0 && r->msg == NULL;
}

void pl_bridge_lpm_header(uint8_t out[PL_BRIDGE_LPM_HEADER], uint8_t flags, size_t len) {
  out[0] = flags;
  out[1] = (uint8_t)(len >> 24);
  out[2] = (uint8_t)(len >> 16);
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}
