#ifndef PEERLINK_AGENT_TRANSPORT_H
#define PEERLINK_AGENT_TRANSPORT_H

/* The agent's one UDP socket as a transport. It owns the uv_udp_t, classifies each datagram by
 * its first byte (pl_demux, agent/wire/frame.h) and hands it to the receiver registered for
 * that kind: STUN, peerlink frames, later QUIC. It counts what no receiver takes, and knows
 * nothing of the protocols above it or of the agent.
 *
 * Sends are immediate and never queue (uv_udp_try_send): a full socket buffer or a local
 * firewall fails the send at once and the caller learns of it; every protocol on this socket
 * retransmits what matters. Only a closed transport refuses to send, so a stopping agent can
 * still say goodbye to its peers before it closes the socket.
 *
 * Where the data plane plugs in: QUIC registers PL_DEMUX_QUIC beside the others; a receiver's
 * optional `flush` runs once per loop iteration after that iteration's reads delivered it
 * something (ngtcp2 writes after reading what arrived), so batching the reads (recvmmsg) or
 * adding a batched send beside pl_transport_send changes nothing for the receivers. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "agent/wire/frame.h"

#define PL_TRANSPORT_KINDS (PL_DEMUX_QUIC + 1)

/* One datagram for a receiver; `data` is valid only during the call. */
typedef void (*pl_transport_recv_fn)(void *arg, const struct sockaddr *from, const uint8_t *data,
                                     size_t len);
/* The reads of this loop iteration are done and at least one went to this receiver. */
typedef void (*pl_transport_flush_fn)(void *arg);

typedef struct pl_transport_stats {
  uint64_t received[PL_TRANSPORT_KINDS]; /* by pl_demux kind, taken or not */
  uint64_t unclaimed;                    /* no receiver for its kind (PL_DEMUX_DROP: noise) */
  uint64_t sent;
  uint64_t send_failed;
} pl_transport_stats;

typedef struct pl_transport_receiver {
  pl_transport_recv_fn recv;
  pl_transport_flush_fn flush;
  void *arg;
  int due; /* received something since the last flush */
} pl_transport_receiver;

/* Embed it; the caller owns the memory until pl_transport_close's callback has run. */
typedef struct pl_transport {
  uv_udp_t udp;
  uv_check_t check;
  struct sockaddr_storage local; /* the bound address, with the port the kernel picked */
  pl_transport_receiver receivers[PL_TRANSPORT_KINDS];
  pl_transport_stats stats;
  int last_error; /* the libuv error of the last failed send; 0 before any */
  int open;
  int handles; /* handles still to be closed */
  void (*closed)(void *arg);
  void *closed_arg;
} pl_transport;

/* Binds `addr` and starts receiving. Returns 0, PL_ERR_INVALID (not AF_INET/AF_INET6),
 * PL_ERR_IO (cannot bind: the address is taken or not ours). On error nothing is left open. */
int pl_transport_open(pl_transport *t, uv_loop_t *loop, const struct sockaddr *addr);

/* Routes datagrams of `kind` to recv (NULL: nobody; they are counted as unclaimed). `flush` may
 * be NULL. Replaces the previous receiver of that kind. */
void pl_transport_set_receiver(pl_transport *t, pl_demux_kind kind, pl_transport_recv_fn recv,
                               pl_transport_flush_fn flush, void *arg);

/* Sends one datagram now. Returns 0, PL_ERR_IO (the kernel refused it: full buffer, firewall,
 * no route; pl_transport_last_error says which), PL_ERR_CLOSED (pl_transport_close was called),
 * PL_ERR_TOO_BIG (over 65507 bytes). */
int pl_transport_send(pl_transport *t, const struct sockaddr *dst, const uint8_t *data, size_t len);

/* Why the last send failed, e.g. "operation not permitted"; "" before any failure. */
const char *pl_transport_last_error(const pl_transport *t);

/* The bound address as text ("127.0.0.1:40000") into buf. */
void pl_transport_local_text(const pl_transport *t, char *buf, size_t cap);

/* Stops receiving and sending, closes the socket, then calls closed(arg) (may be NULL) from the
 * loop. Safe to call more than once; the callback of the first call is the one that runs. */
void pl_transport_close(pl_transport *t, void (*closed)(void *arg), void *arg);

#endif
