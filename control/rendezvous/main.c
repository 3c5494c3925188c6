/* peerlink-rendezvous: the registry of online agents (gRPC), later STUN/relay (UDP) and
 * WebSocket signalling (HTTP). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"
#include "control/common/signals.h"
#include "control/rendezvous/service.h"
#include "control/rpc/rpc.h"
#include "peerlink/descriptor_set.h"

#define SHUTDOWN_GRACE_MS 2000

typedef struct options {
  char *listen, *udp, *http, *token;
  uint64_t max_message;
  int verbose;
} options;

typedef struct app {
  uv_loop_t *loop;
  pl_rpc_server *server;
  pl_rendezvous rendezvous;
  pl_signals signals;
} app;

static const char usage_head[] =
    "usage: peerlink-rendezvous [FLAGS]\n\n"
    "Keeps the registry of online peerlink agents and serves peerlink.v1.Rendezvous over gRPC\n"
    "(with health and server reflection). Prints the bound addresses on one line at start.";

static void on_server_down(void *arg) {
  app *a = arg;
  a->server = NULL;
  pl_log(PL_LOG_INFO, "stopped", "agents=%zu", a->rendezvous.registry.count);
}

static void on_stop(void *arg) {
  app *a = arg;
  pl_log(PL_LOG_INFO, "stopping", "grace_ms=%d", SHUTDOWN_GRACE_MS);
  pl_rpc_server_shutdown(a->server, SHUTDOWN_GRACE_MS, on_server_down, a);
}

int main(int argc, char **argv) {
  options o = {0};
  const pl_flag flags[] = {
      {"listen", "PEERLINK_RENDEZVOUS_LISTEN", PL_FLAG_HOSTPORT, &o.listen, "127.0.0.1:7800",
       "gRPC address to serve peerlink.v1.Rendezvous on (port 0 picks a free port)", 0, 0, 0},
      {"udp", "PEERLINK_RENDEZVOUS_UDP", PL_FLAG_HOSTPORT, &o.udp, NULL,
       "UDP address for the STUN responder and relay (not built yet: accepted and checked)", 0, 0,
       0},
      {"http", "PEERLINK_RENDEZVOUS_HTTP", PL_FLAG_HOSTPORT, &o.http, NULL,
       "HTTP/WebSocket address (not built yet: accepted and checked)", 0, 0, 0},
      {"token", "PEERLINK_TOKEN", PL_FLAG_STRING, &o.token, NULL,
       "bearer token every gRPC call must carry; required to listen on a non-loopback address", 0,
       0, 0},
      {"max-message", NULL, PL_FLAG_UINT, &o.max_message, "4194304",
       "largest gRPC request message in bytes", 1024, 64u << 20, 0},
      {"verbose", NULL, PL_FLAG_BOOL, &o.verbose, NULL, "log debug lines", 0, 0, 0},
  };
  char err[256];
  int first;
  int rv = pl_flags_parse(flags, sizeof flags / sizeof flags[0], argc, argv, &first, err,
                          sizeof err, usage_head);
  if (rv == 1)
    return 0;
  if (rv != 0 || first != argc) {
    fprintf(stderr, "peerlink-rendezvous: %s\n",
            rv != 0 ? err : "unexpected argument (see --help)");
    return 2;
  }
  pl_log_init("rendezvous", o.verbose ? PL_LOG_DEBUG : PL_LOG_INFO);

  app a = {.loop = uv_default_loop()};
  pl_rendezvous_init(&a.rendezvous);
  pl_rpc_server_config cfg = {
      .listen = o.listen,
      .token = o.token,
      .max_message_bytes = o.max_message,
      .descriptor_set = pl_descriptor_set,
      .descriptor_set_len = pl_descriptor_set_len,
  };
  rv = pl_rpc_server_new(&a.server, a.loop, &cfg);
  if (rv != 0) {
    fprintf(stderr, "peerlink-rendezvous: --listen %s: %s%s\n", o.listen, pl_strerror(rv),
            rv == PL_ERR_INVALID && o.token == NULL ? " (a non-loopback address needs --token)"
                                                    : "");
    return 2;
  }
  int port;
  if (pl_rpc_server_add_service(a.server, &a.rendezvous.service) != 0 ||
      pl_rpc_server_start(a.server, &port) != 0) {
    fprintf(stderr, "peerlink-rendezvous: --listen %s: cannot bind\n", o.listen);
    return 1;
  }
  char host[64];
  int ignored;
  pl_hostport_split(o.listen, host, &ignored);
  printf("peerlink-rendezvous: grpc=%s%s%s:%d\n", strchr(host, ':') ? "[" : "", host,
         strchr(host, ':') ? "]" : "", port);
  fflush(stdout);
  pl_signals_start(&a.signals, a.loop, on_stop, &a);
  uv_run(a.loop, UV_RUN_DEFAULT);
  pl_rendezvous_free(&a.rendezvous);
  uv_loop_close(a.loop);
  return 0;
}
