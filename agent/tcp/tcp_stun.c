/* STUN over TCP from the node's port (RFC 8489 over a stream): one connection to the server,
 * kept open, with a Binding request on it now and every stun_recheck_us. A failure closes it
 * with a reset (no TIME_WAIT on our side: the next connect reuses the same address pair) and
 * tries again with backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/tcp/tcp_int.h"
#include "agent/wire/stun.h"
#include "control/common/addr.h"
#include "control/common/err.h"
#include "control/common/log.h"
#include "control/common/random.h"

#define ANSWER_MS 5000
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define RECHECK_DEFAULT_MS 60000

/* A connection and its connect request: a dropped one's request may still be cancelling
 * while the next connection's runs. */
struct pl_tcp_stun_conn {
  uv_tcp_t h;
  uv_connect_t req;
};

static void check(pl_tcp_node *n);

static void on_timer(uv_timer_t *t) {
  check(t->data);
}

static void conn_closed(uv_handle_t *h) {
  pl_tcp_node *n = h->data;
  free(h);
  n->handles--;
  if (n->handles == 0 && !n->open && n->closed)
    n->closed(n->closed_arg);
}

/* Closes the connection; a reset unless the server ended it first. */
static void drop_conn(pl_tcp_node *n, int reset) {
  pl_tcp_stun *s = &n->stun;
  if (s->conn == NULL)
    return;
  if (!reset || uv_tcp_close_reset(&s->conn->h, conn_closed) != 0)
    uv_close((uv_handle_t *)&s->conn->h, conn_closed);
  s->conn = NULL;
  s->waiting = 0;
  s->connecting = 0;
  s->len = 0;
}

static void failed(pl_tcp_node *n, const char *why) {
  pl_tcp_stun *s = &n->stun;
  char server[80];
  snprintf(s->last_error, sizeof s->last_error, "%s", why);
  pl_addr_format((const struct sockaddr *)&s->server, server, sizeof server);
  if (s->failures++ == 0)
    pl_log(PL_LOG_WARN, "stun_tcp_failed", "server=%s why=\"%s\"", server, why);
  drop_conn(n, 1);
  uint64_t wait = RETRY_MIN_MS;
  for (unsigned i = 1; i < s->failures && wait < RETRY_MAX_MS; i++)
    wait *= 2;
  uv_timer_start(&s->timer, on_timer, wait < RETRY_MAX_MS ? wait : RETRY_MAX_MS, 0);
}

static void got_mapping(pl_tcp_node *n, const struct sockaddr_storage *mapped) {
  pl_tcp_stun *s = &n->stun;
  uint64_t recheck = n->stun_recheck_us ? n->stun_recheck_us / 1000 : RECHECK_DEFAULT_MS;
  s->waiting = 0;
  s->failures = 0;
  uv_timer_start(&s->timer, on_timer, recheck, 0);
  if (n->has_public &&
      pl_addr_equal((const struct sockaddr *)&n->public_ep, (const struct sockaddr *)mapped))
    return;
  char text[80];
  n->public_ep = *mapped;
  n->has_public = 1;
  pl_addr_format((const struct sockaddr *)mapped, text, sizeof text);
  pl_log(PL_LOG_INFO, "stun_tcp", "public=%s", text);
  if (n->obs.on_public)
    n->obs.on_public(n->obs.arg);
}

