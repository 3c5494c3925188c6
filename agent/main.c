/* peerlink-agent: identity, control API, registration with the rendezvous. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/candidates.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"
#include "control/common/signals.h"
#include "peerlink/descriptor_set.h"

#define SHUTDOWN_GRACE_MS 2000

typedef struct options {
  char *control, *rendezvous, *udp, *state_dir, *name, *token, *rendezvous_token;
  uint64_t max_message;
  int verbose;
} options;

typedef struct app {
  pl_agent agent;
  pl_signals signals;
  Peerlink__V1__Candidate **candidates;
  size_t n_candidates;
} app;

static const char usage_head[] =
    "usage: peerlink-agent [FLAGS]\n\n"
    "A peerlink worker agent: creates its identity on first start, registers with a rendezvous\n"
    "and serves peerlink.v1.Agent over gRPC (with health and server reflection). Prints its ID\n"
    "and bound addresses on one line at start.";

/* --- events from the registration ------------------------------------------------------- */

static void on_reg_state(void *arg, Peerlink__V1__RendezvousState state, const char *detail) {
  pl_agent *a = arg;
  Peerlink__V1__RendezvousStateChanged rs = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  rs.state = state;
  rs.detail = (char *)detail;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  ev.rendezvous = &rs;
  pl_events_publish(&a->events, &ev, NULL);
}

static void publish_peer(pl_agent *a, int joined, Peerlink__V1__AgentInfo *info) {
  Peerlink__V1__PeerListChanged pc = PEERLINK__V1__PEER_LIST_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  pc.joined = joined;
  pc.peer = info;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_PEER_LIST;
  ev.peer_list = &pc;
  pl_events_publish(&a->events, &ev, NULL);
}

static void on_reg_change(void *arg, const Peerlink__V1__RegistryChange *change) {
  pl_agent *a = arg;
  pl_agentlist_entry *e;
  if (strcmp(change->agent->id, a->ident.id) == 0)
    return;
  switch (change->kind) {
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED:
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED:
    if (pl_agentlist_put(&a->peers, change->agent, &e) == 0 &&
        change->kind == PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED)
      publish_peer(a, 1, e->info);
    break;
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT:
    if ((e = pl_agentlist_find(&a->peers, change->agent->id)) != NULL) {
      publish_peer(a, 0, e->info);
      pl_agentlist_remove(&a->peers, e);
    }
    break;
  default: break;
  }
}

static void on_reg_reset(void *arg) {
  pl_agent *a = arg;
  /* Without the stream we cannot know who is still there; report everyone as gone. */
  while (a->peers.head) {
    publish_peer(a, 0, a->peers.head->info);
    pl_agentlist_remove(&a->peers, a->peers.head);
  }
}

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
  if (a->reg.target)
    pl_registration_stop(&a->reg, on_registration_stopped, a);
  pl_agent_udp_close(a);
  pl_rpc_server_shutdown(a->server, SHUTDOWN_GRACE_MS, on_server_down, a);
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
  if ((rv = pl_agent_udp_start(a, o->udp)) != 0) {
    fprintf(stderr, "peerlink-agent: --udp %s: %s\n", o->udp,
            rv == PL_ERR_INVALID ? "not an IP address and port" : "cannot bind");
    return rv == PL_ERR_INVALID ? 2 : 1;
  }
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

  a->reg.state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISABLED;
  snprintf(a->reg.detail, sizeof a->reg.detail, "no --rendezvous configured");
  if (o->rendezvous) {
    if (pl_candidates_host(a->udp_addr, &p->candidates, &p->n_candidates) != 0) {
      fprintf(stderr, "peerlink-agent: cannot list interface addresses\n");
      return 1;
    }
    a->reg.ident = &a->ident;
    a->reg.name = a->name;
    a->reg.target = o->rendezvous;
    a->reg.token = o->rendezvous_token;
    a->reg.candidates = p->candidates;
    a->reg.n_candidates = p->n_candidates;
    a->reg.cb = (pl_registration_callbacks){on_reg_state, on_reg_change, on_reg_reset};
    a->reg.arg = a;
    pl_registration_start(&a->reg, a->loop);
  }
  printf("peerlink-agent: id=%s name=%s control=%s udp=%s rendezvous=%s\n", a->ident.id, a->name,
         a->control_addr, a->udp_addr, o->rendezvous ? o->rendezvous : "none");
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
      {"rendezvous", "RENDEZVOUS_SERVICE_URL", PL_FLAG_HOSTPORT, &o.rendezvous, NULL,
       "rendezvous gRPC address to register with (none: run unregistered)", 0, 0, 0},
      {"udp", "PEERLINK_UDP", PL_FLAG_HOSTPORT, &o.udp, "0.0.0.0:0",
       "the data UDP socket's address (port 0 picks a free port)", 0, 0, 0},
      {"state-dir", "PEERLINK_STATE_DIR", PL_FLAG_STRING, &o.state_dir, "./peerlink-state",
       "directory for the identity (key.der, cert.der); created on first start", 0, 0, 0},
      {"name", "PEERLINK_NAME", PL_FLAG_STRING, &o.name, hostname,
       "human-readable agent name shown to peers", 0, 0, 0},
      {"token", "PEERLINK_TOKEN", PL_FLAG_STRING, &o.token, NULL,
       "bearer token every control call must carry; required for a non-loopback --control", 0, 0,
       0},
      {"rendezvous-token", "PEERLINK_RENDEZVOUS_TOKEN", PL_FLAG_STRING, &o.rendezvous_token, NULL,
       "bearer token to present to the rendezvous", 0, 0, 0},
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
    fprintf(stderr, "peerlink-agent: %s\n", rv != 0 ? err : "unexpected argument (see --help)");
    return 2;
  }
  if (*o.name == '\0' || strlen(o.name) > 64) {
    fprintf(stderr, "peerlink-agent: --name: must be 1..64 bytes\n");
    return 2;
  }
  pl_log_init("agent", o.verbose ? PL_LOG_DEBUG : PL_LOG_INFO);

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
  if (p.candidates)
    pl_candidates_free(p.candidates, p.n_candidates);
  pl_log(PL_LOG_INFO, "stopped", "id=%s", a->ident.id);
  pl_identity_free(&a->ident);
  uv_loop_close(a->loop);
  return 0;
}
