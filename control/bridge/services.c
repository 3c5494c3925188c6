/* The exposed services. */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "control/bridge/services.h"
#include "control/common/err.h"

static int name_ok(const char *p, size_t len) {
  if (len == 0 || p[0] == '.' || p[len - 1] == '.')
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '.')
      return 0;
  return 1;
}

int pl_bridge_services_parse(pl_bridge_services *s, const char *list) {
  memset(s, 0, sizeof *s);
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (!name_ok(p, len) || s->n == PL_BRIDGE_SERVICES_MAX) {
      pl_bridge_services_free(s);
      return PL_ERR_INVALID;
    }
    if (!(s->names[s->n] = strndup(p, len))) {
      pl_bridge_services_free(s);
      return PL_ERR_NOMEM;
    }
    s->n++;
    if (!comma)
      return 0;
    p = comma + 1;
  }
}

void pl_bridge_services_free(pl_bridge_services *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->names[i]);
  s->n = 0;
}

int pl_bridge_services_allow(const pl_bridge_services *s, const char *path) {
  if (!path || path[0] != '/')
    return 0;
  const char *slash = strchr(path + 1, '/');
  if (!slash || slash[1] == '\0' || strchr(slash + 1, '/'))
    return 0;
  size_t len = (size_t)(slash - path - 1);
  for (size_t i = 0; i < s->n; i++)
    if (strlen(s->names[i]) == len && memcmp(s->names[i], path + 1, len) == 0)
      return 1;
  return 0;
}
