/* The UDP transport's sends: one datagram, or a batch to one destination with UDP GSO (one
 * system call and one trip down the stack for up to 64 datagrams) or sendmmsg. */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#include "agent/transport.h"
#include "agent/transport_int.h"
#include "control/common/err.h"

#define MAX_UDP_PAYLOAD 65507
#define GSO_MAX_BYTES 64000 /* under the 64 KiB an IP packet can carry, headers included */

static socklen_t addr_len(const struct sockaddr *sa) {
  return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int failed(pl_transport *t, int err) {
  t->last_error = -err; /* libuv's codes are negative errno values */
  t->stats.send_failed++;
  return PL_ERR_IO;
}

int pl_transport_send(pl_transport *t, const struct sockaddr *dst, const uint8_t *data,
                      size_t len) {
  if (!t->open)
    return PL_ERR_CLOSED;
  if (len > MAX_UDP_PAYLOAD)
    return PL_ERR_TOO_BIG;
  ssize_t n;
  do
    n = sendto(t->fd, data, len, MSG_DONTWAIT, dst, addr_len(dst));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return failed(t, errno);
  t->stats.sent++;
  return 0;
}

/* One GSO send of `count` datagrams of `seg` bytes (the last may be shorter). Returns the
 * bytes sent, or -errno. */
static ssize_t send_gso(pl_transport *t, const struct sockaddr *dst, const uint8_t *data,
                        size_t len, size_t seg) {
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control;
  struct msghdr m = {.msg_name = (void *)dst,
                     .msg_namelen = addr_len(dst),
                     .msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = control.buf,
                     .msg_controllen = sizeof control.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  uint16_t gso = (uint16_t)seg;
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof gso);
  memcpy(CMSG_DATA(c), &gso, sizeof gso);
  ssize_t n;
  do
    n = sendmsg(t->fd, &m, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

/* One sendmmsg of up to PL_TRANSPORT_BATCH_MAX datagrams. Returns the bytes sent, or -errno
 * when not even the first left. */
static ssize_t send_mmsg(pl_transport *t, const struct sockaddr *dst, const uint8_t *data,
                         size_t len, size_t seg) {
  struct mmsghdr msgs[PL_TRANSPORT_BATCH_MAX];
  struct iovec iov[PL_TRANSPORT_BATCH_MAX];
  unsigned n = 0;
  memset(msgs, 0, sizeof msgs);
  for (size_t off = 0; off < len && n < PL_TRANSPORT_BATCH_MAX; off += seg, n++) {
    iov[n].iov_base = (void *)(data + off);
    iov[n].iov_len = len - off < seg ? len - off : seg;
    msgs[n].msg_hdr.msg_name = (void *)dst;
    msgs[n].msg_hdr.msg_namelen = addr_len(dst);
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
  }
  int sent;
  do
    sent = sendmmsg(t->fd, msgs, n, MSG_DONTWAIT);
  while (sent < 0 && errno == EINTR);
  if (sent < 0)
    return -errno;
  ssize_t bytes = 0;
  for (int i = 0; i < sent; i++)
    bytes += (ssize_t)iov[i].iov_len;
  return bytes;
}

/* Errors that say the kernel or route cannot segment for us, not that the datagrams are bad. */
static int gso_refused(int err) {
  return err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP;
}

int pl_transport_send_batch(pl_transport *t, const struct sockaddr *dst, const uint8_t *data,
                            size_t len, size_t seg, size_t *psent) {
  *psent = 0;
  if (!t->open)
    return PL_ERR_CLOSED;
  if (seg == 0 || seg > MAX_UDP_PAYLOAD)
    return PL_ERR_INVALID;
  size_t per_gso = GSO_MAX_BYTES / seg;
  if (per_gso > PL_TRANSPORT_BATCH_MAX)
    per_gso = PL_TRANSPORT_BATCH_MAX;
  while (*psent < len) {
    size_t left = len - *psent;
    ssize_t n = -EINVAL;
    int gso = t->gso && per_gso > 1 && left > seg;
    if (gso) {
      size_t chunk = left < per_gso * seg ? left : per_gso * seg;
      n = send_gso(t, dst, data + *psent, chunk, seg);
      if (n < 0 && gso_refused((int)-n))
        t->gso = 0; /* and try the same datagrams with sendmmsg */
    }
    if (!gso || (n < 0 && !t->gso))
      n = send_mmsg(t, dst, data + *psent, left, seg);
    if (n == -EAGAIN || n == -EWOULDBLOCK || n == -ENOBUFS) {
      t->stats.send_blocked++;
      return PL_ERR_FULL;
    }
    if (n < 0)
      return failed(t, (int)-n);
    t->stats.batch_calls++;
    t->stats.sent += ((size_t)n + seg - 1) / seg;
    *psent += (size_t)n;
  }
  return 0;
}

int pl_transport_notify_writable(pl_transport *t, pl_transport_writable_fn fn, void *arg) {
  int free_slot = -1;
  if (!t->open)
    return PL_ERR_CLOSED;
  for (int i = 0; i < PL_TRANSPORT_WRITABLE_WAITERS; i++) {
    if (t->writable[i].fn == fn && t->writable[i].arg == arg)
      return 0;
    if (t->writable[i].fn == NULL && free_slot < 0)
      free_slot = i;
  }
  if (free_slot < 0)
    return PL_ERR_FULL;
  t->writable[free_slot].fn = fn;
  t->writable[free_slot].arg = arg;
  pl_transport__poll_update(t, UV_READABLE | UV_WRITABLE);
  return 0;
}

void pl_transport_cancel_writable(pl_transport *t, pl_transport_writable_fn fn, void *arg) {
  for (int i = 0; i < PL_TRANSPORT_WRITABLE_WAITERS; i++)
    if (t->writable[i].fn == fn && t->writable[i].arg == arg)
      t->writable[i].fn = NULL;
}

void pl_transport__writable(pl_transport *t) {
  pl_transport_waiter due[PL_TRANSPORT_WRITABLE_WAITERS];
  /* Waiters may register again from their callback: take them all first. */
  memcpy(due, t->writable, sizeof due);
  memset(t->writable, 0, sizeof t->writable);
  pl_transport__poll_update(t, UV_READABLE);
  for (int i = 0; i < PL_TRANSPORT_WRITABLE_WAITERS && t->open; i++)
    if (due[i].fn)
      due[i].fn(due[i].arg);
}
