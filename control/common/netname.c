#include "control/common/netname.h"

#include <stddef.h>

int pl_netname_valid(const char *name) {
  size_t n = 0;
  if (name == NULL)
    return 1;
  for (const char *p = name; *p; p++, n++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == ':' || c == '-'))
      return 0;
  }
  return n <= PL_NETNAME_MAX;
}
