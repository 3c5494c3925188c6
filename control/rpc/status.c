/* Status code names, as gRPC's doc/statuscodes.md spells them. */

#include "control/rpc/rpc.h"

const char *pl_rpc_status_name(pl_rpc_status code) {
  static const char *const names[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if ((unsigned)code >= sizeof(names) / sizeof(names[0]))
    return "UNKNOWN";
  return names[code];
}
