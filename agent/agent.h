#ifndef PEERLINK_AGENT_AGENT_H
#define PEERLINK_AGENT_AGENT_H

/* One agent process and the glue that wires its parts together. The parts below know nothing
 * of pl_agent: the transport (the UDP socket), the links (one per peer), the Connect waiters,
 * the registration, the event fan-out. Only the files declared here see the whole agent:
 * control_api.c (the gRPC service), link_glue.c, registration_glue.c, stun_glue.c and main.c. */

#include <stdint.h>
#include <uv.h>

#include "agent/connect_wait.h"
#include "agent/events.h"
#include "agent/files/inbox.h"
#include "agent/identity/identity.h"
#include "agent/link.h"
#include "agent/quic/quic.h"
#include "agent/registration.h"
#include "agent/stun_client.h"
#include "agent/tcp/tcp.h"
#include "agent/transport.h"
#include "agent/version.h"
#include "control/common/agentlist.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"

/* All of an agent's state, owned by the loop thread. */
typedef struct pl_agent {
  uv_loop_t *loop;
  pl_identity ident;
  const char *name;
  uint64_t started_ms; /* uv_now at start */

  pl_rpc_server *server;
  pl_rpc_service service;
  char control_addr[80];

  pl_transport transport; /* the data socket: STUN, peerlink frames, relay frames (QUIC later) */
  char udp_addr[80];

  /* STUN: public endpoint and NAT behaviour (stun_glue.c) */
  /* Host part of the --rendezvous address dialled now (registration_glue.c): the relay and the
   * default STUN servers; it changes when the registration moves to another instance. */
  char rdv_host[64];
  struct sockaddr_storage stun_servers[4];
  size_t n_stun_servers;
  int stun_from_flags; /* --stun given: the rendezvous's responders are not used */
  uint64_t stun_recheck_us;
  pl_stun_client *stun;
  uv_timer_t stun_timer;
  uint64_t stun_dropped; /* STUN-looking datagrams the client did not take */
  struct sockaddr_storage public_ep;
  int has_public;
  Peerlink__V1__NatBehavior nat;

  /* Candidates we register: host, then server-reflexive (owned). */
  Peerlink__V1__Candidate **cands;
  size_t n_cands;

  /* TCP hole punching (tcp_glue.c): the punching port; not open with --tcp-port off. */
  pl_tcp_node tcp;
  /* The rendezvous's STUN-over-TCP port (Registered); 0: none, or not registered now. */
  uint32_t stun_tcp_port;

  struct pl_agent_bench *bench; /* benchmarks running here, both roles (bench_glue.c) */
  uint32_t bench_chunk;         /* --bench-chunk-size: the default datagram or chunk size */

  pl_links links; /* one per peer (link_glue.c wires them in) */
  /* The QUIC tunnels, one per link (quic_glue.c; NULL: none), and Send over QUIC_STREAM
   * (quic_chat.c). */
  struct pl_agent_quic *quic;
  struct pl_quic_chat *quic_chat;
  pl_files_inbox files;       /* files peers send us (api_files.c) */
  pl_connect_waiters waiters; /* Connect calls waiting for a path */
  uint64_t datagrams_sent;
  int closing; /* stopping: no more events */

  struct pl_reliable_wait *reliable_waits; /* reliable Sends waiting for their ACK (api_send.c) */

  pl_registration reg;
  pl_agentlist peers; /* the other agents registered with the rendezvous */
  pl_events events;
} pl_agent;

/* A Send that waits for the peer's acknowledgement keeps one of these (at the start of its own
 * state) as its call's data; Send's on_done calls cancel when the call ends first (cancelled,
 * deadline), and the waiter clears the call's data before it finishes the call itself. */
typedef struct pl_send_wait {
  void (*cancel)(struct pl_send_wait *w);
} pl_send_wait;

/* Fills the Agent service table (control_api.c). */
void pl_agent_service_init(pl_agent *a);

/* api_send.c: Send with DELIVERY_DATAGRAM / DELIVERY_RELIABLE (each ends the call on every
 * path; a reliable one when the peer acknowledged the message, or with UNAVAILABLE saying why it
 * will not: peer gone, path closed). done: a link's message `msg_id` is over (the links'
 * on_sent: err 0 acknowledged, else `why`). */
void pl_api_send_datagram(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req);
void pl_api_send_reliable(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req);
void pl_api_send_reliable_done(pl_agent *a, const pl_link *l, uint64_t msg_id, int err,
                               const char *why);

