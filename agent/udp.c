/* The agent's one UDP socket. Nothing is accepted on it yet: every datagram is dropped and
 * counted (GetStatus.dropped_unauthenticated) until the STUN and punching protocols exist. */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "control/common/err.h"
#include "control/common/flags.h"

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[65536]; /* one loop thread: one static receive buffer, no per-packet malloc */
  (void)h;
  (void)suggested;
  buf->base = slab;
  buf->len = sizeof slab;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
  pl_agent *a = h->data;
  (void)buf;
  (void)flags;
  if (nread > 0 && from != NULL)
    a->dropped_datagrams++;
}

int pl_agent_udp_start(pl_agent *a, const char *hostport) {
  char host[64], ip[64];
  int port;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (pl_hostport_split(hostport, host, &port) != 0)
    return PL_ERR_INVALID;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
    return PL_ERR_INVALID;
  uv_udp_init(a->loop, &a->udp);
  a->udp.data = a;
  if (uv_udp_bind(&a->udp, (struct sockaddr *)&ss, 0) != 0 ||
      uv_udp_getsockname(&a->udp, (struct sockaddr *)&ss, &len) != 0)
    return PL_ERR_IO;
  if (ss.ss_family == AF_INET) {
    uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
    snprintf(a->udp_addr, sizeof a->udp_addr, "%s:%d", ip,
             ntohs(((struct sockaddr_in *)&ss)->sin_port));
  } else {
    uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
    snprintf(a->udp_addr, sizeof a->udp_addr, "[%s]:%d", ip,
             ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
  }
  uv_udp_recv_start(&a->udp, on_alloc, on_recv);
  return 0;
}

void pl_agent_udp_close(pl_agent *a) {
  if (!uv_is_closing((uv_handle_t *)&a->udp))
    uv_close((uv_handle_t *)&a->udp, NULL);
}
