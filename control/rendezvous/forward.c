/* Carrying out relay decisions: UDP sends through the socket glue, stream sends as
 * RegisterResponse.relay. Everything that does not go out is counted as a drop. */
#include "control/common/err.h"
#include "control/rendezvous/internal.h"

/* Relayed datagrams may fill only half of a stream's send queue: the other half stays free for
 * registry messages, which the stream cannot lose (execute.c ends a stream that refuses one).
 * Datagrams are unreliable by nature, so one that does not fit is dropped and counted. */
static void to_stream(pl_rdv__stream *to, pl_rdv_relay_out *out) {
  Peerlink__V1__RelayDatagram dg = PEERLINK__V1__RELAY_DATAGRAM__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  size_t pending, limit;
  if (!pl_rdv__open(to)) {
    pl_rdv_relay_drop_as(out, PL_RDV_RELAY_DROP_PEER_GONE);
    return;
  }
  pl_rdv__backlog(to, &pending, &limit);
  if (pending >= limit / 2) {
    pl_rdv_relay_drop_as(out, PL_RDV_RELAY_DROP_BACKLOG);
    return;
  }
  dg.pairing_id = (char *)out->pairing->id_hex;
  dg.payload.data = (uint8_t *)out->data;
  dg.payload.len = out->len;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_RELAY;
  resp.relay = &dg;
  if (pl_rdv__send(to, &resp) != 0)
    pl_rdv_relay_drop_as(out, PL_RDV_RELAY_DROP_BACKLOG);
}

void pl_rdv__relay_execute(pl_rdv_service *svc, pl_rdv_relay_out *out) {
  switch (out->action) {
  case PL_RDV_RELAY_DROP: break;
  case PL_RDV_RELAY_REPLY:
  case PL_RDV_RELAY_TO_UDP:
    if (svc->udp_send == NULL ||
        svc->udp_send(svc->udp_arg, (const struct sockaddr *)&out->to, out->data, out->len) != 0)
      pl_rdv_relay_drop_as(out, PL_RDV_RELAY_DROP_SEND);
    break;
  case PL_RDV_RELAY_TO_STREAM: to_stream(((pl_rdv_agent *)out->member->owner)->stream, out); break;
  }
  pl_rdv_relay_count(&svc->stats, out);
}

void pl_rdv__relay_from_stream(pl_rdv__stream *st, const Peerlink__V1__RelayDatagram *dg) {
  pl_rdv_relay_out out;
  pl_rdv_relay_recv_stream(&st->svc->registry.pairings, &st->agent.member, dg->pairing_id,
                           dg->payload.data, dg->payload.len, &out);
  pl_rdv__relay_execute(st->svc, &out);
}

void pl_rdv_service_relay_datagram(pl_rdv_service *svc, const struct sockaddr *from,
                                   const uint8_t *data, size_t len, uint8_t *reply, size_t cap) {
  pl_rdv_relay_out out;
  pl_rdv_relay_recv_udp(&svc->registry.pairings, from, data, len, reply, cap, &out);
  pl_rdv__relay_execute(svc, &out);
}
