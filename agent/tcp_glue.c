/* TCP hole punching wired into the agent: the punching port and its STUN-over-TCP mapping
 * become TCP candidates, an offer starts a TCP link beside the UDP link of the same pairing
 * (and the UDP link's end ends it), TCP state becomes PeerPath.tcp in GetStatus and
 * PathChanged events, and TCP messages become MessageReceived events. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/candidates.h"
#include "control/common/addr.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/hex.h"
#include "control/common/log.h"

/* What PeerPath.tcp points to for one TCP link: filled on each request, kept with the link. */
typedef struct tcp_view {
  Peerlink__V1__TcpPath path;
  Peerlink__V1__Endpoint local, remote;
  char lip[64], rip[64];
} tcp_view;

static pl_tcp_link *tcp_of(const pl_agent *a, const pl_link *l) {
  return a->tcp.open ? pl_tcp_find(&a->tcp, l->pairing) : NULL;
}

static void tcp_link_end(pl_tcp_link *t, const char *why) {
  free(t->data);
  t->data = NULL;
  pl_tcp_link_close(t, why);
}

/* --- from the TCP node ------------------------------------------------------------------ */

static void on_tcp_link(void *arg, pl_tcp_link *t) {
  pl_agent *a = arg;
  char detail[300];
  pl_link *l = pl_links_find_pairing(&a->links, t->pairing);
  if (l == NULL || a->closing)
    return;
  snprintf(detail, sizeof detail, "tcp %s: %s", pl_tcp_link_state_name(t->state), t->detail);
  pl_agent_publish_path(a, l, detail);
}

static void on_tcp_message(void *arg, pl_tcp_link *t, const uint8_t *data, size_t len) {
  pl_agent *a = arg;
  pl_events_publish_message(&a->events, t->peer_hex, PEERLINK__V1__DELIVERY__DELIVERY_TCP, data,
                            len);
}

static void on_tcp_public(void *arg) {
  pl_agent *a = arg;
  if (pl_agent_refresh_candidates(a) == 0)
    pl_registration_update_candidates(&a->reg);
  pl_agent_publish_nat(a, NULL);
}

/* --- life ------------------------------------------------------------------------------- */

int pl_agent_tcp_open(pl_agent *a, int port) {
  struct sockaddr_storage addr;
  char host[64];
  int udp_port;
  if (port < 0)
    return 0; /* --tcp-port off */
  if (pl_hostport_split(a->udp_addr, host, &udp_port) != 0 || pl_addr_parse(&addr, host, port) != 0)
    return PL_ERR_INVALID;
  pl_tcp_node *n = &a->tcp;
  n->loop = a->loop;
  pl_hex_decode(n->self_id, sizeof n->self_id, a->ident.id);
  n->obs = (pl_tcp_observer){
      .on_link = on_tcp_link, .on_message = on_tcp_message, .on_public = on_tcp_public, .arg = a};
  int rv = pl_tcp_node_open(n, (const struct sockaddr *)&addr);
  if (rv != 0)
    return rv;
  pl_agent_tcp_stun(a);
  return 0;
}

void pl_agent_tcp_close(pl_agent *a) {
  for (pl_tcp_link *t = a->tcp.links; t; t = t->next) {
    free(t->data);
    t->data = NULL;
  }
  pl_tcp_node_close(&a->tcp, NULL, NULL);
}

void pl_agent_tcp_stun(pl_agent *a) {
  struct sockaddr_storage server;
  if (!a->tcp.open)
    return;
  /* The first --stun server over TCP (coturn answers on the same port), else the rendezvous's
   * own responder once Registered named its port. */
  if (a->stun_from_flags) {
    pl_tcp_node_set_stun(&a->tcp, (const struct sockaddr *)&a->stun_servers[0]);
  } else if (a->stun_tcp_port && pl_addr_parse(&server, a->rdv_host, (int)a->stun_tcp_port) == 0) {
    pl_tcp_node_set_stun(&a->tcp, (const struct sockaddr *)&server);
  }
}

