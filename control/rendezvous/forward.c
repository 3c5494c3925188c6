/* Carrying out relay decisions: UDP sends through the socket glue, stream sends as
 * RegisterResponse.relay. Everything that does not go out is counted as a drop. */
#include "control/common/err.h"
#include "control/rendezvous/internal.h"

static void to_stream(pl_rdv_agent *to, pl_relay_out *out) {
  Peerlink__V1__RelayDatagram dg = PEERLINK__V1__RELAY_DATAGRAM__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  if (to->call == NULL || pl_rpc_call_pending(to->call) >= PL_RDV_STREAM_BACKLOG) {
    pl_relay_drop_as(out, PL_RELAY_DROP_BACKLOG);
    return;
  }
  dg.pairing_id = (char *)out->pairing->id_hex;
  dg.payload.data = (uint8_t *)out->data;
  dg.payload.len = out->len;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_RELAY;
  resp.relay = &dg;
  if (pl_rpc_call_send(to->call, &resp.base) != 0)
    pl_relay_drop_as(out, PL_RELAY_DROP_BACKLOG);
}

void pl_rendezvous__relay_execute(pl_rendezvous *rv, pl_relay_out *out) {
  switch (out->action) {
  case PL_RELAY_DROP: break;
  case PL_RELAY_REPLY:
  case PL_RELAY_TO_UDP:
    if (rv->udp_send == NULL ||
        rv->udp_send(rv->udp_arg, (const struct sockaddr *)&out->to, out->data, out->len) != 0)
      pl_relay_drop_as(out, PL_RELAY_DROP_SEND);
    break;
  case PL_RELAY_TO_STREAM: to_stream(out->member->owner, out); break;
  }
  pl_relay_count(&rv->stats, out);
}

void pl_rendezvous__relay_from_stream(pl_rdv_agent *ag, const Peerlink__V1__RelayDatagram *dg) {
  pl_relay_out out;
  pl_relay_recv_stream(&ag->rv->pairings, &ag->member, dg->pairing_id, dg->payload.data,
                       dg->payload.len, &out);
  pl_rendezvous__relay_execute(ag->rv, &out);
}

void pl_rendezvous_relay_datagram(pl_rendezvous *rv, const struct sockaddr *from,
                                  const uint8_t *data, size_t len, uint8_t *reply, size_t cap) {
  pl_relay_out out;
  pl_relay_recv_udp(&rv->pairings, from, data, len, reply, cap, &out);
  pl_rendezvous__relay_execute(rv, &out);
}
