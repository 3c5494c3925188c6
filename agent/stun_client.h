#ifndef PEERLINK_AGENT_STUN_CLIENT_H
#define PEERLINK_AGENT_STUN_CLIENT_H

/* STUN client: finds the agent's mapped (server-reflexive) address and the NAT's mapping
 * behaviour by asking every configured server in rounds. I/O-free (ngtcp2 shape): datagrams
 * and `now` (microseconds, monotonic) go in through pl_stun_client_recv; datagrams to send come
 * out of pl_stun_client_poll; the glue re-arms its timer from pl_stun_client_deadline and, when
 * it fires, calls poll until it returns 0. All datagrams use the agent's one UDP socket.
 *
 * A round is one Binding transaction per server, retransmitted as RFC 8489 6.2.1 says (RTO
 * doubling, Rc sends, then Rm x RTO for the last). A response counts only with the txid of the
 * transaction outstanding to the server address it came from. Rounds repeat every recheck_us
 * (counted from the start of the previous round, never overlapping it).
 *
 * Results (see docs/stun.md):
 *   mapped    — from the first server that answered; kept on that server while it answers, so
 *               an endpoint-dependent NAT does not make it flap between servers.
 *   behavior  — Peerlink__V1__NatBehavior values, from the answers of one round:
 *               OPEN when the answers equal a local address (pl_stun_client_set_local);
 *               ENDPOINT_INDEPENDENT when two or more servers report the same mapping,
 *               ENDPOINT_DEPENDENT when they differ; UDP_BLOCKED when a whole round went
 *               unanswered; UNKNOWN until then (and with one server that answered alone).
 *   changed   — set when either result changes. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PL_STUN_CLIENT_MAX_SERVERS 8
#define PL_STUN_CLIENT_MAX_LOCAL 16
#define PL_STUN_CLIENT_RTO_US 500000u /* RFC 8489 6.2.1 defaults */
#define PL_STUN_CLIENT_RC 7u
#define PL_STUN_CLIENT_RM 16u

typedef struct pl_stun_client pl_stun_client;

/* `servers`: IPv4 or IPv6 addresses; duplicates are ignored. recheck_us 0: one round only.
 * Returns 0, PL_ERR_INVALID (none, more than PL_STUN_CLIENT_MAX_SERVERS, bad family),
 * PL_ERR_NOMEM. */
int pl_stun_client_new(pl_stun_client **pc, const struct sockaddr_storage *servers, size_t nservers,
                       uint64_t recheck_us);

void pl_stun_client_del(pl_stun_client *c);

/* Retransmission timing (tests and the NAT lab shorten it). Before start only.
 * Returns 0, PL_ERR_INVALID (a zero), PL_ERR_STATE (started). */
int pl_stun_client_set_timing(pl_stun_client *c, uint64_t rto_us, unsigned rc, unsigned rm);

/* The socket's own address, for OPEN detection: a mapping equal to a local address means no
 * NAT. set_local replaces the list with `local` (NULL: empty); add_local adds one more (a
 * socket bound to a wildcard address should add each host candidate: a wildcard never
 * matches). Either may change the results. Returns 0, PL_ERR_INVALID (bad family),
 * PL_ERR_TOO_BIG (more than PL_STUN_CLIENT_MAX_LOCAL). */
int pl_stun_client_set_local(pl_stun_client *c, const struct sockaddr *local);
int pl_stun_client_add_local(pl_stun_client *c, const struct sockaddr *local);

/* Starts the first round at `now` (poll then has datagrams due). Again later: a new round
 * now, abandoning the current one (e.g. after a network change). */
void pl_stun_client_start(pl_stun_client *c, uint64_t now);

/* Runs timers due at `now`. Returns 1 with a datagram (`*plen` bytes for `*pdst`) to send,
 * 0 when nothing is due, PL_ERR_TOO_BIG (cap < PL_STUN_BUF_LEN would be safe; nothing is
 * lost, call again with a bigger buffer), PL_ERR_IO (getrandom failed). Call until it
 * returns 0. */
int pl_stun_client_poll(pl_stun_client *c, uint64_t now, uint8_t *buf, size_t cap, size_t *plen,
                        struct sockaddr_storage *pdst);

/* Feeds one datagram that arrived from `from`. Returns 0 (consumed: it answered one of our
 * transactions), PL_ERR_NOT_FOUND (not ours: not a response, unknown txid, or not from the
 * server the txid was sent to), PL_ERR_PARSE (not STUN, malformed, or a response we must
 * discard: success without a mapped address, unknown comprehension-required attribute),
 * PL_ERR_INVALID (NULL). */
int pl_stun_client_recv(pl_stun_client *c, const struct sockaddr *from, const uint8_t *data,
                        size_t len, uint64_t now);

/* When poll next has work; UINT64_MAX when nothing is scheduled. */
uint64_t pl_stun_client_deadline(const pl_stun_client *c);

/* Returns 0 with the mapped address, PL_ERR_NOT_FOUND while unknown. */
int pl_stun_client_mapped(const pl_stun_client *c, struct sockaddr_storage *mapped);

/* A Peerlink__V1__NatBehavior value (never UNSPECIFIED). */
int pl_stun_client_behavior(const pl_stun_client *c);

/* 1 once after the mapped address or the behaviour changed, else 0. */
int pl_stun_client_changed(pl_stun_client *c);

#endif
