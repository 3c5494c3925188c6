/* peerlink-agent: flags, start-up in dependency order, and an orderly stop. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/candidates.h"
#include "control/common/addr.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"
#include "control/common/netname.h"
#include "control/common/signals.h"
#include "peerlink/descriptor_set.h"

#define SHUTDOWN_GRACE_MS 2000

typedef struct options {
  char *control, *rendezvous, *udp, *state_dir, *name, *token, *rendezvous_token, *stun, *tcp_port;
  uint64_t max_message, stun_recheck_ms, keepalive_ms, dead_after_ms, relay_after_ms, bench_chunk;
  uint64_t max_reliable_message, reliable_timeout_ms;
  char *files_dir, *network, *watch;
  int verbose;
} options;

/* What a Send request adds around its data (peer ID, tags, lengths), with room to spare. */
#define SEND_REQUEST_OVERHEAD 256

typedef struct app {
  pl_agent agent;
  pl_signals signals;
  char files_dir[4096];
} app;

static const char usage_head[] =
    "usage: peerlink-agent [FLAGS]\n\n"
    "A peerlink worker agent: creates its identity on first start, registers with a rendezvous\n"
    "and serves peerlink.v1.Agent over gRPC (with health and server reflection). Prints its ID\n"
    "and bound addresses on one line at start.";

/* --- start and stop --------------------------------------------------------------------- */

static void on_server_down(void *arg) {
  pl_agent *a = arg;
  a->server = NULL;
}

static void on_registration_stopped(void *arg) {
  (void)arg;
}

static void on_stop(void *arg) {
  app *p = arg;
  pl_agent *a = &p->agent;
  pl_log(PL_LOG_INFO, "stopping", "grace_ms=%d", SHUTDOWN_GRACE_MS);
  /* First, while the transport and the Register stream still carry each link's CLOSE. */
  pl_agent_links_close(a, "agent stopping");
  pl_agent_files_close(a, "agent stopping"); /* after the links: peers hear "agent stopping" */
  pl_agent_tcp_close(a);
  pl_agent_stun_close(a);
  if (a->reg.target)
    pl_registration_stop(&a->reg, on_registration_stopped, a); /* relayed CLOSEs drain first */
  pl_transport_close(&a->transport, NULL, NULL);
  pl_rpc_server_shutdown(a->server, SHUTDOWN_GRACE_MS, on_server_down, a);
}

/* --stun HOST:PORT[,HOST:PORT...]: numeric addresses (no DNS on the loop thread). */
static int parse_stun_servers(pl_agent *a, const char *list) {
  char buf[512], host[64];
  int port;
  if (list == NULL || *list == '\0')
    return 0;
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (a->n_stun_servers == sizeof a->stun_servers / sizeof a->stun_servers[0] ||
        pl_hostport_split(tok, host, &port) != 0 || port == 0 ||
        pl_addr_parse(&a->stun_servers[a->n_stun_servers], host, port) != 0) {
      fprintf(stderr,
              "peerlink-agent: --stun: \"%s\" is not a numeric IP:PORT (at most 4, "
              "comma-separated)\n",
              tok);
      return 2;
    }
    a->n_stun_servers++;
  }
  return 0;
}

/* --tcp-port PORT|off: -1 for off. */
static int parse_tcp_port(const char *text, int *pport) {
  char *end;
  if (strcmp(text, "off") == 0) {
    *pport = -1;
    return 0;
  }
  long v = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < 0 || v > 65535) {
    fprintf(stderr, "peerlink-agent: --tcp-port: \"%s\" is not a port (0..65535) or \"off\"\n",
            text);
    return 2;
  }
  *pport = (int)v;
  return 0;
}