/* Every complete message in the buffer; only the answer to our request counts. */
static void parse(pl_tcp_node *n) {
  pl_tcp_stun *s = &n->stun;
  for (;;) {
    int m = pl_stun_stream_len(s->buf, s->len, sizeof s->buf);
    if (m == 0)
      return;
    if (m < 0) {
      failed(n, "the server does not speak STUN over TCP");
      return;
    }
    pl_stun_msg msg;
    if (pl_stun_parse(&msg, s->buf, (size_t)m) == 0 && s->waiting &&
        memcmp(msg.txid.b, s->txid, sizeof s->txid) == 0) {
      if (msg.type != PL_STUN_BINDING_SUCCESS || !msg.has_mapped) {
        failed(n, "the server answered with an error");
        return;
      }
      got_mapping(n, &msg.mapped);
    }
    memmove(s->buf, s->buf + m, s->len - (size_t)m);
    s->len -= (size_t)m;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  pl_tcp_node *n = h->data;
  (void)suggested;
  *buf =
      uv_buf_init((char *)n->stun.buf + n->stun.len, (unsigned)(sizeof n->stun.buf - n->stun.len));
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf) {
  pl_tcp_node *n = h->data;
  (void)buf;
  if (n->stun.conn == NULL || (uv_tcp_t *)h != &n->stun.conn->h || nread == 0)
    return;
  if (nread == UV_EOF && !n->stun.waiting) {
    drop_conn(n, 0); /* the server ended an idle connection: reconnect at the next check */
    return;
  }
  if (nread < 0) {
    failed(n, nread == UV_EOF ? "the server closed the connection" : uv_strerror((int)nread));
    return;
  }
  n->stun.len += (size_t)nread;
  parse(n);
}

static void send_request(pl_tcp_node *n) {
  pl_tcp_stun *s = &n->stun;
  uint8_t req[PL_STUN_BUF_LEN];
  size_t len;
  pl_stun_txid txid;
  if (pl_random_bytes(txid.b, sizeof txid.b) != 0 ||
      pl_stun_encode_request(req, sizeof req, &len, &txid) != 0) {
    failed(n, "cannot build a Binding request");
    return;
  }
  memcpy(s->txid, txid.b, sizeof s->txid);
  uv_buf_t b = uv_buf_init((char *)req, (unsigned)len);
  /* 28 bytes into an idle connection's empty send buffer: all or nothing. */
  if (uv_try_write((uv_stream_t *)&s->conn->h, &b, 1) != (int)len) {
    failed(n, "cannot write the Binding request");
    return;
  }
  s->waiting = 1;
  uv_timer_start(&s->timer, on_timer, ANSWER_MS, 0);
}

static void on_connect(uv_connect_t *req, int status) {
  pl_tcp_node *n = req->data;
  if (n->stun.conn == NULL || req != &n->stun.conn->req)
    return; /* dropped meanwhile (UV_ECANCELED) */
  n->stun.connecting = 0;
  if (status < 0) {
    failed(n, uv_strerror(status));
    return;
  }
  if (uv_read_start((uv_stream_t *)&n->stun.conn->h, on_alloc, on_read) != 0) {
    failed(n, "cannot read");
    return;
  }
  send_request(n);
}

static void connect_server(pl_tcp_node *n) {
  pl_tcp_stun *s = &n->stun;
  int fd = pl_tcp__socket(n);
  if (fd < 0) {
    failed(n, "cannot bind the TCP port for STUN");
    return;
  }
  s->conn = malloc(sizeof *s->conn);
  if (s->conn == NULL) {
    close(fd);
    failed(n, "out of memory");
    return;
  }
  uv_tcp_init(n->loop, &s->conn->h);
  s->conn->h.data = n;
  s->conn->req.data = n;
  n->handles++;
  if (uv_tcp_open(&s->conn->h, fd) != 0) {
    close(fd);
    failed(n, "cannot open the socket");
    return;
  }
  int rv =
      uv_tcp_connect(&s->conn->req, &s->conn->h, (const struct sockaddr *)&s->server, on_connect);
  if (rv != 0) {
    failed(n, uv_strerror(rv));
    return;
  }
  s->connecting = 1;
  uv_timer_start(&s->timer, on_timer, ANSWER_MS, 0);
}

/* The timer: time for a check, or the answer (or the connect) took too long. */
static void check(pl_tcp_node *n) {
  pl_tcp_stun *s = &n->stun;
  if (!n->open || !s->has_server)
    return;
  if (s->waiting || s->connecting) {
    failed(n, s->connecting ? "cannot connect within 5 s" : "no answer within 5 s");
    return;
  }
  if (s->conn == NULL)
    connect_server(n);
  else
    send_request(n);
}

void pl_tcp__stun_init(pl_tcp_node *n) {
  memset(&n->stun, 0, sizeof n->stun);
  uv_timer_init(n->loop, &n->stun.timer);
  n->stun.timer.data = n;
  n->handles++;
}

void pl_tcp_node_set_stun(pl_tcp_node *n, const struct sockaddr *server) {
  pl_tcp_stun *s = &n->stun;
  if (!n->open)
    return;
  if (server && s->has_server && pl_addr_equal((const struct sockaddr *)&s->server, server))
    return;
  drop_conn(n, 1);
  uv_timer_stop(&s->timer);
  s->has_server = server != NULL;
  s->failures = 0;
  if (server == NULL)
    return;
  memset(&s->server, 0, sizeof s->server);
  memcpy(&s->server, server,
         server->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
  check(n);
}

void pl_tcp__stun_close(pl_tcp_node *n) {
  drop_conn(n, 1);
  n->stun.has_server = 0;
  uv_close((uv_handle_t *)&n->stun.timer, pl_tcp__node_handle_closed);
}
