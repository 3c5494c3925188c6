/* Refusal reasons and the counters' JSON. */

#include <stdio.h>

#include "control/bridge/reasons.h"

static const char *const names[PL_BRIDGE_R_COUNT] = {
    [PL_BRIDGE_R_NONE] = "none",
    [PL_BRIDGE_R_BAD_TYPE] = "bad_type",
    [PL_BRIDGE_R_BAD_HALF_CLOSE] = "bad_half_close",
    [PL_BRIDGE_R_AFTER_HALF_CLOSE] = "after_half_close",
    [PL_BRIDGE_R_BAD_HEADERS] = "bad_headers",
    [PL_BRIDGE_R_HEADERS_TOO_BIG] = "headers_too_big",
    [PL_BRIDGE_R_CLIENT_TRAILER] = "client_trailer",
    [PL_BRIDGE_R_COMPRESSED] = "compressed",
    [PL_BRIDGE_R_BAD_FLAGS] = "bad_flags",
    [PL_BRIDGE_R_TRUNCATED] = "truncated",
    [PL_BRIDGE_R_TOO_BIG] = "too_big",
    [PL_BRIDGE_R_AGENT_FULL] = "agent_full",
    [PL_BRIDGE_R_ORIGIN] = "origin",
    [PL_BRIDGE_R_HOST] = "host",
    [PL_BRIDGE_R_TOKEN] = "token",
    [PL_BRIDGE_R_SERVICE] = "service",
    [PL_BRIDGE_R_BAD_REQUEST] = "bad_request",
};

const char *pl_bridge_reason_name(pl_bridge_reason r) {
  if ((unsigned)r >= PL_BRIDGE_R_COUNT)
    return "unknown";
  return names[r];
}

int pl_bridge_counters_json(const pl_bridge_counters *c, char *buf, size_t cap) {
  size_t n = 0;
  int w = snprintf(buf, cap,
                   "{\"calls_ws\":%llu,\"calls_grpcweb\":%llu,\"calls_active\":%llu,"
                   "\"static_files\":%llu,\"refused\":{",
                   (unsigned long long)c->calls_ws, (unsigned long long)c->calls_grpcweb,
                   (unsigned long long)c->calls_active, (unsigned long long)c->static_files);
  if (w < 0)
    return w;
  n = (size_t)w;
  /* Every reason, zeros included: a dashboard or test can read any key without guessing. */
  for (int r = 1; r < PL_BRIDGE_R_COUNT; r++) {
    w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "%s\"%s\":%llu", r > 1 ? "," : "",
                 names[r], (unsigned long long)c->refused[r]);
    if (w < 0)
      return w;
    n += (size_t)w;
  }
  w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "}}");
  if (w < 0)
    return w;
  return (int)(n + (size_t)w);
}
