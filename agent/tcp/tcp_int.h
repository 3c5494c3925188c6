#ifndef PEERLINK_TCP_INT_H
#define PEERLINK_TCP_INT_H

/* Between the files of agent/tcp's glue (tcp_node.c, tcp_link.c, tcp_conn.c, tcp_stun.c); not
 * for other code. */

#include "agent/tcp/tcp.h"

#define PL_TCP__NO_TARGET ((size_t)-1)

/* One socket of a link, or accepted and not yet bound to one. */
struct pl_tcp_conn {
  uv_tcp_t h;
  uv_connect_t creq;
  uv_timer_t timer; /* the session's deadline */
  pl_tcp_node *node;
  pl_tcp_link *link; /* NULL while accepted and unbound */
  size_t target;     /* the punch target we connected to; PL_TCP__NO_TARGET when accepted */
  int connected;     /* TCP is up; the session runs */
  int closing;
  int handles; /* open handles (h, timer) */
  pl_tcp_session s;
  struct sockaddr_storage local, peer;
  size_t queued; /* bytes in write requests the kernel has not taken yet */
  pl_tcp_conn *next;
};

/* A non-blocking TCP socket bound to the node's address and port with SO_REUSEADDR and
 * SO_REUSEPORT (for uv_tcp_open). Returns the descriptor, or PL_ERR_IO (errno says why). */
int pl_tcp__socket(pl_tcp_node *n);

/* Connects to target idx of link t from the node's port. Returns 0 (the conn is in t->conns;
 * the outcome comes through pl_tcp__link_*), or PL_ERR_IO / PL_ERR_NOMEM with *why set (nothing
 * is left open). */
int pl_tcp__conn_connect(pl_tcp_link *t, size_t idx, const char **why);
/* Accepts a connection on the listener into n->unbound. */
void pl_tcp__conn_accept(pl_tcp_node *n);
/* Ends a connection (CLOSE first when authenticated); freed after its handles closed, which
 * also drops its reference on its link. Safe to call twice. */
void pl_tcp__conn_close(pl_tcp_conn *c, const char *why);
/* Re-arms the session's timer. */
void pl_tcp__conn_arm(pl_tcp_conn *c);

/* What a link hears from its connections (tcp_link.c). */
/* A HELLO named this pairing: the accepted conn joins t. Returns 0 or PL_ERR_NOT_FOUND. */
int pl_tcp__link_bind(pl_tcp_node *n, pl_tcp_conn *c, const pl_tcp_hello *peer,
                      pl_tcp_session_config *cfg);
void pl_tcp__link_conn_up(pl_tcp_link *t, pl_tcp_conn *c);
void pl_tcp__link_conn_state(pl_tcp_link *t, pl_tcp_conn *c, pl_tcp_session_state st);
/* The conn failed (rv, why); it is closed after this. refused: the connect met a reset. */
void pl_tcp__link_conn_failed(pl_tcp_link *t, pl_tcp_conn *c, int rv, const char *why, int refused);
void pl_tcp__link_message(pl_tcp_link *t, const uint8_t *data, size_t len);
void pl_tcp__link_ack(pl_tcp_link *t, uint64_t seq);
void pl_tcp__link_bulk(pl_tcp_link *t, const uint8_t *data, size_t len, size_t offset,
                       size_t total);
/* The winner's write queue shrank. */
void pl_tcp__link_drained(pl_tcp_link *t);
/* A conn's memory is going: drop it from the link and release the link's reference. */
void pl_tcp__link_conn_gone(pl_tcp_link *t, pl_tcp_conn *c);

/* The STUN client (tcp_stun.c). */
void pl_tcp__stun_init(pl_tcp_node *n);
void pl_tcp__stun_close(pl_tcp_node *n);
/* A node handle closed; the node's closed callback runs after the last one. */
void pl_tcp__node_handle_closed(uv_handle_t *h);

#endif
