#ifndef PEERLINK_TCP_PUNCH_H
#define PEERLINK_TCP_PUNCH_H

/* TCP hole punching for one pairing, I/O-free: when to connect to which of the peer's TCP
 * candidates, and what to report. At the offer's start time both sides connect from their
 * listening port to every candidate of the other (simultaneous open: each side's SYN opens its
 * own NAT for the other's); the kernel retransmits a SYN that went unanswered, and a connect
 * that failed outright (a reset, an ICMP error) is tried again after retry_us, until the
 * deadline. Whichever connection completes and authenticates first wins (tcp_session.h);
 * this module only keeps the schedule and the story for TcpPath.detail. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PL_TCP_PUNCH_MAX_REMOTE 8
#define PL_TCP_PUNCH_TIMEOUT_US 10000000u /* from the start time to "timed out" */
#define PL_TCP_PUNCH_RETRY_US 500000u     /* after a connect failed outright */

typedef enum {
  PL_TCP_PUNCH_TRYING,    /* before the deadline, no connection selected yet */
  PL_TCP_PUNCH_CONNECTED, /* a connection was selected */
  PL_TCP_PUNCH_FAILED,    /* the deadline passed; detail says why */
} pl_tcp_punch_state;

typedef struct pl_tcp_punch_target {
  struct sockaddr_storage addr;
  int busy;         /* a connect to it is under way */
  uint64_t next_us; /* when to connect again while not busy */
  unsigned attempts, refused;
  char last_error[64];
} pl_tcp_punch_target;

typedef struct pl_tcp_punch {
  pl_tcp_punch_target t[PL_TCP_PUNCH_MAX_REMOTE];
  size_t n;
  uint64_t start_us, deadline_us, retry_us;
  pl_tcp_punch_state state;
  unsigned connections;   /* TCP connections that came up (ours or accepted) */
  unsigned auth_failures; /* of those, how many failed the handshake's authentication */
  char auth_why[120];
  char detail[240];
} pl_tcp_punch;

/* Up to PL_TCP_PUNCH_MAX_REMOTE targets (the rest are ignored); timeout_us and retry_us 0 pick
 * the defaults. Returns 0 or PL_ERR_INVALID (no target, bad family). */
int pl_tcp_punch_init(pl_tcp_punch *p, const struct sockaddr_storage *remote, size_t n,
                      uint64_t start_us, uint64_t timeout_us, uint64_t retry_us);

/* Returns 1 with *pidx: connect to t[*pidx] now (it is busy until pl_tcp_punch_failed or the
 * end); 0 when nothing is due. Call until it returns 0. */
int pl_tcp_punch_poll(pl_tcp_punch *p, uint64_t now, size_t *pidx);
/* The connect to t[idx] failed (why: "connection refused"; refused: the far end answered with
 * a reset), or its connection ended before it was selected: try again after retry_us. */
void pl_tcp_punch_failed(pl_tcp_punch *p, size_t idx, const char *why, int refused, uint64_t now);
/* A TCP connection for this pairing came up (the handshake follows). */
void pl_tcp_punch_up(pl_tcp_punch *p);
/* A connection failed the handshake's authentication. */
void pl_tcp_punch_auth_failed(pl_tcp_punch *p, const char *why);
/* A connection was selected: no more connects. */
void pl_tcp_punch_won(pl_tcp_punch *p);

/* Returns 1 when the deadline passed at `now` without a selected connection (the state is now
 * FAILED and detail says why), else 0. */
int pl_tcp_punch_expire(pl_tcp_punch *p, uint64_t now);
/* When poll or expire next has work; UINT64_MAX once connected or failed. */
uint64_t pl_tcp_punch_deadline(const pl_tcp_punch *p);

#endif
