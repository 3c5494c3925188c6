/* peerlink-rendezvous: the registry of online agents and their pairings (gRPC), the STUN
 * responder and relay (UDP), later WebSocket signalling (HTTP). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"
#include "control/common/signals.h"
#include "control/common/addr.h"
#include "control/rendezvous/cluster.h"
#include "control/rendezvous/http.h"
#include "control/rendezvous/service.h"
#include "control/rendezvous/stun_tcp.h"
#include "control/rendezvous/udp.h"
#include "control/rpc/rpc.h"
#include "peerlink/descriptor_set.h"

#define SHUTDOWN_GRACE_MS 2000

typedef struct options {
  char *listen, *udp, *udp_alt, *http, *token, *stun_tcp, *redis, *redis_prefix, *advertise;
  uint64_t max_message, stats_interval, read_chunk, redis_ttl;
  int auto_pair, broadcast, verbose;
} options;

typedef struct app {
  uv_loop_t *loop;
  pl_rpc_server *server;
  pl_rdv_service rendezvous;
  pl_rdv_udp udp;
  pl_rdv_stun_tcp stun_tcp;
  pl_rdv_http *http;       /* --http; NULL without */
  pl_rdv_cluster *cluster; /* --redis; NULL without */
  pl_signals signals;
  uv_timer_t stats_timer;
  int has_stats_timer;
  pl_rdv_relay_stats logged; /* the counters the last relay_stats line showed */
} app;

static const char usage_head[] =
    "usage: peerlink-rendezvous [FLAGS]\n\n"
    "Keeps the registry of online peerlink agents, pairs them and serves peerlink.v1.Rendezvous\n"
    "over gRPC (with health and server reflection). With --udp it also answers STUN and relays\n"
    "datagrams between paired agents. Prints the bound addresses on one line at start.";

/* One line with the relay and STUN counters, only when they moved: a quiet rendezvous keeps a
 * quiet log. */
static void log_stats(app *a, int always) {
  char line[512];
  if (!always && memcmp(&a->logged, &a->rendezvous.stats, sizeof a->logged) == 0)
    return;
  a->logged = a->rendezvous.stats;
  pl_rdv_relay_stats_format(&a->rendezvous.stats, line, sizeof line);
  pl_log(PL_LOG_INFO, "relay_stats", "%s agents=%zu pairings=%zu", line,
         a->rendezvous.registry.count, a->rendezvous.registry.pairings.count);
}

static void on_stats_timer(uv_timer_t *t) {
  log_stats(t->data, 0);
}

static void on_server_down(void *arg) {
  app *a = arg;
  a->server = NULL;
  log_stats(a, 1);
  pl_log(PL_LOG_INFO, "stopped", "agents=%zu", a->rendezvous.registry.count);
}

/* The shared registry's health: SERVING while this instance's agents are in it, NOT_SERVING
 * while it is an island (its own agents still register and pair) or waits for a leader. */
static void on_cluster_role(void *arg, pl_rdv_cluster_role role, const char *detail) {
  app *a = arg;
  (void)detail;
  if (a->server)
    pl_rpc_server_set_health(a->server, PL_RDV_SHARED_REGISTRY_HEALTH,
                             role == PL_RDV_CLUSTER_FOLLOWER || role == PL_RDV_CLUSTER_LEADER);
}

static void on_stop(void *arg) {
  app *a = arg;
  pl_log(PL_LOG_INFO, "stopping", "grace_ms=%d", SHUTDOWN_GRACE_MS);
  if (a->has_stats_timer)
    uv_close((uv_handle_t *)&a->stats_timer, NULL);
  a->has_stats_timer = 0;
  pl_rdv_udp_close(&a->udp, NULL, NULL);
  pl_rdv_stun_tcp_close(&a->stun_tcp, NULL, NULL);
  pl_rdv_http_stop(a->http);
  pl_rdv_cluster_stop(a->cluster);
  pl_rpc_server_shutdown(a->server, SHUTDOWN_GRACE_MS, on_server_down, a);
}

static void print_start_line(app *a, const char *listen, const char *http_flag, int port) {
  char host[64], udp[80], alt[80], stcp[80], http[80] = "";
  int ignored;
  pl_hostport_split(listen, host, &ignored);
  pl_rdv_udp_name(&a->udp, 0, udp, sizeof udp);
  pl_rdv_udp_name(&a->udp, 1, alt, sizeof alt);
  pl_rdv_stun_tcp_name(&a->stun_tcp, stcp, sizeof stcp);
  if (a->http && pl_hostport_split(http_flag, host, &ignored) == 0)
    snprintf(http, sizeof http, " http=%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", pl_rdv_http_port(a->http));
  pl_hostport_split(listen, host, &ignored);
  printf("peerlink-rendezvous: grpc=%s%s%s:%d%s%s%s%s%s%s%s\n", strchr(host, ':') ? "[" : "", host,
         strchr(host, ':') ? "]" : "", port, udp[0] ? " udp=" : "", udp, alt[0] ? " udp_alt=" : "",
         alt, stcp[0] ? " stun_tcp=" : "", stcp, http);
  fflush(stdout);
}