/* bench_glue.c: benchmarks with peers (the peer's side needs no RPC: it answers BENCH_CTRL on
 * the link). init registers the benchmark frames with the links (after pl_agent_links_init's
 * table is ready); close stops every run, telling each peer. init returns 0 or PL_ERR_NOMEM. */
int pl_agent_bench_init(pl_agent *a);
void pl_agent_bench_close(pl_agent *a);
/* Benchmark frames for no run here, or that did not open. */
uint64_t pl_agent_bench_dropped(const pl_agent *a);
/* api_bench.c: the Benchmark method. */
void pl_api_benchmark(pl_rpc_call *call, const ProtobufCMessage *msg, void *data);
void pl_api_benchmark_done(pl_rpc_call *call, int cancelled, void *data);

/* link_glue.c: the links' datagrams go to the transport (UDP) or the Register stream (relay
 * over TCP); their path changes and data become events and Connect answers. Call after the
 * transport is open; keepalive/dead/relay timing must be set in a->links already. */
void pl_agent_links_init(pl_agent *a);
/* Stopping: ends every link (each sends CLOSE, so its peer stops at once instead of timing the
 * path out) and every Connect waiter (UNAVAILABLE `why`), with no more events. Call while the
 * transport and the Register stream are still open. */
void pl_agent_links_close(pl_agent *a, const char *why);
/* Datagrams dropped before any protocol looked at them: noise, frames for no link, STUN for no
 * transaction (the links' own MAC and replay drops are in their punch stats). */
uint64_t pl_agent_dropped(const pl_agent *a);

/* Publishes a PathChanged event for l (its PeerPath, TCP state included) with `detail`. */
void pl_agent_publish_path(pl_agent *a, pl_link *l, const char *detail);

/* tcp_glue.c: TCP hole punching. open binds the punching port on the --udp address (port 0
 * picks one; -1 is --tcp-port off: nothing opens) and starts STUN over TCP when the servers
 * are known; returns 0 or PL_ERR_* (PL_ERR_IO: cannot bind). close ends every TCP link. */
int pl_agent_tcp_open(pl_agent *a, int port);
void pl_agent_tcp_close(pl_agent *a);
/* STUN over TCP to the first --stun server, else to the rendezvous's port once known. */
void pl_agent_tcp_stun(pl_agent *a);
/* An offer (after its UDP link was made): punch TCP to the peer's TCP candidates. */
void pl_agent_tcp_offer(pl_agent *a, const Peerlink__V1__Offer *offer);
/* A link's path changed; a closing link (no longer in the table) ends its TCP link. */
void pl_agent_tcp_link_changed(pl_agent *a, const pl_link *l, const char *why);
/* Appends the TCP candidates (host addresses of cands with the TCP port, the TCP mapping) to
 * the UDP ones in cands. Returns 0 or PL_ERR_NOMEM. */
int pl_agent_tcp_candidates(pl_agent *a, Peerlink__V1__Candidate ***cands, size_t *n);
/* PeerPath.tcp for l (owned by the agent, valid until the next call), NULL when TCP punching
 * was not attempted for it. */
Peerlink__V1__TcpPath *pl_agent_tcp_path(pl_agent *a, const pl_link *l);
/* The punching port's public mapping (STUN over TCP) in ep (its ip in `ip`); NULL while
 * unknown or with TCP off. */
Peerlink__V1__Endpoint *pl_agent_tcp_public(pl_agent *a, Peerlink__V1__Endpoint *ep, char ip[64]);
/* api_send_tcp.c: Send with DELIVERY_TCP (ends the call on every path). */
void pl_agent_send_tcp(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req);

/* quic_glue.c: one QUIC connection per link (agent/quic/quic.h), its packets through the link's
 * path in QUIC frames, its timer, QuicChanged events. The side with the smaller agent ID is the
 * client; it connects when the path comes up and again (with backoff) whenever the connection
 * ended while the link lives. pl_agent_links_init/close call init/close. */
typedef struct pl_agent_quic pl_agent_quic;
typedef struct pl_agent_quic_waiter pl_agent_quic_waiter;
/* A stream of a kind the peer opened on link l (see pl_quic_callbacks.stream_open). */
typedef int (*pl_agent_quic_open_fn)(void *arg, pl_link *l, pl_quic *q, int64_t sid,
                                     const pl_quic_stream_cb **pcb, void **psarg);
