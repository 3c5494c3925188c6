#ifndef PEERLINK_TESTS_FAKE_RPC_H
#define PEERLINK_TESTS_FAKE_RPC_H

/* A stand-in for the call half of control/rpc/rpc.h, so handlers (health, reflection) can be
 * driven directly: no gRPC, no sockets, no loop. The test plays the library: it calls a
 * method's on_request / on_half_close / on_done itself and inspects what was sent. */

#include <stddef.h>
#include <stdint.h>

#include "control/rpc/rpc.h"

struct pl_rpc_call {
  void *data;
  int closed;     /* set by the test: sends fail with PL_ERR_CLOSED as after a cancel */
  size_t pending; /* what pl_rpc_call_pending reports (unsent messages) */
  int send_error; /* set by the test: sends fail with this code instead of queueing */
  int finished;
  pl_rpc_status code;
  char message[512];
  size_t n_sent;
  uint8_t *sent[64]; /* every message sent, packed */
  size_t sent_len[64];
};

void fake_call_init(pl_rpc_call *call);
/* Frees the recorded messages. */
void fake_call_clear(pl_rpc_call *call);

#endif
