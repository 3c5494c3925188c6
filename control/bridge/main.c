/* peerlink-bridge: serves the browser UI and carries its gRPC calls to one agent
 * (docs/bridge.md). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "control/bridge/bridge.h"
#include "control/bridge/services.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"
#include "control/common/signals.h"

#define MAX_ORIGINS 16

typedef struct options {
  char *listen, *agent, *agent_token, *token, *ui, *services, *allow_origin;
  uint64_t max_message;
  int verbose;
} options;

typedef struct app {
  pl_bridge *bridge;
  pl_signals signals;
  int stopped; /* by a signal */
} app;

static const char usage_head[] =
    "usage: peerlink-bridge [FLAGS]\n\n"
    "Serves the peerlink browser UI and carries the page's gRPC calls to one agent: over\n"
    "improbable-eng's grpc-websockets (every call shape) and gRPC-Web over HTTP/1.1 POST (unary\n"
    "and server streaming). Only the methods of --services are carried; others are answered\n"
    "UNIMPLEMENTED. Listens on loopback unless given --token. Prints its address at start.";

static void on_stop(void *arg) {
  app *a = arg;
  pl_log(PL_LOG_INFO, "stopping", "%s", "");
  pl_signals_close(&a->signals);
  a->stopped = 1;
  pl_bridge_stop(a->bridge);
}

/* "a,b" → {"a", "b"} in place. Returns the count, or -1 over MAX_ORIGINS. */
static int split_list(char *list, const char *out[MAX_ORIGINS]) {
  int n = 0;
  for (char *p = list, *save = NULL, *t; (t = strtok_r(p, ",", &save)) != NULL; p = NULL) {
    if (n == MAX_ORIGINS)
      return -1;
    out[n++] = t;
  }
  return n;
}

int main(int argc, char **argv) {
  options o = {0};
  const pl_flag flags[] = {
      {"listen", "PEERLINK_BRIDGE_LISTEN", PL_FLAG_HOSTPORT, &o.listen, "127.0.0.1:7880",
       "HTTP/WebSocket address for browsers (port 0 picks a free port)", 0, 0, 0},
      {"agent", "PEERLINK_AGENT", PL_FLAG_HOSTPORT, &o.agent, "127.0.0.1:7700",
       "the agent's gRPC control address", 0, 0, 0},
      {"agent-token", "PEERLINK_AGENT_TOKEN", PL_FLAG_STRING, &o.agent_token, NULL,
       "bearer token for the agent (its --token); never sent to the page", 0, 0, 0},
      {"token", "PEERLINK_BRIDGE_TOKEN", PL_FLAG_STRING, &o.token, NULL,
       "token browsers must present (open the UI once with ?token=TOKEN); required to listen on "
       "a non-loopback address",
       0, 0, 0},
      {"allow-origin", "PEERLINK_BRIDGE_ALLOW_ORIGIN", PL_FLAG_STRING, &o.allow_origin, NULL,
       "extra page origins allowed to call, comma-separated (e.g. http://localhost:5173); the "
       "bridge's own origin is always allowed",
       0, 0, 0},
      {"ui", "PEERLINK_BRIDGE_UI", PL_FLAG_STRING, &o.ui, "clients/web/dist",
       "directory of the built UI (a missing one serves a page saying the UI is not built)", 0, 0,
       0},
      {"services", "PEERLINK_BRIDGE_SERVICES", PL_FLAG_STRING, &o.services,
       PL_BRIDGE_SERVICES_DEFAULT, "gRPC services whose methods are carried, comma-separated", 0, 0,
       0},
      {"max-message", NULL, PL_FLAG_UINT, &o.max_message, "4194304",
       "largest request message in bytes (larger: RESOURCE_EXHAUSTED)", 1024, 64u << 20, 0},
      {"verbose", NULL, PL_FLAG_BOOL, &o.verbose, NULL, "log debug lines", 0, 0, 0},
  };
  char err[256];
  int first;
  int rv = pl_flags_parse(flags, sizeof flags / sizeof flags[0], argc, argv, &first, err,
                          sizeof err, usage_head);
  if (rv == 1)
    return 0;
  if (rv != 0 || first != argc) {
    fprintf(stderr, "peerlink-bridge: %s\n", rv != 0 ? err : "unexpected argument (see --help)");
    return 2;
  }
  pl_log_init("bridge", o.verbose ? PL_LOG_DEBUG : PL_LOG_INFO);
  const char *origins[MAX_ORIGINS];
  int n_origins = o.allow_origin ? split_list(o.allow_origin, origins) : 0;
  if (n_origins < 0) {
    fprintf(stderr, "peerlink-bridge: --allow-origin: at most %d origins\n", MAX_ORIGINS);
    return 2;
  }
  pl_bridge_config cfg = {
      .listen = o.listen,
      .agent = o.agent,
      .agent_token = o.agent_token,
      .token = o.token,
      .allow_origins = origins,
      .n_allow_origins = (size_t)n_origins,
      .services = o.services,
      .ui_dir = o.ui,
      .max_message_bytes = o.max_message,
  };
  uv_loop_t *loop = uv_default_loop();
  app a = {0};
  rv = pl_bridge_start(&a.bridge, loop, &cfg, err, sizeof err);
  if (rv != 0) {
    fprintf(stderr, "peerlink-bridge: %s\n", err);
    if (a.bridge) {
      uv_run(loop, UV_RUN_DEFAULT); /* lets lws close what it opened */
      pl_bridge_free(a.bridge);
    }
    return rv == PL_ERR_INVALID ? 2 : 1;
  }
  /* Signals before the start line: a script may stop us as soon as it has read it. */
  pl_signals_start(&a.signals, loop, on_stop, &a);
  char host[64];
  int ignored;
  pl_hostport_split(o.listen, host, &ignored);
  int v6 = strchr(host, ':') != NULL;
  printf("peerlink-bridge: listen=%s%s%s:%d agent=%s url=http://%s%s%s:%d/\n", v6 ? "[" : "", host,
         v6 ? "]" : "", pl_bridge_port(a.bridge), o.agent, v6 ? "[" : "", host, v6 ? "]" : "",
         pl_bridge_port(a.bridge));
  fflush(stdout);
  pl_log(PL_LOG_INFO, "started", "listen=%s:%d agent=%s ui=%s token=%s", host,
         pl_bridge_port(a.bridge), o.agent, o.ui ? o.ui : "-", o.token ? "set" : "none");
  /* Runs until every handle is closed, libwebsockets' included. */
  uv_run(loop, UV_RUN_DEFAULT);
  rv = pl_bridge_free(a.bridge);
  /* The signal handles stay (a second signal must still work), so the loop is not closed. */
  pl_log(PL_LOG_INFO, "stopped", "clean=%s", rv == 0 ? "yes" : "no");
  return a.stopped && rv == 0 ? 0 : 1;
}