/* The link's connection is established (q, code PL_RPC_OK), or it cannot be (q NULL, a status
 * and why: UNAUTHENTICATED for a certificate refused either way, FAILED_PRECONDITION without a
 * path, DEADLINE_EXCEEDED, UNAVAILABLE when it closed or the link did). */
typedef void (*pl_agent_quic_ready_fn)(void *arg, pl_quic *q, pl_rpc_status code, const char *why);
/* Returns 0, PL_ERR_NOMEM, PL_ERR_CRYPTO (our identity does not make a TLS context). */
int pl_agent_quic_init(pl_agent *a);
/* Stopping: every connection says CONNECTION_CLOSE (while the paths still carry it) and ends;
 * waiters and streams hear of it. */
void pl_agent_quic_close(pl_agent *a, const char *why);
/* link_glue.c's on_path: the link's path changed, or it is closing. */
void pl_agent_quic_on_path(pl_agent *a, pl_link *l);
/* Sets path->quic = qs (filled; its detail in detail[cap]) once a connection was attempted. */
void pl_agent_quic_describe(pl_agent *a, const pl_link *l, Peerlink__V1__PeerPath *path,
                            Peerlink__V1__QuicState *qs, char *detail, size_t cap);
/* Streams of `kind` the peer opens go to open(arg, ...) (no handler: refused). */
void pl_agent_quic_set_handler(pl_agent *a, uint8_t kind, pl_agent_quic_open_fn open, void *arg);
/* The link's connection when established, else NULL. Valid until the loop runs again; a
 * stream's `closed` callback tells its user when the connection ends. */
pl_quic *pl_agent_quic_get(pl_agent *a, const pl_link *l);
/* Calls ready once the link's connection is established, or when it cannot be within
 * timeout_ms (the client connects now if it has no connection). ready may run before this
 * returns (*pw is NULL then); otherwise *pw can cancel the wait. Returns 0 or PL_ERR_NOMEM. */
int pl_agent_quic_wait(pl_agent *a, pl_link *l, uint64_t timeout_ms, pl_agent_quic_ready_fn ready,
                       void *arg, pl_agent_quic_waiter **pw);
/* Forgets a wait whose ready has not run (its owner is going away). */
void pl_agent_quic_wait_cancel(pl_agent *a, pl_agent_quic_waiter *w);

/* api_files.c: SendFile (one transfer per call over the peer's QUIC connection, agent/files)
 * and FileReceived events for the files peers send into `dir` (NULL: they are refused). init
 * after pl_agent_links_init (it takes the FILE streams); close after pl_agent_links_close. */
void pl_agent_files_init(pl_agent *a, const char *dir);
void pl_agent_files_close(pl_agent *a, const char *why);
void pl_api_send_file(pl_rpc_call *call, const ProtobufCMessage *msg, void *data);
void pl_api_send_file_done(pl_rpc_call *call, int cancelled, void *data);

/* quic_chat.c: Send with DELIVERY_QUIC_STREAM (length-prefixed messages on one MESSAGE stream
 * per direction; the call ends when the peer acknowledged the message) and MessageReceived for
 * what arrives. Waiting Sends use pl_send_wait. */
int pl_agent_quic_chat_init(pl_agent *a);
void pl_agent_quic_chat_close(pl_agent *a);
/* Ends the call on every path. */
void pl_api_send_quic(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req);

/* registration_glue.c: registers with the rendezvous instances set in a->reg
 * (pl_registration_set_targets; the next one after each failure) and turns what the stream
 * brings into peers, events, links and Connect answers; rdv_host follows the instance dialled.
 * Returns 0, PL_ERR_INVALID (no rendezvous set) or what pl_registration_start returns. */
int pl_agent_registration_start(pl_agent *a, const char *token);

/* stun_glue.c: the STUN client's timer and transport receiver. Init once after the transport is
 * open; start when servers are known (flags, or the rendezvous's ports). */
void pl_agent_stun_init(pl_agent *a);
int pl_agent_stun_start(pl_agent *a);
void pl_agent_stun_close(pl_agent *a);
/* Publishes the current public endpoint and NAT behaviour (to one stream when `only`). */
void pl_agent_publish_nat(pl_agent *a, pl_rpc_call *only);
/* Rebuilds a->cands from the host addresses and the STUN mapping, and tells the registration
 * and the links. Returns 0 or PL_ERR_*. */
int pl_agent_refresh_candidates(pl_agent *a);

#endif
