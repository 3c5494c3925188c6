#include "control/lws/lws_uv.h"

#include <string.h>

#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"

static void log_line(int level, const char *line) {
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    n--;
  pl_log(level == LLL_ERR ? PL_LOG_ERROR : PL_LOG_WARN, "lws", "msg=\"%.*s\"", (int)n, line);
}

int pl_lws_context_new(struct lws_context **pctx, uv_loop_t *loop, void *user) {
  struct lws_context_creation_info ci;
  void *loops[1] = {loop};
  lws_set_log_level(LLL_ERR | LLL_WARN, log_line);
  memset(&ci, 0, sizeof ci);
  ci.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  ci.foreign_loops = loops;
  ci.port = CONTEXT_PORT_NO_LISTEN;
  ci.gid = -1;
  ci.uid = -1;
  ci.user = user;
  ci.pcontext = pctx;
  *pctx = lws_create_context(&ci);
  return *pctx ? 0 : PL_ERR_IO;
}

int pl_lws_listen(struct lws_context *ctx, const char *name, const char *listen,
                  const struct lws_protocols *protocols, struct lws_vhost **pvhost, int *pport) {
  char host[64];
  int port;
  struct lws_context_creation_info vi;
  if (pl_hostport_split(listen, host, &port) != 0)
    return PL_ERR_INVALID;
  memset(&vi, 0, sizeof vi);
  vi.vhost_name = name;
  vi.port = port;
  /* "localhost" would be taken for an interface name; and an empty host means every one. */
  vi.iface = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host[0] ? host : NULL;
  vi.protocols = protocols;
  vi.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
  if (!strchr(host, ':'))
    vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  vi.keepalive_timeout = 60;
  *pvhost = lws_create_vhost(ctx, &vi);
  if (*pvhost == NULL || lws_get_vhost_listen_port(*pvhost) <= 0)
    return PL_ERR_IO;
  *pport = lws_get_vhost_listen_port(*pvhost);
  return 0;
}
