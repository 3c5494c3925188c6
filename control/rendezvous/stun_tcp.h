#ifndef PEERLINK_RENDEZVOUS_STUN_TCP_H
#define PEERLINK_RENDEZVOUS_STUN_TCP_H

/* The rendezvous's STUN responder over TCP (RFC 8489 6.2.2: messages back to back on the
 * stream), for TCP hole punching: an agent learns the public mapping of its punching port by
 * asking from that port. Answers every Binding request on a connection with the address the
 * connection comes from (pl_stun_respond); keeps connections open while they are used (a NAT
 * keeps a mapping while a connection uses it), ends one idle for PL_RDV_STUN_TCP_IDLE_MS, and
 * resets one that sends anything that is not a Binding request. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define PL_RDV_STUN_TCP_IDLE_MS 180000 /* three of the agents' default re-checks */
#define PL_RDV_STUN_TCP_MAX_CONNS 4096

typedef struct pl_rdv_stun_tcp_conn pl_rdv_stun_tcp_conn;

typedef struct pl_rdv_stun_tcp {
  uv_loop_t *loop;
  uv_tcp_t listener;
  int open;
  struct sockaddr_storage bound;
  pl_rdv_stun_tcp_conn *conns;
  size_t n_conns;
  uint64_t answered, refused; /* requests answered; connections reset or turned away */
  int handles;
  void (*closed)(void *arg);
  void *closed_arg;
} pl_rdv_stun_tcp;

/* Listens on `addr` (port 0 picks one). Returns 0, PL_ERR_INVALID (family), PL_ERR_IO (cannot
 * bind or listen: nothing is left open, the struct may be started again at once). */
int pl_rdv_stun_tcp_start(pl_rdv_stun_tcp *s, uv_loop_t *loop, const struct sockaddr *addr);
/* The bound port; 0 when not listening. */
uint32_t pl_rdv_stun_tcp_port(const pl_rdv_stun_tcp *s);
/* "IP:PORT" of the listener, "" when not listening. */
void pl_rdv_stun_tcp_name(const pl_rdv_stun_tcp *s, char *buf, size_t cap);
/* Closes the listener and every connection; closed (may be NULL) runs once all are closed. */
void pl_rdv_stun_tcp_close(pl_rdv_stun_tcp *s, void (*closed)(void *arg), void *arg);

#endif
