/* The links wired into the agent: their datagrams go out on the transport or the Register
 * stream, their path changes become PathChanged events and Connect answers, their DATA becomes
 * MessageReceived events. */
#include <string.h>

#include "agent/agent.h"
#include "control/common/err.h"
#include "control/common/hex.h"

static int send_udp(void *arg, const struct sockaddr *dst, const uint8_t *data, size_t len) {
  pl_agent *a = arg;
  return pl_transport_send(&a->transport, dst, data, len);
}

static int send_stream(void *arg, const char *pairing_id, const uint8_t *data, size_t len) {
  pl_agent *a = arg;
  int rv = pl_registration_relay(&a->reg, pairing_id, data, len);
  return rv == PL_ERR_STATE ? PL_ERR_CLOSED : rv; /* not registered: there is no stream */
}

void pl_agent_publish_path(pl_agent *a, pl_link *l, const char *detail) {
  Peerlink__V1__PeerPath path;
  Peerlink__V1__Endpoint remote, local;
  Peerlink__V1__PathChanged pc = PEERLINK__V1__PATH_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  Peerlink__V1__QuicState quic;
  char ip[128], quic_detail[PL_QUIC_DETAIL_MAX];
  pl_link_describe(l, &path, &remote, &local, ip, sizeof ip);
  pl_agent_quic_describe(a, l, &path, &quic, quic_detail, sizeof quic_detail);
  path.tcp = pl_agent_tcp_path(a, l);
  pc.path = &path;
  pc.detail = (char *)detail;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_PATH;
  ev.path = &pc;
  pl_events_publish(&a->events, &ev, NULL);
}

static void on_path(void *arg, pl_link *l, const char *detail) {
  pl_agent *a = arg;
  pl_agent_tcp_link_changed(a, l, detail);
  pl_agent_quic_on_path(a, l);
  if (a->closing)
    return; /* the watchers are being ended too */
  pl_agent_publish_path(a, l, detail);
  pl_connect_resolve(&a->waiters, l);
}

static void publish_message(pl_agent *a, pl_link *l, Peerlink__V1__Delivery delivery,
                            const uint8_t *data, size_t len) {
  pl_events_publish_message(&a->events, l->peer_id, delivery, data, len);
}

static void on_data(void *arg, pl_link *l, const uint8_t *data, size_t len) {
  publish_message(arg, l, PEERLINK__V1__DELIVERY__DELIVERY_DATAGRAM, data, len);
}

static void on_message(void *arg, pl_link *l, const uint8_t *data, size_t len) {
  publish_message(arg, l, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, data, len);
}

static void on_sent(void *arg, pl_link *l, uint64_t msg_id, int err, const char *why) {
  pl_api_send_reliable_done(arg, l, msg_id, err, why);
}

void pl_agent_links_init(pl_agent *a) {
  pl_links *ls = &a->links;
  ls->loop = a->loop;
  pl_hex_decode(ls->self_id, sizeof ls->self_id, a->ident.id);
  ls->self_fingerprint = a->ident.cert_fingerprint;
  ls->io = (pl_link_io){.send_udp = send_udp, .send_stream = send_stream, .arg = a};
  ls->obs = (pl_link_observer){.on_path = on_path,
                               .on_data = on_data,
                               .on_message = on_message,
                               .on_sent = on_sent,
                               .arg = a};
  ls->self_key_der = a->ident.private_key_der;
  ls->self_key_der_len = a->ident.private_key_der_len;
  ls->local = a->cands;
  ls->n_local = a->n_cands;
  ls->relay_host = a->rdv_host;
  pl_links_init(ls);
  pl_links_set_local(ls, (const struct sockaddr *)&a->transport.local);
  pl_transport_set_receiver(&a->transport, PL_DEMUX_FRAME, pl_links_recv_udp, NULL, ls);
  pl_connect_waiters_init(&a->waiters, a->loop, ls);
  (void)pl_agent_bench_init(a); /* without it, Benchmark answers RESOURCE_EXHAUSTED */
  /* Without it, QUIC_STREAM sends answer UNAVAILABLE ("QUIC is not available"). */
  if (pl_agent_quic_init(a) == 0)
    pl_agent_quic_chat_init(a);
}

void pl_agent_links_close(pl_agent *a, const char *why) {
  a->closing = 1;
  pl_agent_bench_close(a); /* first: its ABORTs go out on the links */
  /* So do the QUIC connections' CONNECTION_CLOSEs. */
  pl_agent_quic_close(a, why);
  pl_agent_quic_chat_close(a);
  pl_links_close_all(&a->links, why);
  pl_connect_fail(&a->waiters, NULL, PL_RPC_UNAVAILABLE, why);
}

uint64_t pl_agent_dropped(const pl_agent *a) {
  return a->transport.stats.unclaimed + a->links.dropped + a->stun_dropped +
         pl_agent_bench_dropped(a);
}
