#ifndef PEERLINK_RENDEZVOUS_UDP_H
#define PEERLINK_RENDEZVOUS_UDP_H

/* The rendezvous's UDP sockets (libuv glue): the relay socket (--udp) answers STUN and carries
 * the relay; the alternate socket (--udp-alt) answers STUN only, so agents can see whether
 * their NAT mapping changes with the destination. Datagrams are demultiplexed by first byte
 * (agent/wire/frame.h); anything else is dropped and counted in rv->stats.
 *
 * The relay socket reads with recvmmsg (libuv's UV_UDP_RECVMMSG) and forwards what one batch
 * brought with one sendmmsg at the batch's end, pointing into the receive buffer: no copy and
 * no allocation per datagram. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "control/rendezvous/service.h"

/* A forwarded datagram waiting for the end of its recvmmsg batch (it points into rbuf). */
typedef struct pl_rdv_udp_out {
  struct sockaddr_storage to;
  const uint8_t *data;
  size_t len;
} pl_rdv_udp_out;

#define PL_RDV_UDP_SLOTS 16 /* recvmmsg slots of 64 KiB (libuv's size) */

typedef struct pl_rdv_udp {
  uv_udp_t sock, alt;
  int has_sock, has_alt;
  int open_handles;
  pl_rdv_service *rv;
  uint8_t *rbuf; /* the relay socket's receive buffer: a recvmmsg batch */
  size_t rbuflen;
  uint8_t *abuf; /* the STUN-only socket's: one datagram */
  uint8_t reply[1500];
  /* Forwarding in batches: what one recvmmsg brought goes out in one sendmmsg. */
  int in_batch;
  pl_rdv_udp_out out[PL_RDV_UDP_SLOTS];
  size_t n_out;
  uint64_t batches, batched; /* sendmmsg calls, datagrams they carried */
  void (*closed)(void *arg);
  void *closed_arg;
} pl_rdv_udp;

/* Binds `hostport` (may be NULL: no relay socket) and `alt_hostport` (may be NULL), starts
 * reading, and sets rv->udp_port / udp_alt_port / udp_send. On failure writes a message naming
 * the flag into err and closes what it opened (run the loop to finish closing). Returns 0,
 * PL_ERR_INVALID (bad address), PL_ERR_IO (cannot bind), PL_ERR_NOMEM. */
int pl_rdv_udp_start(pl_rdv_udp *u, uv_loop_t *loop, pl_rdv_service *rv, const char *hostport,
                     const char *alt_hostport, char *err, size_t errlen);

/* "IP:PORT" (IPv6 in brackets) of the relay socket (alt = 0) or the STUN-only one (alt = 1);
 * "" when that socket is off. */
void pl_rdv_udp_name(pl_rdv_udp *u, int alt, char *buf, size_t cap);

/* Stops reading and closes the sockets; `closed` (may be NULL) runs once both are closed.
 * rv->udp_send is cleared at once. */
void pl_rdv_udp_close(pl_rdv_udp *u, void (*closed)(void *arg), void *arg);

#endif
