#ifndef PEERLINK_AGENT_CONNECT_WAIT_H
#define PEERLINK_AGENT_CONNECT_WAIT_H

/* Connect calls that wait for a path: each is answered with the path when its link's path comes
 * up, or ended with DEADLINE_EXCEEDED (saying what was tried), or with the error that made the
 * wait pointless (the pair request failed, the agent is stopping). Every waiter ends its call
 * exactly once. */

#include <stdint.h>
#include <uv.h>

#include "agent/link.h"
#include "control/rpc/rpc.h"

typedef struct pl_connect_waiter pl_connect_waiter;

typedef struct pl_connect_waiters {
  uv_loop_t *loop;
  const pl_links *links;
  pl_connect_waiter *head;
} pl_connect_waiters;

void pl_connect_waiters_init(pl_connect_waiters *ws, uv_loop_t *loop, const pl_links *links);

/* Waits up to timeout_ms for a path to peer_id, or (explicit candidates) to the link with
 * pairing_id; answers at once if it is up already. The Connect method's on_done must call
 * pl_connect_waiter_cancelled. Returns 0, or PL_ERR_NOMEM with nothing set up (the caller
 * still owns the call and must finish it). */
int pl_connect_wait(pl_connect_waiters *ws, pl_rpc_call *call, const char *peer_id,
                    const char *pairing_id, uint64_t timeout_ms);

/* Answers a Connect call with the link's path (NULL: no link yet, path NONE to peer_id). A
 * reply that cannot be sent still ends the call (RESOURCE_EXHAUSTED). */
void pl_connect_reply(pl_rpc_call *call, const pl_link *l, const char *peer_id);

/* A link's path may have come up: answers the waiters it satisfies. */
void pl_connect_resolve(pl_connect_waiters *ws, const pl_link *l);

/* Ends the waiters for peer_id (NULL: all) with `code` and `msg`. */
void pl_connect_fail(pl_connect_waiters *ws, const char *peer_id, pl_rpc_status code,
                     const char *msg);

/* From the Connect call's on_done: forgets the call's waiter, if it has one. */
void pl_connect_waiter_cancelled(pl_rpc_call *call);

#endif