/* --stun-tcp: HOST:PORT, "off", or unset: the --udp socket's address and port on TCP (as
 * coturn serves STUN on 3478 over both), or another port of that host when that one is taken
 * on TCP. Writes a message naming the flag into err. Returns 0, PL_ERR_INVALID, PL_ERR_IO. */
static int start_stun_tcp(app *a, const char *flag, char *err, size_t errlen) {
  char text[80], host[64];
  int port, dflt = flag == NULL;
  struct sockaddr_storage ss;
  if (flag && strcmp(flag, "off") == 0)
    return 0;
  if (dflt) {
    pl_rdv_udp_name(&a->udp, 0, text, sizeof text);
    if (text[0] == '\0')
      return 0; /* no --udp: no STUN at all */
  } else {
    snprintf(text, sizeof text, "%s", flag);
  }
  if (pl_hostport_split(text, host, &port) != 0 || pl_addr_parse(&ss, host, port) != 0) {
    snprintf(err, errlen, "--stun-tcp: \"%s\" is not IP:PORT or off", text);
    return PL_ERR_INVALID;
  }
  int rv = pl_rdv_stun_tcp_start(&a->stun_tcp, a->loop, (const struct sockaddr *)&ss);
  if (rv == PL_ERR_IO && dflt && pl_addr_parse(&ss, host, 0) == 0) {
    pl_log(PL_LOG_WARN, "stun_tcp_port_taken", "port=%d", port);
    rv = pl_rdv_stun_tcp_start(&a->stun_tcp, a->loop, (const struct sockaddr *)&ss);
  }
  if (rv != 0) {
    snprintf(err, errlen, "--stun-tcp %s: cannot listen on TCP", text);
    return rv;
  }
  a->rendezvous.stun_tcp_port = pl_rdv_stun_tcp_port(&a->stun_tcp);
  return 0;
}

