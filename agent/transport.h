#ifndef PEERLINK_AGENT_TRANSPORT_H
#define PEERLINK_AGENT_TRANSPORT_H

/* The agent's one UDP socket as a transport. It owns the socket, classifies each datagram by
 * its first byte (pl_demux, agent/wire/frame.h) and hands it to the receiver registered for
 * that kind: STUN, peerlink frames, QUIC. It counts what no receiver takes, and knows nothing
 * of the protocols above it or of the agent.
 *
 * The hot path (docs/performance.md): the socket is the transport's own, watched with a
 * uv_poll_t, so it can read in batches with recvmmsg and UDP GRO (one slot can hold many
 * datagrams of one sender, split here before delivery) and send in batches with UDP GSO or
 * sendmmsg. Reads stop after PL_TRANSPORT_READS_PER_WAKEUP system calls per loop wake-up:
 * what is left waits for the next iteration (the poll is level-triggered), so timers and gRPC
 * calls (GetStatus, WatchEvents) keep their turn during a flood. Nothing is allocated per
 * datagram: the receive slots are allocated once at open.
 *
 * Sends are immediate and never queue: a full socket buffer or a local firewall fails the send
 * at once and the caller learns of it; every protocol on this socket retransmits what matters,
 * and a bulk sender waits for room with pl_transport_notify_writable. Only a closed transport
 * refuses to send, so a stopping agent can still say goodbye to its peers before it closes
 * the socket.
 *
 * A receiver's optional `flush` runs once per loop iteration after that iteration's reads
 * delivered it something (ngtcp2 writes after reading what arrived). */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "agent/wire/frame.h"

#define PL_TRANSPORT_KINDS (PL_DEMUX_QUIC + 1)
#define PL_TRANSPORT_SLOTS 16           /* recvmmsg slots per system call */
#define PL_TRANSPORT_SLOT_LEN 65536     /* one GRO-coalesced read fits a slot */
#define PL_TRANSPORT_READS_PER_WAKEUP 4 /* recvmmsg calls before yielding to the loop */
#define PL_TRANSPORT_BATCH_MAX 64       /* datagrams per batched send system call */
#define PL_TRANSPORT_WRITABLE_WAITERS 4

/* One datagram for a receiver; `data` is valid only during the call. */
typedef void (*pl_transport_recv_fn)(void *arg, const struct sockaddr *from, const uint8_t *data,
                                     size_t len);
/* The reads of this loop iteration are done and at least one went to this receiver. */
typedef void (*pl_transport_flush_fn)(void *arg);
/* The socket has room again (see pl_transport_notify_writable). */
typedef void (*pl_transport_writable_fn)(void *arg);

typedef struct pl_transport_stats {
  uint64_t received[PL_TRANSPORT_KINDS]; /* by pl_demux kind, taken or not */
  uint64_t unclaimed;                    /* no receiver for its kind (PL_DEMUX_DROP: noise) */
  uint64_t sent;                         /* datagrams, batched ones included */
  uint64_t send_failed;
  uint64_t read_calls;   /* recvmmsg system calls that returned datagrams */
  uint64_t gro_reads;    /* slots that held more than one datagram (GRO) */
  uint64_t capped;       /* wake-ups that stopped at PL_TRANSPORT_READS_PER_WAKEUP */
  uint64_t batch_calls;  /* batched send system calls (GSO or sendmmsg) */
  uint64_t send_blocked; /* batched sends that stopped at a full socket buffer */
} pl_transport_stats;

typedef struct pl_transport_receiver {
  pl_transport_recv_fn recv;
  pl_transport_flush_fn flush;
  void *arg;
  int due; /* received something since the last flush */
} pl_transport_receiver;

typedef struct pl_transport_waiter {
  pl_transport_writable_fn fn;
  void *arg;
} pl_transport_waiter;

