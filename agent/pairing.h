#ifndef PEERLINK_AGENT_PAIRING_H
#define PEERLINK_AGENT_PAIRING_H

/* The agent's pairings: one per peer, each driving a punch state machine (agent/punch/punch.h) from
 * a libuv timer, sending its datagrams over the UDP socket or the Register stream, and turning
 * path changes and DATA frames into events. Connect calls that wait are resolved here. */

#include <stdint.h>
#include <uv.h>

#include "agent/punch/punch.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/rendezvous.pb-c.h"

struct pl_agent;

typedef struct pl_pairing {
  struct pl_agent *agent;
  char pairing_id[2 * PL_FRAME_PAIRING_LEN + 1];
  uint8_t pairing[PL_FRAME_PAIRING_LEN];
  char peer_id[2 * PL_FRAME_ID_LEN + 1]; /* "" until learned (explicit candidates) */
  char peer_name[65];
  pl_punch *punch;
  pl_punch_path path;
  uv_timer_t timer;
  uint64_t created_us; /* when the offer (or explicit Connect) arrived */
  uint64_t connect_us; /* from created_us to the first working path; 0 until then */
  struct pl_pairing *next;
} pl_pairing;

/* A Connect call waiting for a path. */
typedef struct pl_connect_waiter {
  struct pl_agent *agent;
  pl_rpc_call *call;
  char peer_id[2 * PL_FRAME_ID_LEN + 1];
  char pairing_id[2 * PL_FRAME_PAIRING_LEN + 1]; /* explicit-candidate connects */
  uv_timer_t deadline;
  int done;
  struct pl_connect_waiter *next;
} pl_connect_waiter;

/* Creates the pairing an offer describes (replacing an older one with the same peer).
 * Returns 0, PL_ERR_INVALID (bad offer), PL_ERR_NOMEM. */
int pl_pairing_from_offer(struct pl_agent *a, const Peerlink__V1__Offer *offer);

/* Creates a pairing from explicit candidates (no rendezvous). *ppairing receives it.
 * Returns 0, PL_ERR_INVALID, PL_ERR_NOMEM. */
int pl_pairing_from_candidates(struct pl_agent *a, Peerlink__V1__Candidate *const *cands, size_t n,
                               const uint8_t *secret, size_t secretlen,
                               const char *peer_fingerprint, pl_pairing **ppairing);

pl_pairing *pl_pairing_find_peer(struct pl_agent *a, const char *peer_id);
pl_pairing *pl_pairing_find_id(struct pl_agent *a, const uint8_t pairing[PL_FRAME_PAIRING_LEN]);
/* Stops and frees a pairing (publishes a path NONE event). */
void pl_pairing_close(pl_pairing *p, const char *why);
void pl_pairing_close_all(struct pl_agent *a, const char *why);

/* A datagram (or a frame relayed over the stream, via_tcp) for pairing `p`. */
void pl_pairing_recv(pl_pairing *p, const struct sockaddr *from, int via_tcp, const uint8_t *data,
                     size_t len);

/* Sends `payload` as a DATA frame on the pairing's path. Returns 0, PL_ERR_STATE (no path),
 * PL_ERR_TOO_BIG, PL_ERR_IO. */
int pl_pairing_send(pl_pairing *p, const uint8_t *payload, size_t len);

/* Fills a PeerPath for status/events; strings point into `p` and `ipbuf` (128 bytes). */
void pl_pairing_describe_path(pl_pairing *p, Peerlink__V1__PeerPath *out,
                              Peerlink__V1__Endpoint *remote, Peerlink__V1__Endpoint *local,
                              char *ipbuf, size_t ipbuflen);

/* Connect waiters: resolved on path up, deadline, pair error or shutdown. */
int pl_connect_wait(struct pl_agent *a, pl_rpc_call *call, const char *peer_id,
                    const char *pairing_id, uint64_t timeout_ms);
void pl_connect_waiter_cancelled(pl_rpc_call *call); /* from the Connect call's on_done */
void pl_connect_fail_peer(struct pl_agent *a, const char *peer_id, pl_rpc_status code,
                          const char *msg);

#endif
