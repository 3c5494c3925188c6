/* Carrying out the registry's actions over the Register streams (RegisterResponse messages,
 * stream ends, log lines). The send queue is bounded (control/rpc): a registry message it
 * refuses ends that stream, because an agent that missed a change has a wrong view of who is
 * online and cannot know it. */
#include <stdio.h>
#include <string.h>

#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/internal.h"

static pl_rdv__stream *stream_of(const pl_rdv_agent *a) {
  return a ? a->stream : NULL;
}

/* The stream could not take a registry message: end it now, take it out of the registry after
 * the current actions (a leave now would free records later actions still point to). */
static void overflow(pl_rdv_service *svc, pl_rdv__stream *st, int rv) {
  size_t pending, limit;
  char msg[160];
  pl_rdv__backlog(st, &pending, &limit);
  st->finished = 1;
  st->next_overflowed = svc->overflowed;
  svc->overflowed = st;
  pl_log(PL_LOG_WARN, "stream_overflow", "agent=%s pending=%zu limit=%zu error=\"%s\"",
         st->agent.member.id, pending, limit, pl_strerror(rv));
  if (rv == PL_ERR_FULL)
    snprintf(msg, sizeof msg,
             "registry updates not read: %zu messages queued (the limit); register again for "
             "the full view",
             pending);
  else
    snprintf(msg, sizeof msg, "registry update not sent: %s", pl_strerror(rv));
  pl_rdv__finish(st, PL_RPC_RESOURCE_EXHAUSTED, msg);
}

static void deliver(pl_rdv_service *svc, pl_rdv__stream *st, Peerlink__V1__RegisterResponse *resp) {
  if (!pl_rdv__open(st))
    return;
  int rv = pl_rdv__send(st, resp);
  if (rv != 0 && rv != PL_ERR_CLOSED)
    overflow(svc, st, rv);
}

/* Fills the Offer of a new pairing (and the relay endpoint it names). 0: the peer is gone. */
static int fill_offer(pl_rdv_service *svc, pl_rdv_action *a, Peerlink__V1__Offer *offer,
                      Peerlink__V1__Endpoint *relay) {
  if (a->peer->info == NULL)
    return 0;
  if (a->controlling)
    pl_log(PL_LOG_INFO, "paired", "pairing=%s controlling=%s controlled=%s by=%s pairings=%zu",
           a->pairing_id, a->to->member.id, a->peer->member.id, a->automatic ? "auto" : "request",
           svc->registry.pairings.count);
  offer->pairing_id = a->pairing_id;
  offer->peer = a->peer->info;
  offer->peer_public_key.data = a->peer->public_key;
  offer->peer_public_key.len = a->peer->public_key_len;
  offer->pairing_secret.data = a->secret;
  offer->pairing_secret.len = sizeof a->secret;
  offer->role =
      a->controlling ? PEERLINK__V1__ROLE__ROLE_CONTROLLING : PEERLINK__V1__ROLE__ROLE_CONTROLLED;
  offer->start_unix_ms = a->start_unix_ms;
  /* An empty ip: the host the agent dialled for the rendezvous, which it can reach. With
   * --redis the relay is the leader's, which may be another host: --advertise names it. */
  if (svc->udp_port != 0) {
    relay->ip = svc->relay_host ? (char *)svc->relay_host : "";
    relay->port = svc->udp_port;
    offer->relay = relay;
  }
  return 1;
}

static void end(pl_rdv_action *a) {
  pl_rdv__stream *st = stream_of(a->to);
  if (st == NULL || st->finished)
    return;
  st->finished = 1;
  /* PL_RDV_END_REPLACED is the only reason the registry ends a stream. */
  pl_rdv__finish(st, PL_RPC_ABORTED, a->message);
}

static void run(pl_rdv_service *svc, pl_rdv_action *a) {
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  Peerlink__V1__Registered reg = PEERLINK__V1__REGISTERED__INIT;
  Peerlink__V1__RegistryChange change = PEERLINK__V1__REGISTRY_CHANGE__INIT;
  Peerlink__V1__Offer offer = PEERLINK__V1__OFFER__INIT;
  Peerlink__V1__Endpoint relay = PEERLINK__V1__ENDPOINT__INIT;
  Peerlink__V1__PairError pe = PEERLINK__V1__PAIR_ERROR__INIT;
  switch (a->kind) {
  case PL_RDV_ACT_REGISTERED:
    if (a->to->info == NULL)
      return;
    reg.self = a->to->info;
    reg.udp_port = svc->udp_port;
    reg.udp_alt_port = svc->udp_alt_port;
    reg.stun_tcp_port = svc->stun_tcp_port;
    resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED;
    resp.registered = &reg;
    break;
  case PL_RDV_ACT_CHANGE:
    change.kind = a->change;
    change.agent = (Peerlink__V1__AgentInfo *)a->about;
    resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE;
    resp.change = &change;
    break;
  case PL_RDV_ACT_OFFER:
    if (!fill_offer(svc, a, &offer, &relay))
      return;
    resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER;
    resp.offer = &offer;
    break;
  case PL_RDV_ACT_PAIR_ERROR:
    pl_log(PL_LOG_INFO, "pair_refused", "agent=%s reason=%s", a->to->member.id, a->why);
    pe.peer_id = (char *)a->peer_id;
    pe.message = a->message;
    pe.reason = a->reason;
    resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_PAIR_ERROR;
    resp.pair_error = &pe;
    break;
  case PL_RDV_ACT_END: end(a); return;
  case PL_RDV_ACT_PAIRING_ENDED:
    pl_log(PL_LOG_INFO, "pairing_ended", "pairing=%s agent=%s peer=%s reason=stream_ended",
           a->pairing_id, a->to->member.id, a->peer ? a->peer->member.id : "-");
    return;
  }
  deliver(svc, stream_of(a->to), &resp);
}

void pl_rdv__execute(pl_rdv_service *svc) {
  pl_rdv_actions *acts = &svc->actions;
  for (;;) {
    for (size_t i = 0; i < acts->n; i++)
      run(svc, &acts->v[i]);
    if (acts->lost)
      pl_log(PL_LOG_ERROR, "registry_actions_lost",
             "reason=\"out of memory\" agents=%zu (some views may be stale)", svc->registry.count);
    if (acts->autopair_failed)
      pl_log(PL_LOG_WARN, "auto_pair_failed", "agents=%zu", svc->registry.count);
    pl_rdv_actions_clear(acts);
    pl_rdv__stream *st = svc->overflowed;
    if (st == NULL)
      return;
    svc->overflowed = st->next_overflowed;
    st->next_overflowed = NULL;
    if (st->agent.info) {
      pl_log(PL_LOG_INFO, "unregistered", "agent=%s name=\"%s\" agents=%zu reason=overflow",
             st->agent.info->id, st->agent.info->name, svc->registry.count - 1);
      pl_rdv__notify(svc, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT, st->agent.info);
    }
    pl_rdv_registry_leave(&svc->registry, &st->agent, pl_clock_unix_ms(), acts);
  }
}