/* Embed it; the caller owns the memory until pl_transport_close's callback has run. */
typedef struct pl_transport {
  uv_poll_t poll;
  uv_check_t check;
  int fd;
  struct sockaddr_storage local; /* the bound address, with the port the kernel picked */
  pl_transport_receiver receivers[PL_TRANSPORT_KINDS];
  pl_transport_stats stats;
  int last_error; /* the (libuv-style, negative errno) error of the last failed send; 0 before */
  int open;
  int gso; /* UDP_SEGMENT is usable (cleared when the kernel or the route refuses it) */
  int gro; /* UDP_GRO is on: a slot may hold several datagrams */
  int poll_events;
  pl_transport_waiter writable[PL_TRANSPORT_WRITABLE_WAITERS];
  uint8_t *slots; /* PL_TRANSPORT_SLOTS * PL_TRANSPORT_SLOT_LEN, allocated at open */
  int handles;    /* handles still to be closed */
  void (*closed)(void *arg);
  void *closed_arg;
} pl_transport;

/* Binds `addr` and starts receiving. Returns 0, PL_ERR_INVALID (not AF_INET/AF_INET6),
 * PL_ERR_NOMEM, PL_ERR_IO (cannot bind: the address is taken or not ours). On error nothing is
 * left open and nothing needs closing. */
int pl_transport_open(pl_transport *t, uv_loop_t *loop, const struct sockaddr *addr);

/* Routes datagrams of `kind` to recv (NULL: nobody; they are counted as unclaimed). `flush` may
 * be NULL. Replaces the previous receiver of that kind. */
void pl_transport_set_receiver(pl_transport *t, pl_demux_kind kind, pl_transport_recv_fn recv,
                               pl_transport_flush_fn flush, void *arg);

/* Sends one datagram now. Returns 0, PL_ERR_IO (the kernel refused it: full buffer, firewall,
 * no route; pl_transport_last_error says which), PL_ERR_CLOSED (pl_transport_close was called),
 * PL_ERR_TOO_BIG (over 65507 bytes). */
int pl_transport_send(pl_transport *t, const struct sockaddr *dst, const uint8_t *data, size_t len);

/* Sends `len` bytes as consecutive datagrams of `seg` bytes each (the last may be shorter) to
 * one destination, in as few system calls as the kernel allows: UDP GSO (up to 64 datagrams or
 * 64000 bytes a call), else sendmmsg (64 a call). *psent receives the bytes that left, always a
 * whole number of datagrams. Returns 0 when all of them left, PL_ERR_FULL when the socket buffer
 * filled first (the rest did not leave: wait with pl_transport_notify_writable), PL_ERR_IO (the
 * kernel refused them; pl_transport_last_error says why), PL_ERR_CLOSED, PL_ERR_INVALID (seg 0
 * or over 65507). */
int pl_transport_send_batch(pl_transport *t, const struct sockaddr *dst, const uint8_t *data,
                            size_t len, size_t seg, size_t *psent);

/* Calls fn(arg) once, from the loop, when the socket can take more datagrams. A waiter already
 * registered with the same fn and arg is not added twice. Returns 0, PL_ERR_FULL (all
 * PL_TRANSPORT_WRITABLE_WAITERS slots taken), PL_ERR_CLOSED. */
int pl_transport_notify_writable(pl_transport *t, pl_transport_writable_fn fn, void *arg);
/* Forgets a waiter (its owner is going away). */
void pl_transport_cancel_writable(pl_transport *t, pl_transport_writable_fn fn, void *arg);

/* Why the last send failed, e.g. "operation not permitted"; "" before any failure. */
const char *pl_transport_last_error(const pl_transport *t);

/* The bound address as text ("127.0.0.1:40000") into buf. */
void pl_transport_local_text(const pl_transport *t, char *buf, size_t cap);

/* Stops receiving and sending, closes the socket, then calls closed(arg) (may be NULL) from the
 * loop. Safe to call more than once; the callback of the first call is the one that runs. */
void pl_transport_close(pl_transport *t, void (*closed)(void *arg), void *arg);

#endif
