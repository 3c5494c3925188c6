/* One TCP socket: the reuse-port bind, connect or accept, reads into the session, writes with a
 * queue the kernel drains, and the session's timer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/tcp/tcp_int.h"
#include "control/common/clock.h"
#include "control/common/err.h"

/* Accepted connections that have not said which pairing they are for: a scanner or a flood
 * must not hold more than this many sockets. */
#define MAX_UNBOUND 64
/* How long an accepted connection may take to authenticate. */
#define ACCEPT_HANDSHAKE_US 5000000u

typedef struct write_req {
  uv_write_t w;
  size_t len;
  uint8_t data[];
} write_req;

int pl_tcp__socket(pl_tcp_node *n) {
  int one = 1;
  socklen_t len =
      n->bound.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  int fd = socket(n->bound.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return PL_ERR_IO;
  /* Before bind: the listener, the STUN connection and every connect share the port, so each
   * connect leaves from the mapping STUN measured. */
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, (const struct sockaddr *)&n->bound, len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return PL_ERR_IO;
  }
  return fd;
}

/* --- closing ---------------------------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *h) {
  pl_tcp_conn *c = h->data;
  if (--c->handles > 0)
    return;
  if (c->connected)
    pl_tcp_session_free(&c->s);
  if (c->link) {
    pl_tcp__link_conn_gone(c->link, c);
  } else {
    pl_tcp_node *n = c->node;
    for (pl_tcp_conn **pc = &n->unbound; *pc; pc = &(*pc)->next) {
      if (*pc == c) {
        *pc = c->next;
        break;
      }
    }
    n->handles--;
    if (n->handles == 0 && !n->open && n->closed)
      n->closed(n->closed_arg);
  }
  free(c);
}

void pl_tcp__conn_close(pl_tcp_conn *c, const char *why) {
  if (c->closing)
    return;
  if (c->connected)
    pl_tcp_session_close(&c->s, why, pl_clock_now_us()); /* CLOSE, while writes still work */
  c->closing = 1;
  uv_close((uv_handle_t *)&c->h, conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/* The conn cannot go on: tell its link (or count it), then close it. */
static void conn_failed(pl_tcp_conn *c, int rv, const char *why) {
  if (c->closing)
    return;
  if (c->link)
    pl_tcp__link_conn_failed(c->link, c, rv, why, 0);
  else
    c->node->refused++;
  pl_tcp__conn_close(c, why);
}

/* --- writing ---------------------------------------------------------------------------- */

static void on_written(uv_write_t *w, int status) {
  write_req *req = (write_req *)w;
  pl_tcp_conn *c = w->handle->data;
  c->queued -= req->len;
  free(req);
  if (c->closing)
    return;
  if (status < 0) {
    conn_failed(c, PL_ERR_IO, uv_strerror(status));
    return;
  }
  if (c->link && c->link->winner == c)
    pl_tcp__link_drained(c->link);
}

/* The session's emit: straight to the kernel while nothing is queued, the rest copied behind. */
static int conn_emit(void *arg, const struct iovec *iov, int iovcnt) {
  pl_tcp_conn *c = arg;
  uv_buf_t bufs[4];
  size_t total = 0, done = 0;
  if (c->closing || iovcnt > 4)
    return PL_ERR_CLOSED;
  for (int i = 0; i < iovcnt; i++) {
    bufs[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
    total += iov[i].iov_len;
  }
  if (c->queued == 0) {
    int r = uv_try_write((uv_stream_t *)&c->h, bufs, (unsigned)iovcnt);
    if (r < 0 && r != UV_EAGAIN)
      return PL_ERR_IO;
    done = r > 0 ? (size_t)r : 0;
  }
  if (done == total)
    return 0;
  write_req *req = malloc(sizeof *req + (total - done));
  if (req == NULL)
    return PL_ERR_NOMEM;
  req->len = total - done;
  size_t skip = done, at = 0;
  for (int i = 0; i < iovcnt; i++) {
    size_t l = iov[i].iov_len;
    if (skip >= l) {
      skip -= l;
      continue;
    }
    memcpy(req->data + at, (const uint8_t *)iov[i].iov_base + skip, l - skip);
    at += l - skip;
    skip = 0;
  }
  uv_buf_t b = uv_buf_init((char *)req->data, (unsigned)req->len);
  if (uv_write(&req->w, (uv_stream_t *)&c->h, &b, 1, on_written) != 0) {
    free(req);
    return PL_ERR_IO;
  }
  c->queued += req->len;
  return 0;
}

/* --- the session's other callbacks ------------------------------------------------------ */

static int conn_bind(void *arg, const pl_tcp_hello *peer, pl_tcp_session_config *cfg) {
  pl_tcp_conn *c = arg;
  return pl_tcp__link_bind(c->node, c, peer, cfg);
}

static void conn_state(void *arg, pl_tcp_session_state st) {
  pl_tcp_conn *c = arg;
  pl_tcp__conn_arm(c); /* an authenticated session has keep-alive deadlines */
  pl_tcp__link_conn_state(c->link, c, st);
}

static void conn_message(void *arg, uint64_t seq, const uint8_t *data, size_t len) {
  pl_tcp_conn *c = arg;
  (void)seq;
  pl_tcp__link_message(c->link, data, len);
}

static void conn_ack(void *arg, uint64_t seq) {
  pl_tcp_conn *c = arg;
  pl_tcp__link_ack(c->link, seq);
}

static void conn_bulk(void *arg, const uint8_t *data, size_t len, size_t offset, size_t total) {
  pl_tcp_conn *c = arg;
  pl_tcp__link_bulk(c->link, data, len, offset, total);
}

static const pl_tcp_session_callbacks session_cb_template = {
    .emit = conn_emit,
    .bind = conn_bind,
    .on_state = conn_state,
    .on_message = conn_message,
    .on_ack = conn_ack,
    .on_bulk = conn_bulk,
};

/* --- reading and the timer -------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  pl_tcp_conn *c = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)c->node->rbuf, (unsigned)c->node->rbuflen);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  pl_tcp_conn *c = stream->data;
  if (c->closing || nread == 0)
    return;
  if (nread < 0) {
    conn_failed(c, nread == UV_EOF ? PL_ERR_CLOSED : PL_ERR_IO,
                nread == UV_EOF ? "the peer closed the connection" : uv_strerror((int)nread));
    return;
  }
  int rv = pl_tcp_session_recv(&c->s, (const uint8_t *)buf->base, (size_t)nread, pl_clock_now_us());
  /* A callback may have closed this conn (a loser once another won) or its whole link. */
  if (rv != 0 && !c->closing)
    conn_failed(c, rv, c->s.why);
}

static void on_timer(uv_timer_t *t) {
  pl_tcp_conn *c = t->data;
  int rv = pl_tcp_session_tick(&c->s, pl_clock_now_us());
  if (c->closing)
    return;
  if (rv != 0)
    conn_failed(c, rv, c->s.why);
  else
    pl_tcp__conn_arm(c);
}

void pl_tcp__conn_arm(pl_tcp_conn *c) {
  if (c->closing)
    return;
  uint64_t d = pl_tcp_session_deadline(&c->s), now = pl_clock_now_us();
  if (d == UINT64_MAX)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, on_timer, d > now ? (d - now + 999) / 1000 : 0, 0);
}

