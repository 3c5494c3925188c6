/* "HOST:PORT" checks for listen addresses and channel targets: the project's one parser
 * (control/common/flags.h), so flags and the rpc layer agree on what an address is. */

#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/rpc/rpc_internal.h"

int pl_rpc__parse_hostport(const char *s, int *ploopback) {
  char host[64];
  int port;
  *ploopback = 0;
  if (s == NULL || pl_hostport_split(s, host, &port) != 0)
    return PL_ERR_INVALID;
  *ploopback = pl_host_is_loopback(host);
  return 0;
}
