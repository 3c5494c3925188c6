#ifndef PEERLINK_TCP_TCP_H
#define PEERLINK_TCP_TCP_H

/* The agent's TCP side (libuv glue around tcp_punch.h and tcp_session.h): one listening port,
 * its public mapping learned by STUN over TCP from that same port, and per pairing a punched,
 * authenticated TCP connection. Knows nothing of the agent, gRPC or events: the owner fills
 * the configuration and the observer, and maps links to its peers by pairing ID.
 *
 * Every socket of a node (the listener, the STUN connection, each connect) is bound to the same
 * address and port with SO_REUSEADDR and SO_REUSEPORT set before bind, so the connects leave
 * from the port whose mapping STUN measured and peers were told about. The STUN connection is
 * kept open (a Binding request on it every stun_recheck_us): while a NAT has a connection on
 * the mapping it keeps the mapping.
 *
 * For the benchmark (and anything else that streams): pl_tcp_link_bulk writes BULK records
 * with back-pressure, node->bulk receives them, pl_tcp_link_counters counts both ways. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "agent/tcp/tcp_punch.h"
#include "agent/tcp/tcp_session.h"

typedef struct pl_tcp_node pl_tcp_node;
typedef struct pl_tcp_link pl_tcp_link;
typedef struct pl_tcp_conn pl_tcp_conn; /* one socket: tcp_int.h */

/* Write-queue marks (bytes accepted and not yet taken by the kernel): pl_tcp_link_bulk refuses
 * at the high mark; on_writable runs when a refused writer may go on (under the low mark). */
#define PL_TCP_QUEUE_HIGH (4u << 20)
#define PL_TCP_QUEUE_LOW (1u << 20)
/* Messages (pl_tcp_link_send) refuse beyond this, whatever their size. */
#define PL_TCP_QUEUE_MAX (64u << 20)

typedef enum {
  PL_TCP_LINK_TRYING,    /* punching */
  PL_TCP_LINK_CONNECTED, /* a connection was selected: send and receive */
  PL_TCP_LINK_FAILED,    /* punching gave up, or there was nothing to punch to */
  PL_TCP_LINK_LOST,      /* the selected connection ended */
} pl_tcp_link_state;

typedef struct pl_tcp_counters {
  uint64_t bytes_sent, bytes_received; /* payload bytes of MSG and BULK records */
  uint64_t messages_sent, messages_received, messages_acked;
  uint64_t bulk_sent, bulk_received; /* BULK records (received: whole records) */
  size_t queued;                     /* bytes accepted and not yet written to the kernel */
} pl_tcp_counters;

/* A message waiting for the peer's acknowledgement. The caller owns the memory and fills done
 * and arg; done runs once: rv 0 (acknowledged), PL_ERR_CLOSED (the connection ended or the link
 * closed first; why says how). After done, or pl_tcp_send_cancel, the request is free. */
typedef struct pl_tcp_send_req pl_tcp_send_req;
struct pl_tcp_send_req {
  void (*done)(pl_tcp_send_req *req, int rv, const char *why);
  void *arg;
  /* the link's */
  uint64_t seq;
  pl_tcp_link *link;
  pl_tcp_send_req *next;
};

typedef struct pl_tcp_observer {
  /* A link's state or detail changed (connected, failed, lost). */
  void (*on_link)(void *arg, pl_tcp_link *t);
  /* A MSG from the peer (valid during the call; it is acknowledged once this returns). */
  void (*on_message)(void *arg, pl_tcp_link *t, const uint8_t *data, size_t len);
  /* STUN over TCP learned a new public mapping (node->public_ep). */
  void (*on_public)(void *arg);
  void *arg;
} pl_tcp_observer;

typedef struct pl_tcp_bulk_handler {
  /* A slice of a BULK record: `len` bytes at `offset` of `total` (the first slice of each
   * record holds at least PL_TCP_BULK_HEAD bytes or all of it). Optional. */
  void (*on_bulk)(void *arg, pl_tcp_link *t, const uint8_t *data, size_t len, size_t offset,
                  size_t total);
  /* pl_tcp_link_bulk refused with PL_ERR_FULL before, and the queue is now under the low
   * mark. Optional. */
  void (*on_writable)(void *arg, pl_tcp_link *t);
  void *arg;
} pl_tcp_bulk_handler;

typedef struct pl_tcp_stun {
  struct sockaddr_storage server;
  int has_server;
  struct pl_tcp_stun_conn *conn; /* to the server (connecting or open), NULL when none */
  uv_timer_t timer;              /* the answer's deadline, the next check, or the retry */
  uint8_t txid[12];
  int connecting; /* the connect is under way */
  int waiting;    /* a request is outstanding */
  uint8_t buf[512];
  size_t len;
  unsigned failures; /* in a row, for the retry backoff */
  char last_error[80];
} pl_tcp_stun;

struct pl_tcp_node {
  /* configuration, before pl_tcp_node_open */
  uv_loop_t *loop;
  uint8_t self_id[PL_TCP_ID_LEN];
  uint64_t keepalive_us, dead_after_us; /* 0: 2 s and 8 s */
  uint64_t punch_timeout_us;            /* 0: PL_TCP_PUNCH_TIMEOUT_US */
  uint64_t stun_recheck_us;             /* 0: 60 s */
  pl_tcp_observer obs;
  pl_tcp_bulk_handler bulk; /* may be filled at any time */

