/* What the agent does with what its Register stream brings: registry changes become its peer
 * list and PeerListChanged events, offers become links, pair errors end Connect waiters,
 * relayed frames go to their link, and the rendezvous's UDP ports become STUN servers. */
#include <string.h>

#include "agent/agent.h"
#include "control/common/addr.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"

static void on_state(void *arg, Peerlink__V1__RendezvousState state, const char *detail) {
  pl_agent *a = arg;
  Peerlink__V1__RendezvousStateChanged rs = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  rs.state = state;
  rs.detail = (char *)detail;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  ev.rendezvous = &rs;
  pl_events_publish(&a->events, &ev, NULL);
}

static void publish_peer(pl_agent *a, int joined, Peerlink__V1__AgentInfo *info, int updated) {
  Peerlink__V1__PeerListChanged pc = PEERLINK__V1__PEER_LIST_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  pc.joined = joined;
  pc.updated = updated;
  pc.peer = info;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_PEER_LIST;
  ev.peer_list = &pc;
  pl_events_publish(&a->events, &ev, NULL);
}

static void on_change(void *arg, const Peerlink__V1__RegistryChange *change) {
  pl_agent *a = arg;
  pl_agentlist_entry *e;
  pl_link *l;
  if (strcmp(change->agent->id, a->ident.id) == 0)
    return;
  switch (change->kind) {
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED:
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED:
    if (pl_agentlist_put(&a->peers, change->agent, &e) == 0)
      publish_peer(a, 1, e->info,
                   change->kind == PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED);
    /* Its public endpoint may have come after the offer we are punching with. */
    if ((l = pl_links_find_peer(&a->links, change->agent->id)) != NULL)
      pl_link_learn_candidates(l, change->agent->candidates, change->agent->n_candidates);
    break;
  case PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT:
    if ((e = pl_agentlist_find(&a->peers, change->agent->id)) != NULL) {
      publish_peer(a, 0, e->info, 0);
      pl_agentlist_remove(&a->peers, e);
    }
    break;
  default: break;
  }
}

static void on_reset(void *arg) {
  pl_agent *a = arg;
  /* The next attempt may reach another instance: its STUN-over-TCP port comes with its own
   * Registered, never paired with the next host. */
  a->stun_tcp_port = 0;
  /* Without the stream we cannot know who is still there; report everyone as gone. */
  while (a->peers.head) {
    publish_peer(a, 0, a->peers.head->info, 0);
    pl_agentlist_remove(&a->peers, a->peers.head);
  }
}

/* An attempt dials `target`: the relay for offers with an empty ip, and the default STUN
 * servers once its Registered names their ports, are on its host from now on. */
static void on_target(void *arg, const char *target) {
  pl_agent *a = arg;
  int port;
  if (pl_hostport_split(target, a->rdv_host, &port) != 0)
    a->rdv_host[0] = '\0'; /* no relay host: offers without an ip get no relay */
}

static void on_registered(void *arg, uint32_t udp_port, uint32_t udp_alt_port) {
  pl_agent *a = arg;
  struct sockaddr_storage servers[2];
  char text[2][80];
  a->stun_tcp_port = a->reg.stun_tcp_port;
  pl_agent_tcp_stun(a);
  if (a->stun_from_flags || udp_port == 0)
    return;
  /* No --stun: the rendezvous's own responder(s) on the host we dialled. */
  size_t n = 0;
  if (pl_addr_parse(&servers[n], a->rdv_host, (int)udp_port) == 0)
    n++;
  if (udp_alt_port && pl_addr_parse(&servers[n], a->rdv_host, (int)udp_alt_port) == 0)
    n++;
  int same = n == a->n_stun_servers && a->stun;
  for (size_t i = 0; i < n && same; i++)
    same = pl_addr_equal((const struct sockaddr *)&servers[i],
                         (const struct sockaddr *)&a->stun_servers[i]);
  if (same)
    return; /* same servers as before a reconnect: the running client keeps its results */
  memcpy(a->stun_servers, servers, n * sizeof servers[0]);
  a->n_stun_servers = n;
  if (n == 0) {
    pl_log(PL_LOG_WARN, "stun_disabled", "reason=\"rendezvous host %s is not numeric\"",
           a->rdv_host);
    return; /* the running client (if any) keeps its results until a rendezvous gives ports */
  }
  for (size_t i = 0; i < 2; i++)
    if (i < n)
      pl_addr_format((const struct sockaddr *)&servers[i], text[i], sizeof text[i]);
  pl_log(PL_LOG_INFO, "stun_servers", "rendezvous=%s servers=%s%s%s", a->reg.target, text[0],
         n > 1 ? "," : "", n > 1 ? text[1] : "");
  pl_agent_stun_start(a);
}

static void on_offer(void *arg, const Peerlink__V1__Offer *offer) {
  pl_agent *a = arg;
  pl_link *l = NULL;
  int rv = pl_link_from_offer(&a->links, offer, &l);
  if (rv == 0 && l)
    l->via_registration = a->reg.attempts;
  if (rv != 0)
    pl_log(PL_LOG_WARN, "offer_rejected", "pairing=%s reason=\"%s\"", offer->pairing_id,
           pl_strerror(rv));
  else
    pl_agent_tcp_offer(a, offer);
}

/* The agent asks for peers it may not see (no network, not watched), so "no such agent" is
 * the rendezvous's answer to give, and Connect turns it into NOT_FOUND. */
static void on_pair_error(void *arg, const Peerlink__V1__PairError *err) {
  pl_agent *a = arg;
  pl_rpc_status code = PL_RPC_FAILED_PRECONDITION;
  switch (err->reason) {
  case PEERLINK__V1__PAIR_ERROR__REASON__REASON_UNKNOWN_PEER: code = PL_RPC_NOT_FOUND; break;
  case PEERLINK__V1__PAIR_ERROR__REASON__REASON_SELF: code = PL_RPC_INVALID_ARGUMENT; break;
  case PEERLINK__V1__PAIR_ERROR__REASON__REASON_INTERNAL: code = PL_RPC_UNAVAILABLE; break;
  default: break;
  }
  pl_log(PL_LOG_INFO, "pair_refused", "peer=%s reason=%d message=\"%s\"", err->peer_id,
         (int)err->reason, err->message);
  pl_connect_fail(&a->waiters, err->peer_id, code, err->message);
}

static void on_relay(void *arg, const char *pairing_id, const uint8_t *data, size_t len) {
  pl_agent *a = arg;
  pl_links_recv_stream(&a->links, pairing_id, data, len);
}

int pl_agent_registration_start(pl_agent *a, const char *token) {
  pl_registration *reg = &a->reg;
  if (reg->target == NULL)
    return PL_ERR_INVALID;
  reg->ident = &a->ident;
  reg->name = a->name;
  reg->token = token;
  reg->candidates = a->cands;
  reg->n_candidates = a->n_cands;
  reg->nat_behavior = a->nat;
  reg->cb = (pl_registration_callbacks){
      .on_state = on_state,
      .on_change = on_change,
      .on_reset = on_reset,
      .on_target = on_target,
      .on_registered = on_registered,
      .on_offer = on_offer,
      .on_pair_error = on_pair_error,
      .on_relay = on_relay,
  };
  reg->arg = a;
  return pl_registration_start(reg, a->loop);
}
