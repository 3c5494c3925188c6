/* STUN glue: drives the I/O-free client (agent/stun_client.h) from a libuv timer and the
 * transport, and turns mapping changes into candidates, a CandidatesUpdate, the links' local
 * endpoint and a NatChanged event. */
#include <stdlib.h>
#include <string.h>

#include "control/common/addr.h"
#include "control/common/clock.h"
#include "agent/agent.h"
#include "agent/candidates.h"
#include "control/common/err.h"
#include "control/common/log.h"

static void stun_flush(pl_agent *a);

int pl_agent_refresh_candidates(pl_agent *a) {
  Peerlink__V1__Candidate **host;
  size_t n;
  int rv = pl_candidates_host(a->udp_addr, &host, &n);
  if (rv != 0)
    return rv;
  if (a->has_public) {
    char ip[64];
    int port = pl_addr_ip_port((const struct sockaddr *)&a->public_ep, ip);
    int dup = 0;
    for (size_t i = 0; i < n; i++)
      dup |= strcmp(host[i]->endpoint->ip, ip) == 0 && (int)host[i]->endpoint->port == port;
    if (!dup &&
        pl_candidates_append(&host, &n, ip, port,
                             PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_SERVER_REFLEXIVE) != 0) {
      pl_candidates_free(host, n);
      return PL_ERR_NOMEM;
    }
  }
  if (pl_agent_tcp_candidates(a, &host, &n) != 0) {
    pl_candidates_free(host, n);
    return PL_ERR_NOMEM;
  }
  if (a->cands)
    pl_candidates_free(a->cands, a->n_cands);
  a->cands = host;
  a->n_cands = n;
  a->reg.candidates = a->cands;
  a->reg.n_candidates = a->n_cands;
  a->reg.nat_behavior = a->nat;
  a->links.local = a->cands;
  a->links.n_local = a->n_cands;
  return 0;
}

void pl_agent_publish_nat(pl_agent *a, pl_rpc_call *only) {
  Peerlink__V1__NatChanged nc = PEERLINK__V1__NAT_CHANGED__INIT;
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  Peerlink__V1__Endpoint tcp_ep;
  char ip[64], tcp_ip[64];
  if (a->has_public) {
    ep.port = (uint32_t)pl_addr_ip_port((const struct sockaddr *)&a->public_ep, ip);
    ep.ip = ip;
    nc.public_endpoint = &ep;
  }
  nc.behavior = a->nat;
  nc.tcp_public_endpoint = pl_agent_tcp_public(a, &tcp_ep, tcp_ip);
  ev.kind_case = PEERLINK__V1__EVENT__KIND_NAT;
  ev.nat = &nc;
  pl_events_publish(&a->events, &ev, only);
}

static void on_stun_changed(pl_agent *a) {
  char pub[80] = "-";
  a->has_public = pl_stun_client_mapped(a->stun, &a->public_ep) == 0;
  a->nat = (Peerlink__V1__NatBehavior)pl_stun_client_behavior(a->stun);
  if (a->has_public)
    pl_addr_format((const struct sockaddr *)&a->public_ep, pub, sizeof pub);
  pl_log(PL_LOG_INFO, "stun", "public=%s nat=%s", pub,
         protobuf_c_enum_descriptor_get_value(&peerlink__v1__nat_behavior__descriptor, a->nat)
             ? protobuf_c_enum_descriptor_get_value(&peerlink__v1__nat_behavior__descriptor, a->nat)
                   ->name
             : "?");
  /* One socket serves every path: its public mapping, when known, is our side of each. */
  pl_links_set_local(&a->links, a->has_public ? (const struct sockaddr *)&a->public_ep
                                              : (const struct sockaddr *)&a->transport.local);
  if (pl_agent_refresh_candidates(a) == 0)
    pl_registration_update_candidates(&a->reg);
  pl_agent_publish_nat(a, NULL);
}

static void on_stun_timer(uv_timer_t *t) {
  stun_flush(t->data);
}

static void stun_flush(pl_agent *a) {
  uint8_t buf[548];
  size_t len;
  struct sockaddr_storage dst;
  uint64_t now = pl_clock_now_us();
  while (pl_stun_client_poll(a->stun, now, buf, sizeof buf, &len, &dst) == 1)
    pl_transport_send(&a->transport, (const struct sockaddr *)&dst, buf, len); /* retransmitted */
  if (pl_stun_client_changed(a->stun))
    on_stun_changed(a);
  uint64_t deadline = pl_stun_client_deadline(a->stun);
  if (deadline == UINT64_MAX) {
    uv_timer_stop(&a->stun_timer);
    return;
  }
  uint64_t now2 = pl_clock_now_us();
  uv_timer_start(&a->stun_timer, on_stun_timer,
                 deadline > now2 ? (deadline - now2 + 999) / 1000 : 0, 0);
}

int pl_agent_stun_start(pl_agent *a) {
  if (a->n_stun_servers == 0 || a->closing)
    return 0;
  if (a->stun) {
    pl_stun_client_del(a->stun);
    a->stun = NULL;
  }
  int rv = pl_stun_client_new(&a->stun, a->stun_servers, a->n_stun_servers, a->stun_recheck_us);
  if (rv != 0)
    return rv;
  /* OPEN means "the public address is one of ours": with a wildcard bind, that is any host
   * candidate's address. */
  /* RFC 8489's defaults give up after 39.5 s; an agent deciding how to punch (and telling its
   * user UDP is blocked) cannot wait that long. 200 ms doubling, 6 sends, 8 x RTO last wait:
   * about 8 s, still generous for any path a punch could use. */
  pl_stun_client_set_timing(a->stun, 200000, 6, 8);
  pl_stun_client_set_local(a->stun, (const struct sockaddr *)&a->transport.local);
  for (size_t i = 0; i < a->n_cands; i++) {
    struct sockaddr_storage host;
    if (a->cands[i]->kind == PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST &&
        a->cands[i]->transport != PEERLINK__V1__TRANSPORT__TRANSPORT_TCP &&
        pl_addr_from_endpoint(&host, a->cands[i]->endpoint) == 0)
      pl_stun_client_add_local(a->stun, (const struct sockaddr *)&host);
  }
  pl_stun_client_start(a->stun, pl_clock_now_us());
  stun_flush(a);
  return 0;
}

static void stun_recv(void *arg, const struct sockaddr *from, const uint8_t *data, size_t len) {
  pl_agent *a = arg;
  if (a->stun == NULL || pl_stun_client_recv(a->stun, from, data, len, pl_clock_now_us()) != 0) {
    a->stun_dropped++;
    return;
  }
  stun_flush(a);
}

void pl_agent_stun_init(pl_agent *a) {
  uv_timer_init(a->loop, &a->stun_timer);
  a->stun_timer.data = a;
  pl_transport_set_receiver(&a->transport, PL_DEMUX_STUN, stun_recv, NULL, a);
}

void pl_agent_stun_close(pl_agent *a) {
  pl_transport_set_receiver(&a->transport, PL_DEMUX_STUN, NULL, NULL, NULL);
  uv_close((uv_handle_t *)&a->stun_timer, NULL);
  if (a->stun) {
    pl_stun_client_del(a->stun);
    a->stun = NULL;
  }
}