/* TCP is up (either way): addresses, the session, reading. Returns 0 or PL_ERR_*. */
static int conn_started(pl_tcp_conn *c, const pl_tcp_session_config *cfg, uint64_t handshake_us) {
  pl_tcp_node *n = c->node;
  pl_tcp_session_callbacks cb = session_cb_template;
  int len = sizeof c->local;
  uv_tcp_getsockname(&c->h, (struct sockaddr *)&c->local, &len);
  len = sizeof c->peer;
  uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len);
  uv_tcp_nodelay(&c->h, 1); /* messages wait for an ACK: Nagle would hold them */
  cb.arg = c;
  int rv = pl_tcp_session_init(&c->s, cfg, &cb, n->keepalive_us, n->dead_after_us, handshake_us,
                               pl_clock_now_us());
  if (rv != 0)
    return rv;
  c->connected = 1;
  if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) != 0)
    return PL_ERR_IO;
  return 0;
}

/* --- ours: connect ---------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status) {
  pl_tcp_conn *c = req->data;
  pl_tcp_link *t = c->link;
  if (c->closing)
    return; /* UV_ECANCELED: we closed it */
  if (status < 0) {
    pl_tcp__link_conn_failed(t, c, PL_ERR_IO, uv_strerror(status), status == UV_ECONNREFUSED);
    pl_tcp__conn_close(c, "connect failed");
    return;
  }
  uint64_t left =
      t->punch.deadline_us > pl_clock_now_us() ? t->punch.deadline_us - pl_clock_now_us() : 0;
  if (conn_started(c, &t->cfg, left ? left : ACCEPT_HANDSHAKE_US) != 0) {
    conn_failed(c, PL_ERR_IO, "cannot start the session");
    return;
  }
  pl_tcp__link_conn_up(t, c);
  if (c->closing)
    return;
  int rv = pl_tcp_session_start(&c->s, pl_clock_now_us());
  if (rv != 0 && !c->closing) {
    conn_failed(c, rv, c->s.why);
    return;
  }
  pl_tcp__conn_arm(c);
}