/* Each agent holds one TCP connection: lift the soft descriptor limit to the hard one (as
 * nginx's worker_rlimit_nofile or Go's runtime do), so a large fleet is bounded by what the
 * operator allowed (ulimit -Hn), not by the 1024 a login shell starts with. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
    return;
  rlim_t was = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
    pl_log(PL_LOG_DEBUG, "fd_limit", "was=%llu now=%llu", (unsigned long long)was,
           (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv) {
  options o = {0};
  const pl_flag flags[] = {
      {"listen", "PEERLINK_RENDEZVOUS_LISTEN", PL_FLAG_HOSTPORT, &o.listen, "127.0.0.1:7800",
       "gRPC address to serve peerlink.v1.Rendezvous on (port 0 picks a free port)", 0, 0, 0},
      {"udp", "PEERLINK_RENDEZVOUS_UDP", PL_FLAG_HOSTPORT, &o.udp, NULL,
       "UDP address for the STUN responder and the relay (e.g. 0.0.0.0:3478; off when unset)", 0, 0,
       0},
      {"udp-alt", "PEERLINK_RENDEZVOUS_UDP_ALT", PL_FLAG_HOSTPORT, &o.udp_alt, NULL,
       "second UDP address answering STUN only, for agents' NAT mapping test (off when unset)", 0,
       0, 0},
      {"stun-tcp", "PEERLINK_RENDEZVOUS_STUN_TCP", PL_FLAG_STRING, &o.stun_tcp, NULL,
       "TCP address answering STUN over TCP, for agents' TCP hole punching (\"off\": none; "
       "default: the --udp address and port, on TCP)",
       0, 0, 0},
      {"auto-pair", "PEERLINK_AUTO_PAIR", PL_FLAG_BOOL, &o.auto_pair, NULL,
       "pair free agents of one network as soon as two have registered their public UDP "
       "endpoints, oldest first",
       0, 0, 0},
      {"broadcast", "PEERLINK_BROADCAST", PL_FLAG_BOOL, &o.broadcast, NULL,
       "every agent sees every other (each join is sent to all: for small fleets); default: an "
       "agent sees its network, the agents it watches and those it is paired with",
       0, 0, 0},
      {"stats-interval", "PEERLINK_STATS_INTERVAL", PL_FLAG_MILLIS, &o.stats_interval, "60s",
       "how often to log the STUN and relay counters when they changed (0: only at exit)", 0, 0, 0},
      {"http", "PEERLINK_RENDEZVOUS_HTTP", PL_FLAG_HOSTPORT, &o.http, NULL,
       "HTTP/WebSocket address: GET /health, GET /debug/list_workers, WS /ws/register/{id} "
       "(JSON signalling), WS /ws/watch (off when unset; a non-loopback one needs --token)",
       0, 0, 0},
      {"token", "PEERLINK_TOKEN", PL_FLAG_STRING, &o.token, NULL,
       "bearer token every gRPC call must carry; required to listen on a non-loopback address", 0,
       0, 0},
      {"max-message", NULL, PL_FLAG_UINT, &o.max_message, "4194304",
       "largest gRPC request message in bytes", 1024, 64u << 20, 0},
      {"grpc-read-chunk", NULL, PL_FLAG_UINT, &o.read_chunk, "1024",
       "bytes of TCP read buffer each agent's connection keeps while idle (grows for busy ones; "
       "0: gRPC's 8 KiB)",
       0, 1u << 20, 0},
      {"redis", "PEERLINK_REDIS", PL_FLAG_HOSTPORT, &o.redis, NULL,
       "share the registry with other instances through this Redis server (off when unset: the "
       "registry is this process's own)",
       0, 0, 0},
      {"redis-prefix", "PEERLINK_REDIS_PREFIX", PL_FLAG_STRING, &o.redis_prefix, "peerlink",
       "prefix of the Redis keys and channels (instances with the same one share a registry)", 0, 0,
       0},
      {"redis-ttl", "PEERLINK_REDIS_TTL", PL_FLAG_MILLIS, &o.redis_ttl, "3s",
       "how long the lead and an instance's agents outlive an instance that stopped answering", 300,
       600000, 0},
      {"advertise", "PEERLINK_ADVERTISE", PL_FLAG_STRING, &o.advertise, NULL,
       "host agents can reach this instance's --udp relay at, named in offers when it leads a "
       "shared registry (default: the host each agent dialled)",
       0, 0, 0},
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

  /* One wolfCrypt reference for the process: without it every Hello signature check builds
   * and frees wolfSSL's ECC tables again (measured: 4 ms instead of 0.14 ms per verify). */
  wolfCrypt_Init();
  app a = {.loop = uv_default_loop()};
  if (pl_rdv_service_init(&a.rendezvous) != 0) {
    fprintf(stderr, "peerlink-rendezvous: out of memory\n");
    return 1;
  }
  a.rendezvous.registry.auto_pair = o.auto_pair;
  a.rendezvous.registry.broadcast = o.broadcast;
  raise_fd_limit();
  pl_rpc_server_config cfg = {
      .listen = o.listen,
      .token = o.token,
      .max_message_bytes = o.max_message,
      .read_chunk_bytes = o.read_chunk,
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
  /* UDP first: Registered and Offer announce its ports, so they must be known before the first
   * agent can register. */
  rv = pl_rdv_udp_start(&a.udp, a.loop, &a.rendezvous, o.udp, o.udp_alt, err, sizeof err);
  if (rv != 0) {
    fprintf(stderr, "peerlink-rendezvous: %s\n", err);
    return rv == PL_ERR_INVALID ? 2 : 1;
  }
  rv = start_stun_tcp(&a, o.stun_tcp, err, sizeof err);
  if (rv != 0) {
    fprintf(stderr, "peerlink-rendezvous: %s\n", err);
    return rv == PL_ERR_INVALID ? 2 : 1;
  }
  if (o.http) {
    rv = pl_rdv_http_start(&a.http, a.loop, &a.rendezvous, o.http, o.token, err, sizeof err);
    if (rv != 0) {
      fprintf(stderr, "peerlink-rendezvous: %s\n", err);
      return rv == PL_ERR_INVALID ? 2 : 1;
    }
  }
  a.rendezvous.relay_host = o.advertise;
  if (o.redis) {
    pl_rdv_cluster_config cc = {
        .redis = o.redis,
        .prefix = o.redis_prefix,
        .ttl_ms = o.redis_ttl,
        .on_role = on_cluster_role,
        .arg = &a,
    };
    rv = pl_rdv_cluster_start(&a.cluster, a.loop, &a.rendezvous, &cc, err, sizeof err);
    if (rv != 0) {
      fprintf(stderr, "peerlink-rendezvous: %s\n", err);
      return rv == PL_ERR_INVALID ? 2 : 1;
    }
    /* Known from the start: NOT_SERVING until Redis answered and a leader is known. */
    on_cluster_role(&a, PL_RDV_CLUSTER_ISLAND, "connecting");
  }
  int port;
  if (pl_rpc_server_add_service(a.server, &a.rendezvous.service) != 0 ||
      pl_rpc_server_start(a.server, &port) != 0) {
    fprintf(stderr, "peerlink-rendezvous: --listen %s: cannot bind\n", o.listen);
    return 1;
  }
  if (o.stats_interval > 0) {
    uv_timer_init(a.loop, &a.stats_timer);
    a.stats_timer.data = &a;
    uv_timer_start(&a.stats_timer, on_stats_timer, o.stats_interval, o.stats_interval);
    uv_unref((uv_handle_t *)&a.stats_timer);
    a.has_stats_timer = 1;
  }
  /* Signals before the start line: a script may stop us as soon as it has read it. */
  pl_signals_start(&a.signals, a.loop, on_stop, &a);
  print_start_line(&a, o.listen, o.http, port);
  uv_run(a.loop, UV_RUN_DEFAULT);
  pl_rdv_http_free(a.http);
  pl_rdv_cluster_free(a.cluster);
  pl_rdv_service_free(&a.rendezvous);
  uv_loop_close(a.loop);
  wolfCrypt_Cleanup();
  return 0;
}
