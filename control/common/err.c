#include "control/common/err.h"

const char *pl_strerror(int rv) {
  switch (rv) {
  case PL_OK: return "success";
  case PL_ERR_INVALID: return "invalid argument";
  case PL_ERR_NOMEM: return "out of memory";
  case PL_ERR_PARSE: return "malformed input";
  case PL_ERR_IO: return "I/O error";
  case PL_ERR_STATE: return "not allowed in this state";
  case PL_ERR_NOT_FOUND: return "not found";
  case PL_ERR_TOO_BIG: return "too big";
  case PL_ERR_AUTH: return "authentication failed";
  case PL_ERR_CRYPTO: return "cryptography error";
  case PL_ERR_CLOSED: return "closed";
  case PL_ERR_TIMEOUT: return "timed out";
  case PL_ERR_FULL: return "queue full";
  default: return "unknown error";
  }
}