static pl_tcp_conn *conn_new(pl_tcp_node *n) {
  pl_tcp_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->node = n;
  c->target = PL_TCP__NO_TARGET;
  uv_tcp_init(n->loop, &c->h);
  uv_timer_init(n->loop, &c->timer);
  c->handles = 2;
  c->h.data = c;
  c->timer.data = c;
  c->creq.data = c;
  return c;
}

int pl_tcp__conn_connect(pl_tcp_link *t, size_t idx, const char **why) {
  pl_tcp_node *n = t->node;
  const struct sockaddr *dst = (const struct sockaddr *)&t->punch.t[idx].addr;
  if (dst->sa_family != n->bound.ss_family) {
    *why = "another address family than the TCP port's";
    return PL_ERR_INVALID;
  }
  int fd = pl_tcp__socket(n);
  if (fd < 0) {
    *why = strerror(errno);
    return PL_ERR_IO;
  }
  pl_tcp_conn *c = conn_new(n);
  if (c == NULL) {
    close(fd);
    *why = "out of memory";
    return PL_ERR_NOMEM;
  }
  c->link = t;
  c->target = idx;
  c->next = t->conns;
  t->conns = c;
  t->refs++;
  int rv = uv_tcp_open(&c->h, fd);
  if (rv != 0)
    close(fd);
  else
    rv = uv_tcp_connect(&c->creq, &c->h, dst, on_connect);
  if (rv != 0) {
    *why = uv_strerror(rv);
    pl_tcp__conn_close(c, "connect failed");
    return PL_ERR_IO;
  }
  return 0;
}

/* --- theirs: accept --------------------------------------------------------------------- */

void pl_tcp__conn_accept(pl_tcp_node *n) {
  size_t unbound = 0;
  for (pl_tcp_conn *u = n->unbound; u; u = u->next)
    unbound++;
  pl_tcp_conn *c = conn_new(n);
  if (c == NULL)
    return; /* the connection waits in the backlog until the next one arrives */
  c->next = n->unbound;
  n->unbound = c;
  n->handles++;
  if (uv_accept((uv_stream_t *)&n->listener, (uv_stream_t *)&c->h) != 0) {
    pl_tcp__conn_close(c, "accept failed");
    return;
  }
  if (unbound >= MAX_UNBOUND) {
    n->refused++;
    pl_tcp__conn_close(c, "too many unauthenticated connections");
    return;
  }
  if (conn_started(c, NULL, ACCEPT_HANDSHAKE_US) != 0) {
    pl_tcp__conn_close(c, "cannot start the session");
    return;
  }
  pl_tcp__conn_arm(c);
}
