/* The node: the listening port that every TCP socket of the agent shares, and its close. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/tcp/tcp_int.h"
#include "control/common/err.h"
#include "control/common/log.h"

/* One read buffer for every connection: large reads keep bulk transfers cheap. */
#define READ_BUFFER (256 * 1024)
#define BACKLOG 64

void pl_tcp__node_handle_closed(uv_handle_t *h) {
  pl_tcp_node *n = h->data;
  n->handles--;
  if (n->handles == 0 && !n->open && n->closed)
    n->closed(n->closed_arg);
}

static void on_connection(uv_stream_t *server, int status) {
  pl_tcp_node *n = server->data;
  if (status < 0 || !n->open)
    return;
  pl_tcp__conn_accept(n);
}

int pl_tcp_node_port(const pl_tcp_node *n) {
  if (!n->open)
    return 0;
  return n->bound.ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)&n->bound)->sin6_port)
                                        : ntohs(((const struct sockaddr_in *)&n->bound)->sin_port);
}

int pl_tcp_node_open(pl_tcp_node *n, const struct sockaddr *addr) {
  if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
    return PL_ERR_INVALID;
  memset(&n->bound, 0, sizeof n->bound);
  memcpy(&n->bound, addr,
         addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
  n->links = NULL;
  n->unbound = NULL;
  n->has_public = 0;
  n->refused = 0;
  n->closed = NULL;
  n->rbuflen = READ_BUFFER;
  if ((n->rbuf = malloc(n->rbuflen)) == NULL)
    return PL_ERR_NOMEM;
  int fd = pl_tcp__socket(n);
  if (fd < 0) {
    free(n->rbuf);
    n->rbuf = NULL;
    return PL_ERR_IO;
  }
  uv_tcp_init(n->loop, &n->listener);
  n->listener.data = n;
  n->handles = 1;
  int len = sizeof n->bound;
  if (uv_tcp_open(&n->listener, fd) != 0 ||
      uv_tcp_getsockname(&n->listener, (struct sockaddr *)&n->bound, &len) != 0 ||
      uv_listen((uv_stream_t *)&n->listener, BACKLOG, on_connection) != 0) {
    /* Freed when the close completes; nothing else is open. */
    n->open = 0;
    uv_close((uv_handle_t *)&n->listener, pl_tcp__node_handle_closed);
    free(n->rbuf);
    n->rbuf = NULL;
    return PL_ERR_IO;
  }
  n->open = 1;
  pl_tcp__stun_init(n);
  return 0;
}

void pl_tcp_node_close(pl_tcp_node *n, void (*closed)(void *arg), void *arg) {
  if (!n->open)
    return;
  n->open = 0;
  n->closed = closed;
  n->closed_arg = arg;
  /* Hold one count until everything below was started, so a synchronous release cannot run
   * the callback early. */
  n->handles++;
  while (n->links)
    pl_tcp_link_close(n->links, "agent stopping");
  pl_tcp_conn *next;
  for (pl_tcp_conn *c = n->unbound; c; c = next) {
    next = c->next;
    pl_tcp__conn_close(c, "agent stopping");
  }
  pl_tcp__stun_close(n);
  uv_close((uv_handle_t *)&n->listener, pl_tcp__node_handle_closed);
  free(n->rbuf); /* no read can run any more: every stream is closing */
  n->rbuf = NULL;
  n->handles--;
  if (n->handles == 0 && n->closed)
    n->closed(n->closed_arg);
}
