/* "HOST:PORT" checks for listen addresses and channel targets. */

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/common/err.h"
#include "control/rpc/rpc_internal.h"

static int parse_port(const char *s) {
  if (*s == '\0' || strlen(s) > 5)
    return -1;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p))
      return -1;
  int port = atoi(s);
  return port <= 65535 ? port : -1;
}

static int is_hostname(const char *s, size_t len) {
  if (len == 0 || len > 253)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
      return 0;
  return 1;
}

int pl_rpc__parse_hostport(const char *s, int *ploopback) {
  char host[256];
  *ploopback = 0;
  if (!s)
    return PL_ERR_INVALID;
  const char *colon = strrchr(s, ':');
  if (!colon || parse_port(colon + 1) < 0)
    return PL_ERR_INVALID;
  size_t len = (size_t)(colon - s);
  if (len == 0 || len >= sizeof(host))
    return PL_ERR_INVALID;
  memcpy(host, s, len);
  host[len] = '\0';

  if (host[0] == '[') {
    struct in6_addr a6;
    if (len < 3 || host[len - 1] != ']')
      return PL_ERR_INVALID;
    host[len - 1] = '\0';
    if (inet_pton(AF_INET6, host + 1, &a6) != 1)
      return PL_ERR_INVALID;
    *ploopback = IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
  }
  /* An unbracketed IPv6 address is ambiguous with the port separator. */
  if (strchr(host, ':'))
    return PL_ERR_INVALID;
  struct in_addr a4;
  if (inet_pton(AF_INET, host, &a4) == 1) {
    *ploopback = ((const uint8_t *)&a4.s_addr)[0] == 127;
    return 0;
  }
  if (!is_hostname(host, len))
    return PL_ERR_INVALID;
  /* Other names could resolve anywhere; only this one is loopback by definition. */
  *ploopback = strcasecmp(host, "localhost") == 0;
  return 0;
}
