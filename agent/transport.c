/* The UDP transport: one socket, datagrams demultiplexed by first byte to registered
 * receivers (agent/transport.h). */
#include "agent/transport.h"

#include <string.h>

#include "control/common/addr.h"
#include "control/common/err.h"

#define MAX_UDP_PAYLOAD 65507

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[65536]; /* one loop thread: one static receive buffer, no per-packet malloc */
  (void)h;
  (void)suggested;
  buf->base = slab;
  buf->len = sizeof slab;
}

/* Runs right after the loop's I/O phase: every read of this iteration has been delivered. */
static void on_check(uv_check_t *c) {
  pl_transport *t = c->data;
  uv_check_stop(c);
  for (int k = 0; k < PL_TRANSPORT_KINDS && t->open; k++) {
    pl_transport_receiver *r = &t->receivers[k];
    if (r->due) {
      r->due = 0;
      if (r->flush)
        r->flush(r->arg);
    }
  }
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
  pl_transport *t = h->data;
  const uint8_t *data = (const uint8_t *)buf->base;
  (void)flags;
  if (nread < 0 || from == NULL || !t->open)
    return; /* nread 0 with no address: nothing was read */
  pl_demux_kind kind = pl_demux(data, (size_t)nread);
  pl_transport_receiver *r = &t->receivers[kind];
  t->stats.received[kind]++;
  if (r->recv == NULL) {
    t->stats.unclaimed++;
    return;
  }
  if (r->flush && !r->due) {
    r->due = 1;
    uv_check_start(&t->check, on_check);
  }
  r->recv(r->arg, from, data, (size_t)nread);
}

int pl_transport_open(pl_transport *t, uv_loop_t *loop, const struct sockaddr *addr) {
  int len = sizeof t->local;
  memset(t, 0, sizeof *t);
  if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
    return PL_ERR_INVALID;
  uv_udp_init(loop, &t->udp);
  uv_check_init(loop, &t->check);
  t->udp.data = t;
  t->check.data = t;
  t->handles = 2;
  t->open = 1;
  if (uv_udp_bind(&t->udp, addr, 0) != 0 ||
      uv_udp_getsockname(&t->udp, (struct sockaddr *)&t->local, &len) != 0 ||
      uv_udp_recv_start(&t->udp, on_alloc, on_recv) != 0) {
    pl_transport_close(t, NULL, NULL);
    return PL_ERR_IO;
  }
  return 0;
}

void pl_transport_set_receiver(pl_transport *t, pl_demux_kind kind, pl_transport_recv_fn recv,
                               pl_transport_flush_fn flush, void *arg) {
  if ((int)kind < 0 || kind >= PL_TRANSPORT_KINDS)
    return;
  t->receivers[kind] = (pl_transport_receiver){.recv = recv, .flush = flush, .arg = arg};
}

int pl_transport_send(pl_transport *t, const struct sockaddr *dst, const uint8_t *data,
                      size_t len) {
  if (!t->open)
    return PL_ERR_CLOSED;
  if (len > MAX_UDP_PAYLOAD)
    return PL_ERR_TOO_BIG;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int rv = uv_udp_try_send(&t->udp, &b, 1, dst);
  if (rv < 0) {
    t->last_error = rv;
    t->stats.send_failed++;
    return PL_ERR_IO;
  }
  t->stats.sent++;
  return 0;
}

const char *pl_transport_last_error(const pl_transport *t) {
  return t->last_error ? uv_strerror(t->last_error) : "";
}

void pl_transport_local_text(const pl_transport *t, char *buf, size_t cap) {
  pl_addr_format((const struct sockaddr *)&t->local, buf, cap);
}

static void on_handle_closed(uv_handle_t *h) {
  pl_transport *t = h->data;
  if (--t->handles == 0 && t->closed)
    t->closed(t->closed_arg);
}

void pl_transport_close(pl_transport *t, void (*closed)(void *arg), void *arg) {
  if (!t->open)
    return;
  t->open = 0;
  t->closed = closed;
  t->closed_arg = arg;
  uv_close((uv_handle_t *)&t->udp, on_handle_closed);
  uv_close((uv_handle_t *)&t->check, on_handle_closed);
}