static int start(app *p, options *o) {
  pl_agent *a = &p->agent;
  int rv, port;
  char host[64];

  rv = pl_identity_load_or_create(&a->ident, o->state_dir);
  if (rv != 0) {
    fprintf(stderr, "peerlink-agent: --state-dir %s: cannot load or create the identity: %s\n",
            o->state_dir, pl_strerror(rv));
    return 1;
  }
  char why[160];
  snprintf(p->files_dir, sizeof p->files_dir, "%s%s", o->files_dir ? o->files_dir : o->state_dir,
           o->files_dir ? "" : "/files");
  if (pl_files_dir_prepare(p->files_dir, why, sizeof why) != 0) {
    fprintf(stderr, "peerlink-agent: --files-dir %s: %s\n", p->files_dir, why);
    return 1;
  }
  struct sockaddr_storage udp;
  if (pl_hostport_split(o->udp, host, &port) != 0 || pl_addr_parse(&udp, host, port) != 0) {
    fprintf(stderr, "peerlink-agent: --udp %s: not an IP address and port\n", o->udp);
    return 2;
  }
  if (pl_transport_open(&a->transport, a->loop, (const struct sockaddr *)&udp) != 0) {
    fprintf(stderr, "peerlink-agent: --udp %s: cannot bind\n", o->udp);
    return 1;
  }
  pl_transport_local_text(&a->transport, a->udp_addr, sizeof a->udp_addr);
  pl_rpc_server_config cfg = {
      .listen = o->control,
      .token = o->token,
      .max_message_bytes = o->max_message,
      .descriptor_set = pl_descriptor_set,
      .descriptor_set_len = pl_descriptor_set_len,
  };
  if ((rv = pl_rpc_server_new(&a->server, a->loop, &cfg)) != 0) {
    fprintf(stderr, "peerlink-agent: --control %s: %s%s\n", o->control, pl_strerror(rv),
            rv == PL_ERR_INVALID && o->token == NULL ? " (a non-loopback address needs --token)"
                                                     : "");
    return 2;
  }
  pl_agent_service_init(a);
  if (pl_rpc_server_add_service(a->server, &a->service) != 0 ||
      pl_rpc_server_start(a->server, &port) != 0) {
    fprintf(stderr, "peerlink-agent: --control %s: cannot bind\n", o->control);
    return 1;
  }
  pl_hostport_split(o->control, host, &rv);
  snprintf(a->control_addr, sizeof a->control_addr, "%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
           strchr(host, ':') ? "]" : "", port);

  a->stun_recheck_us = o->stun_recheck_ms * 1000;
  a->nat = PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN;
  if ((rv = parse_stun_servers(a, o->stun)) != 0)
    return rv;
  a->stun_from_flags = a->n_stun_servers > 0;
  int tcp_port;
  if ((rv = parse_tcp_port(o->tcp_port, &tcp_port)) != 0)
    return rv;
  a->tcp.keepalive_us = o->keepalive_ms * 1000;
  a->tcp.dead_after_us = o->dead_after_ms * 1000;
  a->tcp.stun_recheck_us = a->stun_recheck_us;
  if (pl_agent_tcp_open(a, tcp_port) != 0) {
    fprintf(stderr, "peerlink-agent: --tcp-port %s: cannot bind and listen on TCP\n", o->tcp_port);
    return 1;
  }
  if (pl_agent_refresh_candidates(a) != 0) {
    fprintf(stderr, "peerlink-agent: cannot list interface addresses\n");
    return 1;
  }
  a->links.keepalive_us = o->keepalive_ms * 1000;
  a->links.dead_after_us = o->dead_after_ms * 1000;
  a->links.relay_after_us = o->relay_after_ms * 1000;
  a->links.max_reliable_message = (size_t)o->max_reliable_message;
  a->links.reliable_give_up_us = o->reliable_timeout_ms * 1000;
  a->bench_chunk = (uint32_t)o->bench_chunk;
  pl_agent_links_init(a);
  pl_agent_files_init(a, p->files_dir);
  pl_agent_stun_init(a);

  a->reg.state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISABLED;
  snprintf(a->reg.detail, sizeof a->reg.detail, "no --rendezvous configured");
  a->reg.network = o->network;
  if (a->reg.target && pl_agent_registration_start(a, o->rendezvous_token) != 0) {
    fprintf(stderr, "peerlink-agent: --rendezvous %s: cannot start registering\n", o->rendezvous);
    return 1;
  }
  pl_agent_stun_start(a);
  char tcp[16] = "off", others[PL_REGISTRATION_TARGETS_MAX * PL_REGISTRATION_TARGET_LEN] = "";
  if (a->tcp.open)
    snprintf(tcp, sizeof tcp, "%d", pl_tcp_node_port(&a->tcp));
  /* The instance dialled first; the others, in the order failures move on to them. */
  for (size_t i = 1, used = 0; i < a->reg.n_targets && used < sizeof others; i++)
    used += (size_t)snprintf(others + used, sizeof others - used, "%s%s",
                             i == 1 ? " rendezvous_next=" : ",", a->reg.targets[i]);
  printf("peerlink-agent: id=%s name=%s control=%s udp=%s tcp_port=%s rendezvous=%s%s\n",
         a->ident.id, a->name, a->control_addr, a->udp_addr, tcp,
         a->reg.target ? a->reg.target : "none", others);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  static app p;
  options o = {0};
  char hostname[65] = "agent";
  gethostname(hostname, sizeof hostname - 1);
  const pl_flag flags[] = {
      {"control", "PEERLINK_CONTROL", PL_FLAG_HOSTPORT, &o.control, "127.0.0.1:7700",
       "gRPC control API address (port 0 picks a free port)", 0, 0, 0},
      {"rendezvous", "RENDEZVOUS_SERVICE_URL", PL_FLAG_STRING, &o.rendezvous, NULL,
       "rendezvous gRPC address(es) to register with, HOST:PORT[,HOST:PORT...] (at most 8 "
       "instances sharing one registry: the first, then the next after every failure; none: run "
       "unregistered)",
       0, 0, 0},
      {"udp", "PEERLINK_UDP", PL_FLAG_HOSTPORT, &o.udp, "0.0.0.0:0",
       "the data UDP socket's address (port 0 picks a free port)", 0, 0, 0},
      {"state-dir", "PEERLINK_STATE_DIR", PL_FLAG_STRING, &o.state_dir, "./peerlink-state",
       "directory for the identity (key.der, cert.der); created on first start", 0, 0, 0},
      {"files-dir", "PEERLINK_FILES_DIR", PL_FLAG_STRING, &o.files_dir, NULL,
       "where files from peers are stored (created 0700); default: <state-dir>/files", 0, 0, 0},
      {"name", "PEERLINK_NAME", PL_FLAG_STRING, &o.name, hostname,
       "human-readable agent name shown to peers", 0, 0, 0},
      {"token", "PEERLINK_TOKEN", PL_FLAG_STRING, &o.token, NULL,
       "bearer token every control call must carry; required for a non-loopback --control", 0, 0,
       0},
      {"rendezvous-token", "PEERLINK_RENDEZVOUS_TOKEN", PL_FLAG_STRING, &o.rendezvous_token, NULL,
       "bearer token to present to the rendezvous", 0, 0, 0},
      {"network", "PEERLINK_NETWORK", PL_FLAG_STRING, &o.network, "",
       "network to register in: agents of one network see each other (peer list, events, "
       "--auto-pair); empty: see only watched and paired peers (up to 64 of A-Z a-z 0-9 . _ : -)",
       0, 0, 0},
      {"watch", "PEERLINK_WATCH", PL_FLAG_STRING, &o.watch, NULL,
       "comma-separated agent IDs to follow whatever their network (joins, updates, departures)", 0,
       0, 0},
      {"stun", "PEERLINK_STUN", PL_FLAG_STRING, &o.stun, NULL,
       "STUN servers, IP:PORT[,IP:PORT...] (two addresses also measure the NAT's mapping "
       "behaviour); default: the rendezvous's own responders",
       0, 0, 0},
      {"stun-recheck", "STUN_RECHECK_INTERVAL_SEC", PL_FLAG_MILLIS, &o.stun_recheck_ms, "60s",
       "how often to re-check the public mapping", 1000, 3600000, 1},
      {"tcp-port", "PEERLINK_TCP_PORT", PL_FLAG_STRING, &o.tcp_port, "0",
       "TCP port for hole punching by simultaneous open, on the --udp address (0 picks one; off: "
       "no TCP)",
       0, 0, 0},
      {"keepalive", "PING_INTERVAL_SEC", PL_FLAG_MILLIS, &o.keepalive_ms, "2s",
       "keep-alive interval on a selected path (well under NAT timeouts of ~30 s)", 100, 25000, 1},
      {"dead-after", NULL, PL_FLAG_MILLIS, &o.dead_after_ms, "8s",
       "declare a path dead after this long without an authenticated frame", 500, 120000, 0},
      {"relay-after", NULL, PL_FLAG_MILLIS, &o.relay_after_ms, "3s",
       "fall back to the relay when no direct path works within this time", 100, 60000, 0},
      {"max-message", NULL, PL_FLAG_UINT, &o.max_message, "4194304",
       "largest gRPC request message in bytes", 1024, 64u << 20, 0},
      {"max-reliable-message", NULL, PL_FLAG_UINT, &o.max_reliable_message, NULL,
       "largest reliable message (Send DELIVERY_RELIABLE) in bytes; peers should agree (a "
       "receiver refuses larger ones); must fit in a --max-message request (default: 1048576, "
       "or what --max-message leaves room for)",
       1, 64u << 20, 0},
      {"reliable-timeout", NULL, PL_FLAG_MILLIS, &o.reliable_timeout_ms, "15s",
       "a reliable message unacknowledged this long fails its Send (peer gone) and closes the "
       "link",
       1000, 600000, 0},
      {"bench-chunk-size", "BENCHMARK_CHUNK_SIZE", PL_FLAG_UINT, &o.bench_chunk, "1200",
       "Benchmark's default datagram (UDP: the whole frame, capped by the path) or chunk size "
       "in bytes, when the request gives none",
       50, 1u << 20, 0},
      {"verbose", NULL, PL_FLAG_BOOL, &o.verbose, NULL, "log debug lines", 0, 0, 0},
  };
  char err[256];
  int first;
  /* The Python prototype's STUN_HOST/STUN_PORT and INTERNAL_UDP_PORT still work. */
  char stun_env[128], udp_env[32];
  if (getenv("STUN_HOST") && !getenv("PEERLINK_STUN")) {
    snprintf(stun_env, sizeof stun_env, "%s:%s", getenv("STUN_HOST"),
             getenv("STUN_PORT") ? getenv("STUN_PORT") : "3478");
    setenv("PEERLINK_STUN", stun_env, 1);
  }
  if (getenv("INTERNAL_UDP_PORT") && !getenv("PEERLINK_UDP")) {
    snprintf(udp_env, sizeof udp_env, "0.0.0.0:%s", getenv("INTERNAL_UDP_PORT"));
    setenv("PEERLINK_UDP", udp_env, 1);
  }
  int rv = pl_flags_parse(flags, sizeof flags / sizeof flags[0], argc, argv, &first, err,
                          sizeof err, usage_head);
  if (rv == 1)
    return 0;
  if (rv != 0 || first != argc) {
    fprintf(stderr, "peerlink-agent: %s\n", rv != 0 ? err : "unexpected argument (see --help)");
    return 2;
  }
  if (o.max_reliable_message == 0) /* not given */
    o.max_reliable_message = o.max_message - SEND_REQUEST_OVERHEAD < (1u << 20)
                                 ? o.max_message - SEND_REQUEST_OVERHEAD
                                 : (1u << 20);
  if (o.max_reliable_message + SEND_REQUEST_OVERHEAD > o.max_message) {
    fprintf(stderr,
            "peerlink-agent: --max-reliable-message %llu: a Send request carrying it would be "
            "over --max-message %llu (raise --max-message to at least %llu)\n",
            (unsigned long long)o.max_reliable_message, (unsigned long long)o.max_message,
            (unsigned long long)(o.max_reliable_message + SEND_REQUEST_OVERHEAD));
    return 2;
  }
  if (*o.name == '\0' || strlen(o.name) > 64) {
    fprintf(stderr, "peerlink-agent: --name: must be 1..64 bytes\n");
    return 2;
  }
  if (!pl_netname_valid(o.network)) {
    fprintf(stderr, "peerlink-agent: --network: at most %d of A-Z a-z 0-9 . _ : -\n",
            PL_NETNAME_MAX);
    return 2;
  }
  if (o.rendezvous &&
      pl_registration_set_targets(&p.agent.reg, o.rendezvous, err, sizeof err) != 0) {
    fprintf(stderr, "peerlink-agent: %s%s\n", err,
            o.rendezvous == getenv("RENDEZVOUS_SERVICE_URL") ? " (from $RENDEZVOUS_SERVICE_URL)"
                                                             : "");
    return 2;
  }
  if (pl_registration_set_watch(&p.agent.reg, o.watch, err, sizeof err) != 0) {
    fprintf(stderr, "peerlink-agent: %s\n", err);
    return 2;
  }
  pl_log_init("agent", o.verbose ? PL_LOG_DEBUG : PL_LOG_INFO);

  /* One wolfCrypt reference for the process: without it every signature initialises and frees
   * wolfSSL's ECC tables again (measured: 4 ms instead of 0.14 ms per verify). */
  wolfCrypt_Init();
  /* A write to a TCP connection the peer reset must fail with EPIPE, not kill the agent. */
  signal(SIGPIPE, SIG_IGN);
  pl_agent *a = &p.agent;
  a->loop = uv_default_loop();
  a->name = o.name;
  a->started_ms = uv_now(a->loop);
  pl_agentlist_init(&a->peers);
  pl_events_init(&a->events);
  if ((rv = start(&p, &o)) != 0)
    return rv;
  pl_signals_start(&p.signals, a->loop, on_stop, &p);
  uv_run(a->loop, UV_RUN_DEFAULT);

  pl_agentlist_free(&a->peers);
  if (a->cands)
    pl_candidates_free(a->cands, a->n_cands);
  pl_log(PL_LOG_INFO, "stopped", "id=%s", a->ident.id);
  pl_identity_free(&a->ident);
  uv_loop_close(a->loop);
  wolfCrypt_Cleanup();
  return 0;
}