void pl_agent_tcp_offer(pl_agent *a, const Peerlink__V1__Offer *offer) {
  pl_tcp_link_config cfg;
  pl_tcp_link *t;
  if (!a->tcp.open || offer->peer == NULL || offer->peer->id == NULL)
    return;
  memset(&cfg, 0, sizeof cfg);
  if (pl_hex_decode(cfg.pairing, sizeof cfg.pairing, offer->pairing_id) != 0 ||
      pl_hex_decode(cfg.peer_id, sizeof cfg.peer_id, offer->peer->id) != 0)
    return;
  cfg.secret = offer->pairing_secret.data;
  cfg.secretlen = offer->pairing_secret.len;
  cfg.controlling = offer->role == PEERLINK__V1__ROLE__ROLE_CONTROLLING;
  /* Both sides connect at the offer's start time (the rendezvous's clock, as the UDP punch
   * reads it): their SYNs cross within about one RTT. */
  int64_t wait_ms = offer->start_unix_ms - pl_clock_unix_ms();
  cfg.start_us = pl_clock_now_us() + (uint64_t)(wait_ms < 0 || wait_ms > 5000 ? 0 : wait_ms) * 1000;
  for (size_t i = 0; i < offer->peer->n_candidates && cfg.n_remote < PL_TCP_PUNCH_MAX_REMOTE; i++) {
    const Peerlink__V1__Candidate *c = offer->peer->candidates[i];
    if (c->transport == PEERLINK__V1__TRANSPORT__TRANSPORT_TCP && c->endpoint &&
        pl_addr_from_endpoint(&cfg.remote[cfg.n_remote], c->endpoint) == 0)
      cfg.n_remote++;
  }
  pl_tcp_link *old = pl_tcp_find(&a->tcp, cfg.pairing);
  if (old)
    tcp_link_end(old, "replaced by a new offer");
  /* The view first: a link without candidates reports at once, from inside pl_tcp_link_new. */
  cfg.data = calloc(1, sizeof(tcp_view));
  int rv = cfg.data ? pl_tcp_link_new(&a->tcp, &cfg, &t) : PL_ERR_NOMEM;
  if (rv != 0) {
    free(cfg.data);
    pl_log(PL_LOG_WARN, "tcp_offer_rejected", "pairing=%s reason=\"%s\"", offer->pairing_id,
           pl_strerror(rv));
  }
}

void pl_agent_tcp_link_changed(pl_agent *a, const pl_link *l, const char *why) {
  pl_tcp_link *t = tcp_of(a, l);
  /* A link that left the table is closing: its TCP link goes with it. */
  if (t && pl_links_find_pairing(&a->links, l->pairing) != l)
    tcp_link_end(t, why);
}

/* --- candidates and status -------------------------------------------------------------- */

static int append_tcp(Peerlink__V1__Candidate ***cands, size_t *n, const char *ip, int port,
                      Peerlink__V1__CandidateKind kind) {
  for (size_t i = 0; i < *n; i++) {
    const Peerlink__V1__Candidate *c = (*cands)[i];
    if (c->transport == PEERLINK__V1__TRANSPORT__TRANSPORT_TCP &&
        strcmp(c->endpoint->ip, ip) == 0 && (int)c->endpoint->port == port)
      return 0; /* e.g. a public address on an interface: the host candidate says it already */
  }
  int rv = pl_candidates_append(cands, n, ip, port, kind);
  if (rv == 0)
    (*cands)[*n - 1]->transport = PEERLINK__V1__TRANSPORT__TRANSPORT_TCP;
  return rv;
}

int pl_agent_tcp_candidates(pl_agent *a, Peerlink__V1__Candidate ***cands, size_t *n) {
  int port = pl_tcp_node_port(&a->tcp), rv = 0;
  size_t udp = *n;
  if (port <= 0)
    return 0;
  /* One listening socket on the --udp address: the UDP host addresses, with the TCP port. */
  for (size_t i = 0; i < udp && rv == 0; i++)
    if ((*cands)[i]->kind == PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST)
      rv = append_tcp(cands, n, (*cands)[i]->endpoint->ip, port,
                      PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST);
  if (rv == 0 && a->tcp.has_public) {
    char ip[64];
    int pport = pl_addr_ip_port((const struct sockaddr *)&a->tcp.public_ep, ip);
    rv = append_tcp(cands, n, ip, pport,
                    PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE);
  }
  return rv;
}

Peerlink__V1__TcpPath *pl_agent_tcp_path(pl_agent *a, const pl_link *l) {
  static Peerlink__V1__TcpPath off = PEERLINK__V1__TCP_PATH__INIT;
  pl_tcp_link *t = tcp_of(a, l);
  if (!a->tcp.open) {
    off.detail = "TCP punching is off on this agent (--tcp-port off)";
    return &off;
  }
  if (t == NULL || t->data == NULL)
    return NULL; /* not attempted (explicit candidates, or no offer yet) */
  tcp_view *v = t->data;
  peerlink__v1__tcp_path__init(&v->path);
  v->path.connected = t->state == PL_TCP_LINK_CONNECTED;
  v->path.detail = t->detail;
  if (v->path.connected) {
    peerlink__v1__endpoint__init(&v->local);
    peerlink__v1__endpoint__init(&v->remote);
    int lport = pl_addr_ip_port((const struct sockaddr *)&t->local, v->lip);
    int rport = pl_addr_ip_port((const struct sockaddr *)&t->remote, v->rip);
    if (lport > 0) {
      v->local.ip = v->lip;
      v->local.port = (uint32_t)lport;
      v->path.local = &v->local;
    }
    if (rport > 0) {
      v->remote.ip = v->rip;
      v->remote.port = (uint32_t)rport;
      v->path.remote = &v->remote;
    }
  }
  return &v->path;
}

Peerlink__V1__Endpoint *pl_agent_tcp_public(pl_agent *a, Peerlink__V1__Endpoint *ep, char ip[64]) {
  if (!a->tcp.open || !a->tcp.has_public)
    return NULL;
  int port = pl_addr_ip_port((const struct sockaddr *)&a->tcp.public_ep, ip);
  if (port <= 0)
    return NULL;
  peerlink__v1__endpoint__init(ep);
  ep->ip = ip;
  ep->port = (uint32_t)port;
  return ep;
}
