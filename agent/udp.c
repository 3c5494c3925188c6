/* The agent's one UDP socket: STUN, peerlink frames (probes, data, relay) and, later, QUIC,
 * demultiplexed by first byte (agent/wire/frame.h). */
#include <stdio.h>
#include <string.h>

#include "control/common/addr.h"
#include "agent/agent.h"
#include "agent/wire/frame.h"
#include "control/common/err.h"
#include "control/common/flags.h"

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[65536]; /* one loop thread: one static receive buffer, no per-packet malloc */
  (void)h;
  (void)suggested;
  buf->base = slab;
  buf->len = sizeof slab;
}

static void on_frame(pl_agent *a, const struct sockaddr *from, const uint8_t *data, size_t len) {
  uint8_t type, pairing[PL_FRAME_PAIRING_LEN];
  pl_pairing *p;
  if (pl_frame_peek(data, len, &type, pairing) != 0 ||
      (p = pl_pairing_find_id(a, pairing)) == NULL) {
    a->dropped_datagrams++;
    return;
  }
  pl_pairing_recv(p, from, 0, data, len);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
  pl_agent *a = h->data;
  const uint8_t *data = (const uint8_t *)buf->base;
  (void)flags;
  if (nread <= 0 || from == NULL || a->closing)
    return;
  switch (pl_demux(data, (size_t)nread)) {
  case PL_DEMUX_STUN: pl_agent_stun_recv(a, from, data, (size_t)nread); break;
  case PL_DEMUX_FRAME: on_frame(a, from, data, (size_t)nread); break;
  default: /* QUIC arrives with the tunnel; anything else is noise */ a->dropped_datagrams++; break;
  }
}

int pl_agent_udp_send(pl_agent *a, const struct sockaddr *dst, const uint8_t *data, size_t len) {
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  if (a->closing || uv_is_closing((uv_handle_t *)&a->udp))
    return PL_ERR_CLOSED;
  /* try_send never queues: a full socket buffer drops the datagram as the network would;
   * every protocol on this socket retransmits what matters. */
  return uv_udp_try_send(&a->udp, &b, 1, dst) >= 0 ? 0 : PL_ERR_IO;
}

int pl_agent_udp_start(pl_agent *a, const char *hostport) {
  char host[64];
  int port;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (pl_hostport_split(hostport, host, &port) != 0 || pl_addr_parse(&ss, host, port) != 0)
    return PL_ERR_INVALID;
  uv_udp_init(a->loop, &a->udp);
  a->udp.data = a;
  if (uv_udp_bind(&a->udp, (struct sockaddr *)&ss, 0) != 0 ||
      uv_udp_getsockname(&a->udp, (struct sockaddr *)&ss, &len) != 0)
    return PL_ERR_IO;
  a->udp_local = ss;
  pl_addr_format((struct sockaddr *)&ss, a->udp_addr, sizeof a->udp_addr);
  uv_udp_recv_start(&a->udp, on_alloc, on_recv);
  return 0;
}

void pl_agent_udp_close(pl_agent *a) {
  if (!uv_is_closing((uv_handle_t *)&a->udp))
    uv_close((uv_handle_t *)&a->udp, NULL);
}
