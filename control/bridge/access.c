/* Host, Origin and token checks. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/bridge/access.h"
#include "control/common/err.h"
#include "control/common/flags.h"

/* "name:port" or "[v6]:port" or "name" (port 80). Returns 0 or -1. */
static int split_host(const char *host, char name[64], int *pport) {
  if (pl_hostport_split(host, name, pport) == 0)
    return 0;
  /* No port: the default one. */
  if (strlen(host) >= 64 || strchr(host, ':'))
    return -1;
  snprintf(name, 64, "%s", host);
  *pport = 80;
  return 0;
}

int pl_bridge_access_host_ok(const pl_bridge_access *a, const char *host) {
  if (!a->loopback)
    return 1;
  char name[64];
  int port;
  if (!host || split_host(host, name, &port) != 0)
    return 0;
  return port == a->port && pl_host_is_loopback(name);
}

int pl_bridge_access_origin_ok(const pl_bridge_access *a, const char *origin, const char *host,
                               int *pcross) {
  *pcross = 0;
  if (!origin)
    return 1;
  if (host && strncmp(origin, "http://", 7) == 0 && strcasecmp(origin + 7, host) == 0)
    return 1;
  for (size_t i = 0; i < a->n_allow_origins; i++) {
    if (strcmp(origin, a->allow_origins[i]) == 0) {
      *pcross = 1;
      return 1;
    }
  }
  return 0;
}

int pl_bridge_access_token_ok(const pl_bridge_access *a, const char *presented) {
  if (!a->token)
    return 1;
  if (!presented)
    return 0;
  size_t n = strlen(a->token), m = strlen(presented);
  /* No early exit, so the time taken does not tell how much of a guess was right. */
  unsigned diff = (unsigned)(n ^ m);
  for (size_t i = 0; i < m; i++)
    diff |= (unsigned)((uint8_t)presented[i] ^ (uint8_t)a->token[i % (n ? n : 1)]);
  return diff == 0 && n > 0;
}

int pl_bridge_cookie_value(const char *cookie, const char *name, char *out, size_t cap) {
  size_t nlen = strlen(name);
  const char *p = cookie;
  while (p && *p) {
    while (*p == ' ' || *p == ';')
      p++;
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      size_t vlen = len - nlen - 1;
      while (vlen > 0 && p[nlen + vlen] == ' ')
        vlen--;
      if (vlen >= cap)
        return PL_ERR_TOO_BIG;
      memcpy(out, p + nlen + 1, vlen);
      out[vlen] = '\0';
      return 0;
    }
    p = end;
  }
  return PL_ERR_NOT_FOUND;
}