  /* state */
  int open;
  uv_tcp_t listener;
  struct sockaddr_storage bound; /* with the port the kernel picked */
  struct sockaddr_storage public_ep;
  int has_public;
  pl_tcp_stun stun;
  pl_tcp_link *links;
  pl_tcp_conn *unbound; /* accepted, HELLO not read yet */
  uint8_t *rbuf;        /* one read buffer: read callbacks run one at a time */
  size_t rbuflen;
  uint64_t refused; /* accepted connections that named no pairing of ours, or failed auth */
  int handles;      /* node-level handles still open */
  void (*closed)(void *arg);
  void *closed_arg;
};

typedef struct pl_tcp_link_config {
  uint8_t pairing[PL_TCP_PAIRING_LEN];
  uint8_t peer_id[PL_TCP_ID_LEN];
  const uint8_t *secret; /* the pairing secret (the frame key is derived from it) */
  size_t secretlen;
  int controlling;
  uint64_t start_us; /* monotonic (pl_clock_now_us) */
  struct sockaddr_storage remote[PL_TCP_PUNCH_MAX_REMOTE];
  size_t n_remote;
  void *data; /* the link's data from the start (the observer may run inside pl_tcp_link_new) */
} pl_tcp_link_config;

struct pl_tcp_link {
  pl_tcp_node *node;
  uint8_t pairing[PL_TCP_PAIRING_LEN];
  char pairing_hex[2 * PL_TCP_PAIRING_LEN + 1];
  char peer_hex[2 * PL_TCP_ID_LEN + 1];
  pl_tcp_session_config cfg;
  pl_tcp_punch punch;
  int punching; /* punch is initialised (there were candidates) */
  uv_timer_t timer;
  pl_tcp_conn *conns; /* connecting, handshaking, and the winner */
  pl_tcp_conn *winner;
  pl_tcp_send_req *pending; /* in seq order */
  pl_tcp_counters counters;
  pl_tcp_link_state state;
  char detail[240];
  struct sockaddr_storage local, remote; /* the winner's */
  uint64_t created_us, connect_us;       /* connect_us: start to selected; 0 until then */
  int want_writable;
  int closing;
  int refs;   /* the timer and each conn: freed when the last is gone */
  void *data; /* the owner's */
  pl_tcp_link *next;
};

/* Binds `addr` (port 0 picks one) with SO_REUSEADDR|SO_REUSEPORT and listens. Returns 0,
 * PL_ERR_INVALID (family), PL_ERR_IO (cannot bind or listen), PL_ERR_NOMEM. On error nothing is
 * left open. */
int pl_tcp_node_open(pl_tcp_node *n, const struct sockaddr *addr);
/* The bound port (0 when not open). */
int pl_tcp_node_port(const pl_tcp_node *n);
/* STUN over TCP to `server` from the node's port (NULL: stop). A different server starts over;
 * the same one keeps the running connection. */
void pl_tcp_node_set_stun(pl_tcp_node *n, const struct sockaddr *server);
/* Closes every link (CLOSE to their peers), the STUN connection and the listener, then calls
 * closed(arg) (may be NULL) from the loop. */
void pl_tcp_node_close(pl_tcp_node *n, void (*closed)(void *arg), void *arg);

/* Starts punching for a pairing (replacing a link with the same pairing ID). With no remote
 * candidate the link is FAILED at once ("no TCP candidates from the peer"). Returns 0,
 * PL_ERR_STATE (node not open), PL_ERR_INVALID (secret), PL_ERR_CRYPTO, PL_ERR_NOMEM. */
int pl_tcp_link_new(pl_tcp_node *n, const pl_tcp_link_config *cfg, pl_tcp_link **pt);
pl_tcp_link *pl_tcp_find(const pl_tcp_node *n, const uint8_t pairing[PL_TCP_PAIRING_LEN]);
/* Ends the link: CLOSE to the peer, pending sends fail with `why`; memory is freed once its
 * handles have closed. The observer is not told. */
void pl_tcp_link_close(pl_tcp_link *t, const char *why);

/* Sends one message; req->done runs when the peer has delivered it or the connection ended.
 * Returns 0 (req is pending), PL_ERR_STATE (not connected), PL_ERR_TOO_BIG (over
 * PL_TCP_MAX_RECORD), PL_ERR_FULL (PL_TCP_QUEUE_MAX queued), PL_ERR_IO (the write failed:
 * the connection is lost). On error done does not run. */
int pl_tcp_link_send(pl_tcp_link *t, const uint8_t *data, size_t len, pl_tcp_send_req *req);
/* The caller no longer wants req's answer (e.g. its call was cancelled); done will not run. */
void pl_tcp_send_cancel(pl_tcp_send_req *req);

/* One BULK record. Returns 0, PL_ERR_FULL (PL_TCP_QUEUE_HIGH queued: nothing taken; wait for
 * on_writable), PL_ERR_STATE (not connected), PL_ERR_INVALID (empty), PL_ERR_TOO_BIG, PL_ERR_IO
 * (the connection is lost). */
int pl_tcp_link_bulk(pl_tcp_link *t, const uint8_t *data, size_t len);
void pl_tcp_link_counters(const pl_tcp_link *t, pl_tcp_counters *out);

/* "trying", "connected", "failed", "lost". */
const char *pl_tcp_link_state_name(pl_tcp_link_state st);

#endif
