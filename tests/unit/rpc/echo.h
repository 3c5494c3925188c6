#ifndef PEERLINK_TESTS_RPC_ECHO_H
#define PEERLINK_TESTS_RPC_ECHO_H

/* "peerlink.test.Echo": a test service over the real peerlink messages, one method per kind.
 *   Echo   unary      GetStatusResponse -> the same name, uptime_seconds + 1
 *   Count  server     GetStatusResponse{uptime_seconds: n} -> n Events, unix_ms 0..n-1, queued in
 *                     one go, then OK "counted <k>": k = n, or fewer when the send queue refused
 *                     one (PL_ERR_FULL). name "limit=L" sets the call's send-queue limit to L.
 *   Sum    client     Events -> one Event whose unix_ms is the sum, on half-close
 *   Chat   bidi       each Event -> Event{unix_ms * 2}; OK on half-close
 *   Hang   server     one Event{unix_ms 0}, then nothing until the test finishes it
 *   Flood  server     nothing: the test sends (GetStatusResponse) and finishes, from on_flood */

#include "control/rpc/rpc.h"

#define ECHO_MAX_HANGING 64

typedef struct echo_state {
  int requests; /* on_request calls */
  int half_closes;
  int done;           /* on_done calls */
  int done_cancelled; /* ...with cancelled set */
  int live;           /* calls that had on_request and no on_done yet */
  pl_rpc_call *hanging[ECHO_MAX_HANGING];
  int n_hanging;
  int count_full; /* Count calls whose send queue said PL_ERR_FULL */
  /* Test hooks: a Hang call has sent its first message; any call's on_done ran. */
  void (*on_hang)(struct echo_state *st, pl_rpc_call *call, void *arg);
  void (*on_flood)(struct echo_state *st, pl_rpc_call *call, void *arg);
  void (*on_done)(struct echo_state *st, void *arg);
  void *hook_arg;
} echo_state;

void echo_state_init(echo_state *st);
const pl_rpc_service *echo_service(echo_state *st);
/* Checks that every call that reached a handler also got on_done. */
void echo_state_check_empty(const echo_state *st);

#endif
