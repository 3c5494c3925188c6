/* The UDP transport: one socket, read in batches (recvmmsg + GRO), datagrams demultiplexed by
 * first byte to registered receivers (agent/transport.h). Sends: transport_send.c. */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "agent/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/transport_int.h"
#include "control/common/addr.h"
#include "control/common/err.h"

/* Bursts of a bulk sender must not overflow the queue between two wake-ups (the default is
 * ~200 KiB: 170 datagrams of 1200 bytes). Best effort: SO_RCVBUFFORCE needs CAP_NET_ADMIN,
 * SO_RCVBUF is capped by net.core.rmem_max. */
#define RCVBUF (8 << 20)
#define SNDBUF (4 << 20)

static void set_buffer(int fd, int force, int plain, int size) {
  if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof size) != 0)
    (void)setsockopt(fd, SOL_SOCKET, plain, &size, sizeof size);
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

static void deliver(pl_transport *t, const struct sockaddr *from, const uint8_t *data, size_t len) {
  pl_demux_kind kind = pl_demux(data, len);
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
  r->recv(r->arg, from, data, len);
}

/* The segment size of a GRO-coalesced read (0: one datagram). */
static size_t gro_size(struct msghdr *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      return v > 0 ? (size_t)v : 0;
    }
  }
  return 0;
}

/* One recvmmsg. Returns the number of slots filled, 0 when nothing was waiting, -1 on error. */
static int read_batch(pl_transport *t) {
  struct mmsghdr msgs[PL_TRANSPORT_SLOTS];
  struct iovec iov[PL_TRANSPORT_SLOTS];
  struct sockaddr_storage from[PL_TRANSPORT_SLOTS];
  char control[PL_TRANSPORT_SLOTS][CMSG_SPACE(sizeof(int))];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < PL_TRANSPORT_SLOTS; i++) {
    iov[i].iov_base = t->slots + (size_t)i * PL_TRANSPORT_SLOT_LEN;
    iov[i].iov_len = PL_TRANSPORT_SLOT_LEN;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    msgs[i].msg_hdr.msg_control = control[i];
    msgs[i].msg_hdr.msg_controllen = sizeof control[i];
  }
  int n;
  do
    n = recvmmsg(t->fd, msgs, PL_TRANSPORT_SLOTS, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? -1 : 0;
  t->stats.read_calls++;
  for (int i = 0; i < n && t->open; i++) {
    const uint8_t *data = iov[i].iov_base;
    size_t len = msgs[i].msg_len, seg = gro_size(&msgs[i].msg_hdr);
    const struct sockaddr *sa = (const struct sockaddr *)&from[i];
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
      continue; /* larger than a slot: not one of ours (no frame is), and cut anyway */
    if (seg == 0 || seg >= len) {
      deliver(t, sa, data, len);
      continue;
    }
    t->stats.gro_reads++;
    for (size_t off = 0; off < len && t->open; off += seg)
      deliver(t, sa, data + off, len - off < seg ? len - off : seg);
  }
  return n;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  pl_transport *t = h->data;
  if (!t->open)
    return;
  if (status < 0) {
    /* POLLERR (a queued socket error): libuv has stopped the poll. Take the error and go on. */
    int err;
    socklen_t len = sizeof err;
    (void)getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    uv_poll_start(&t->poll, t->poll_events, on_poll);
    events = UV_READABLE;
  }
  if (events & UV_WRITABLE)
    pl_transport__writable(t);
  if (!(events & UV_READABLE) || !t->open)
    return;
  /* Prevent loop starvation when the data comes in as fast as (or faster than) we read it. */
  for (int i = 0; i < PL_TRANSPORT_READS_PER_WAKEUP && t->open; i++) {
    int n = read_batch(t);
    if (n < PL_TRANSPORT_SLOTS)
      return;
  }
  t->stats.capped++;
}

void pl_transport__poll_update(pl_transport *t, int events) {
  if (!t->open || events == t->poll_events)
    return;
  t->poll_events = events;
  uv_poll_start(&t->poll, events, on_poll);
}

/* A non-blocking socket bound to addr; GRO on where the kernel has it. -1 on failure. */
static int open_socket(const struct sockaddr *addr, struct sockaddr_storage *local, int *pgro) {
  socklen_t alen = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in),
            len = sizeof *local;
  int one = 1;
  int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (bind(fd, addr, alen) != 0 || getsockname(fd, (struct sockaddr *)local, &len) != 0) {
    close(fd);
    return -1;
  }
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, RCVBUF);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, SNDBUF);
  *pgro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  return fd;
}

int pl_transport_open(pl_transport *t, uv_loop_t *loop, const struct sockaddr *addr) {
  memset(t, 0, sizeof *t);
  t->fd = -1;
  if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
    return PL_ERR_INVALID;
  t->slots = malloc((size_t)PL_TRANSPORT_SLOTS * PL_TRANSPORT_SLOT_LEN);
  if (t->slots == NULL)
    return PL_ERR_NOMEM;
  t->fd = open_socket(addr, &t->local, &t->gro);
  if (t->fd < 0 || uv_poll_init(loop, &t->poll, t->fd) != 0) {
    if (t->fd >= 0)
      close(t->fd);
    free(t->slots);
    t->slots = NULL;
    t->fd = -1;
    return PL_ERR_IO;
  }
  uv_check_init(loop, &t->check);
  t->poll.data = t;
  t->check.data = t;
  t->handles = 2;
  t->open = 1;
  t->gso = 1; /* until the kernel says otherwise */
  pl_transport__poll_update(t, UV_READABLE);
  return 0;
}

void pl_transport_set_receiver(pl_transport *t, pl_demux_kind kind, pl_transport_recv_fn recv,
                               pl_transport_flush_fn flush, void *arg) {
  if ((int)kind < 0 || kind >= PL_TRANSPORT_KINDS)
    return;
  t->receivers[kind] = (pl_transport_receiver){.recv = recv, .flush = flush, .arg = arg};
}

const char *pl_transport_last_error(const pl_transport *t) {
  return t->last_error ? uv_strerror(t->last_error) : "";
}

void pl_transport_local_text(const pl_transport *t, char *buf, size_t cap) {
  pl_addr_format((const struct sockaddr *)&t->local, buf, cap);
}

static void on_handle_closed(uv_handle_t *h) {
  pl_transport *t = h->data;
  if (--t->handles > 0)
    return;
  /* libuv does not own the descriptor of a uv_poll_t: close it once the poll is gone. */
  close(t->fd);
  t->fd = -1;
  free(t->slots);
  t->slots = NULL;
  if (t->closed)
    t->closed(t->closed_arg);
}

void pl_transport_close(pl_transport *t, void (*closed)(void *arg), void *arg) {
  if (!t->open)
    return;
  t->open = 0;
  t->closed = closed;
  t->closed_arg = arg;
  memset(t->writable, 0, sizeof t->writable);
  uv_close((uv_handle_t *)&t->poll, on_handle_closed);
  uv_close((uv_handle_t *)&t->check, on_handle_closed);
}
