/* libuv glue for STUN over TCP. The answers are agent/wire/stun.c's pl_stun_respond. */
#include "control/rendezvous/stun_tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/wire/stun.h"
#include "control/common/addr.h"
#include "control/common/err.h"
#include "control/common/log.h"

#define BACKLOG 128
#define MSG_MAX 548 /* a Binding request is tens of bytes; RFC 8489 keeps UDP ones under 548 */

struct pl_rdv_stun_tcp_conn {
  uv_tcp_t h;
  uv_timer_t idle;
  pl_rdv_stun_tcp *owner;
  struct sockaddr_storage peer;
  uint8_t buf[MSG_MAX];
  size_t len;
  int handles, closing;
  pl_rdv_stun_tcp_conn *next;
};

typedef struct answer {
  uv_write_t w;
  uint8_t data[PL_STUN_BUF_LEN];
} answer;

static void handle_closed(uv_handle_t *h) {
  pl_rdv_stun_tcp *s = h->data;
  if (--s->handles == 0 && s->closed)
    s->closed(s->closed_arg);
}

static void conn_closed(uv_handle_t *h) {
  pl_rdv_stun_tcp_conn *c = h->data;
  if (--c->handles > 0)
    return;
  pl_rdv_stun_tcp *s = c->owner;
  for (pl_rdv_stun_tcp_conn **pc = &s->conns; *pc; pc = &(*pc)->next) {
    if (*pc == c) {
      *pc = c->next;
      break;
    }
  }
  s->n_conns--;
  free(c);
  if (--s->handles == 0 && s->closed)
    s->closed(s->closed_arg);
}

/* reset: the peer misbehaved (no orderly close, and no TIME_WAIT kept for it here). */
static void conn_close(pl_rdv_stun_tcp_conn *c, int reset) {
  if (c->closing)
    return;
  c->closing = 1;
  if (!reset || uv_tcp_close_reset(&c->h, conn_closed) != 0)
    uv_close((uv_handle_t *)&c->h, conn_closed);
  uv_close((uv_handle_t *)&c->idle, conn_closed);
}

static void on_idle(uv_timer_t *t) {
  conn_close(t->data, 0);
}

static void on_written(uv_write_t *w, int status) {
  (void)status; /* a failed write ends the connection through its reader */
  free(w);
}

static int answer_one(pl_rdv_stun_tcp_conn *c, const uint8_t *req, size_t len) {
  answer *a = malloc(sizeof *a);
  size_t n;
  if (a == NULL)
    return PL_ERR_NOMEM;
  int rv =
      pl_stun_respond(a->data, sizeof a->data, &n, req, len, (const struct sockaddr *)&c->peer);
  if (rv != 0) {
    free(a);
    return rv;
  }
  uv_buf_t b = uv_buf_init((char *)a->data, (unsigned)n);
  if (uv_write(&a->w, (uv_stream_t *)&c->h, &b, 1, on_written) != 0) {
    free(a);
    return PL_ERR_IO;
  }
  c->owner->answered++;
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  pl_rdv_stun_tcp_conn *c = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf) {
  pl_rdv_stun_tcp_conn *c = h->data;
  (void)buf;
  if (c->closing || nread == 0)
    return;
  if (nread < 0) {
    conn_close(c, 0);
    return;
  }
  c->len += (size_t)nread;
  for (;;) {
    int m = pl_stun_stream_len(c->buf, c->len, sizeof c->buf);
    if (m == 0)
      break;
    if (m < 0 || answer_one(c, c->buf, (size_t)m) != 0) {
      c->owner->refused++;
      conn_close(c, 1);
      return;
    }
    memmove(c->buf, c->buf + m, c->len - (size_t)m);
    c->len -= (size_t)m;
  }
  uv_timer_again(&c->idle);
}

static void on_connection(uv_stream_t *server, int status) {
  pl_rdv_stun_tcp *s = server->data;
  if (status < 0 || !s->open)
    return;
  pl_rdv_stun_tcp_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return; /* it waits in the backlog */
  c->owner = s;
  uv_tcp_init(s->loop, &c->h);
  uv_timer_init(s->loop, &c->idle);
  c->h.data = c->idle.data = c;
  c->handles = 2;
  c->next = s->conns;
  s->conns = c;
  s->n_conns++;
  s->handles++;
  int len = sizeof c->peer;
  if (uv_accept(server, (uv_stream_t *)&c->h) != 0 ||
      uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len) != 0) {
    conn_close(c, 0);
    return;
  }
  if (s->n_conns > PL_RDV_STUN_TCP_MAX_CONNS) {
    s->refused++;
    conn_close(c, 1);
    return;
  }
  uv_timer_start(&c->idle, on_idle, PL_RDV_STUN_TCP_IDLE_MS, PL_RDV_STUN_TCP_IDLE_MS);
  if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) != 0)
    conn_close(c, 0);
}

int pl_rdv_stun_tcp_start(pl_rdv_stun_tcp *s, uv_loop_t *loop, const struct sockaddr *addr) {
  int one = 1;
  memset(s, 0, sizeof *s);
  s->loop = loop;
  if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
    return PL_ERR_INVALID;
  /* The socket is bound and listening before libuv sees it: a failure leaves nothing to close,
   * so the caller may try another address with the same struct at once. */
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  socklen_t alen =
      addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (fd < 0)
    return PL_ERR_IO;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, addr, alen) != 0 || listen(fd, BACKLOG) != 0) {
    close(fd);
    return PL_ERR_IO;
  }
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  s->handles = 1;
  s->open = 1;
  int len = sizeof s->bound;
  if (uv_tcp_open(&s->listener, fd) != 0) {
    close(fd);
    pl_rdv_stun_tcp_close(s, NULL, NULL);
    return PL_ERR_IO;
  }
  if (uv_listen((uv_stream_t *)&s->listener, BACKLOG, on_connection) != 0 ||
      uv_tcp_getsockname(&s->listener, (struct sockaddr *)&s->bound, &len) != 0) {
    pl_rdv_stun_tcp_close(s, NULL, NULL);
    return PL_ERR_IO;
  }
  return 0;
}

uint32_t pl_rdv_stun_tcp_port(const pl_rdv_stun_tcp *s) {
  char ip[64];
  int port = s->open ? pl_addr_ip_port((const struct sockaddr *)&s->bound, ip) : -1;
  return port > 0 ? (uint32_t)port : 0;
}

void pl_rdv_stun_tcp_name(const pl_rdv_stun_tcp *s, char *buf, size_t cap) {
  if (!s->open) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  pl_addr_format((const struct sockaddr *)&s->bound, buf, cap);
}

void pl_rdv_stun_tcp_close(pl_rdv_stun_tcp *s, void (*closed)(void *arg), void *arg) {
  if (!s->open)
    return;
  s->open = 0;
  s->closed = closed;
  s->closed_arg = arg;
  for (pl_rdv_stun_tcp_conn *c = s->conns; c; c = c->next)
    conn_close(c, 0);
  uv_close((uv_handle_t *)&s->listener, handle_closed);
  pl_log(PL_LOG_INFO, "stun_tcp_stats", "answered=%llu refused=%llu",
         (unsigned long long)s->answered, (unsigned long long)s->refused);
}
