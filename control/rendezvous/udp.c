/* libuv glue for the rendezvous's UDP sockets. The decisions live in stun.c (agent/wire) and
 * relay.c; this file only reads, demultiplexes and sends. */
#define _GNU_SOURCE /* sendmmsg */
#include "control/rendezvous/udp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/frame.h"
#include "agent/wire/stun.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"

/* libuv hands recvmmsg one 64 KiB slot per datagram; PL_RDV_UDP_SLOTS slots per system call.
 * libuv itself stops after 32 reads per wake-up, which keeps the gRPC side from starving. */
#define MMSG_SLOT (64 * 1024)
#define DGRAM_MAX 2048
#define SOCKET_BUFFER (4 << 20)

static void count_drop(pl_rdv_service *rv, pl_rdv_relay_drop reason) {
  pl_rdv_relay_out out;
  pl_rdv_relay_drop_as(&out, reason);
  pl_rdv_relay_count(&rv->stats, &out);
}

static int try_send(uv_udp_t *h, const struct sockaddr *to, const uint8_t *data, size_t len) {
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  /* No queueing and no allocation per datagram: a full socket buffer drops, as a router would. */
  return uv_udp_try_send(h, &b, 1, to) == (int)len ? 0 : PL_ERR_IO;
}

static size_t addr_len(const struct sockaddr *sa) {
  return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* The batch's forwarded datagrams, in one sendmmsg (retried past a refused one). What the
 * socket refuses was counted as forwarded when it was queued: it becomes a send drop. */
static void flush_batch(pl_rdv_udp *u) {
  struct mmsghdr msgs[PL_RDV_UDP_SLOTS];
  struct iovec iov[PL_RDV_UDP_SLOTS];
  size_t n = u->n_out, done = 0;
  u->n_out = 0;
  if (n == 0 || !u->has_sock)
    return;
  memset(msgs, 0, sizeof msgs);
  for (size_t i = 0; i < n; i++) {
    iov[i].iov_base = (void *)u->out[i].data;
    iov[i].iov_len = u->out[i].len;
    msgs[i].msg_hdr.msg_name = &u->out[i].to;
    msgs[i].msg_hdr.msg_namelen = (socklen_t)addr_len((struct sockaddr *)&u->out[i].to);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int fd = -1;
  uv_fileno((uv_handle_t *)&u->sock, &fd);
  while (done < n) {
    int sent = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
    u->batches++;
    if (sent <= 0) {
      if (sent < 0 && errno == EINTR)
        continue;
      /* This one is refused (full buffer, unreachable): drop it, go on with the rest. */
      u->rv->stats.forwarded_udp--;
      count_drop(u->rv, PL_RDV_RELAY_DROP_SEND);
      done++;
      continue;
    }
    u->batched += (uint64_t)sent;
    done += (size_t)sent;
  }
}

static int relay_send(void *arg, const struct sockaddr *to, const uint8_t *data, size_t len) {
  pl_rdv_udp *u = arg;
  if (!u->has_sock)
    return PL_ERR_CLOSED;
  /* Inside a batch, a datagram that lives in the receive buffer waits for the batch's end;
   * anything else (a reply in u->reply, a datagram from a stream) goes now. */
  if (u->in_batch && data >= u->rbuf && data + len <= u->rbuf + u->rbuflen) {
    if (u->n_out == PL_RDV_UDP_SLOTS)
      flush_batch(u);
    pl_rdv_udp_out *o = &u->out[u->n_out++];
    memset(&o->to, 0, sizeof o->to);
    memcpy(&o->to, to, addr_len(to));
    o->data = data;
    o->len = len;
    return 0;
  }
  return try_send(&u->sock, to, data, len);
}

static void answer_stun(pl_rdv_udp *u, uv_udp_t *h, const struct sockaddr *from,
                        const uint8_t *data, size_t len) {
  size_t n;
  if (pl_stun_respond(u->reply, sizeof u->reply, &n, data, len, from) != 0) {
    count_drop(u->rv, PL_RDV_RELAY_DROP_STUN);
    return;
  }
  if (try_send(h, from, u->reply, n) != 0) {
    count_drop(u->rv, PL_RDV_RELAY_DROP_SEND);
    return;
  }
  u->rv->stats.stun_answered++;
}

static void on_datagram(pl_rdv_udp *u, uv_udp_t *h, const struct sockaddr *from,
                        const uint8_t *data, size_t len) {
  pl_demux_kind kind = pl_demux(data, len);
  if (kind == PL_DEMUX_STUN)
    answer_stun(u, h, from, data, len);
  else if (kind == PL_DEMUX_FRAME && h == &u->sock) /* the alternate socket only answers STUN */
    pl_rdv_service_relay_datagram(u->rv, from, data, len, u->reply, sizeof u->reply);
  else
    count_drop(u->rv, PL_RDV_RELAY_DROP_NOT_OURS);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  pl_rdv_udp *u = h->data;
  (void)suggested;
  /* One buffer per socket, reused: callbacks run one after the other on the loop thread. */
  if ((uv_udp_t *)h == &u->sock)
    *buf = uv_buf_init((char *)u->rbuf, (unsigned)u->rbuflen);
  else
    *buf = uv_buf_init((char *)u->abuf, DGRAM_MAX);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
  pl_rdv_udp *u = h->data;
  /* The end of a recvmmsg batch: its buffer is about to be reused. */
  if (flags & UV_UDP_MMSG_FREE) {
    flush_batch(u);
    u->in_batch = 0;
    return;
  }
  if (flags & UV_UDP_MMSG_CHUNK)
    u->in_batch = h == &u->sock;
  /* nread 0 without an address: nothing more to read. */
  if (nread <= 0 || from == NULL) {
    if (nread < 0)
      pl_log(PL_LOG_DEBUG, "udp_recv_error", "error=\"%s\"", uv_strerror((int)nread));
    return;
  }
  if (flags & UV_UDP_PARTIAL) {
    count_drop(u->rv, PL_RDV_RELAY_DROP_PARSE);
    return;
  }
  on_datagram(u, h, from, (const uint8_t *)buf->base, (size_t)nread);
}

static int parse_addr(const char *hostport, struct sockaddr_storage *ss) {
  char host[64];
  int port;
  if (pl_hostport_split(hostport, host, &port) != 0)
    return PL_ERR_INVALID;
  memset(ss, 0, sizeof *ss);
  if (strcmp(host, "localhost") == 0)
    snprintf(host, sizeof host, "127.0.0.1");
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
    return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
    return 0;
  return PL_ERR_INVALID;
}

static int open_socket(pl_rdv_udp *u, uv_loop_t *loop, uv_udp_t *h, const char *flag,
                       const char *hostport, int mmsg, uint32_t *pport, char *err, size_t errlen) {
  struct sockaddr_storage ss;
  int rc, size = SOCKET_BUFFER;
  if (parse_addr(hostport, &ss) != 0) {
    snprintf(err, errlen, "--%s: \"%s\" is not IP:PORT", flag, hostport);
    return PL_ERR_INVALID;
  }
  rc = uv_udp_init_ex(loop, h, ss.ss_family | (mmsg ? UV_UDP_RECVMMSG : 0));
  if (rc != 0) {
    snprintf(err, errlen, "--%s %s: %s", flag, hostport, uv_strerror(rc));
    return PL_ERR_IO;
  }
  h->data = u;
  u->open_handles++;
  rc = uv_udp_bind(h, (const struct sockaddr *)&ss, 0);
  if (rc == 0)
    (void)uv_recv_buffer_size((uv_handle_t *)h, &size); /* best effort: relay bursts */
  if (rc == 0)
    rc = uv_udp_recv_start(h, on_alloc, on_recv);
  if (rc != 0) {
    snprintf(err, errlen, "--%s %s: cannot bind: %s", flag, hostport, uv_strerror(rc));
    return PL_ERR_IO;
  }
  int len = sizeof ss;
  uv_udp_getsockname(h, (struct sockaddr *)&ss, &len);
  *pport = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

int pl_rdv_udp_start(pl_rdv_udp *u, uv_loop_t *loop, pl_rdv_service *rv, const char *hostport,
                     const char *alt_hostport, char *err, size_t errlen) {
  int rc = 0;
  memset(u, 0, sizeof *u);
  u->rv = rv;
  if (hostport) {
    u->rbuflen = MMSG_SLOT * PL_RDV_UDP_SLOTS;
    u->rbuf = malloc(u->rbuflen);
    if (u->rbuf == NULL)
      return PL_ERR_NOMEM;
    u->has_sock = 1;
    rc = open_socket(u, loop, &u->sock, "udp", hostport, 1, &rv->udp_port, err, errlen);
  }
  if (rc == 0 && alt_hostport) {
    u->abuf = malloc(DGRAM_MAX);
    if (u->abuf == NULL)
      rc = PL_ERR_NOMEM;
    else {
      u->has_alt = 1;
      rc =
          open_socket(u, loop, &u->alt, "udp-alt", alt_hostport, 0, &rv->udp_alt_port, err, errlen);
    }
  }
  if (rc != 0) {
    pl_rdv_udp_close(u, NULL, NULL);
    return rc;
  }
  if (u->has_sock) {
    rv->udp_send = relay_send;
    rv->udp_arg = u;
  }
  return 0;
}

void pl_rdv_udp_name(pl_rdv_udp *u, int alt, char *buf, size_t cap) {
  struct sockaddr_storage ss;
  char ip[64] = "";
  int len = sizeof ss, port;
  if (!(alt ? u->has_alt : u->has_sock) ||
      uv_udp_getsockname(alt ? &u->alt : &u->sock, (struct sockaddr *)&ss, &len) != 0) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  if (ss.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    snprintf(buf, cap, "[%s]:%d", ip, port);
  } else {
    uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(buf, cap, "%s:%d", ip, port);
  }
}

static void on_closed(uv_handle_t *h) {
  pl_rdv_udp *u = h->data;
  if (--u->open_handles > 0)
    return;
  free(u->rbuf);
  free(u->abuf);
  u->rbuf = u->abuf = NULL;
  if (u->closed)
    u->closed(u->closed_arg);
}

void pl_rdv_udp_close(pl_rdv_udp *u, void (*closed)(void *arg), void *arg) {
  u->closed = closed;
  u->closed_arg = arg;
  if (u->rv && u->rv->udp_arg == u) {
    u->rv->udp_send = NULL;
    u->rv->udp_arg = NULL;
  }
  int handles = u->open_handles;
  if (handles == 0) {
    free(u->rbuf);
    free(u->abuf);
    u->rbuf = u->abuf = NULL;
    if (closed)
      closed(arg);
    return;
  }
  if (u->has_sock && u->sock.data == u && !uv_is_closing((uv_handle_t *)&u->sock))
    uv_close((uv_handle_t *)&u->sock, on_closed);
  if (u->has_alt && u->alt.data == u && !uv_is_closing((uv_handle_t *)&u->alt))
    uv_close((uv_handle_t *)&u->alt, on_closed);
  u->has_sock = u->has_alt = 0;
}
