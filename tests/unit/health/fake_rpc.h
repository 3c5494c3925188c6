#ifndef PEERLINK_TESTS_FAKE_RPC_H
#define PEERLINK_TESTS_FAKE_RPC_H

/* A stand-in for the call half of control/rpc/rpc.h, so handlers (health, reflection) can be
 * driven directly: no gRPC, no sockets, no loop. The test plays the library: it calls a
 * method's on_request / on_half_close / on_done itself and inspects what was sent. The send
 * queue is modelled as far as handlers can see it: sends at `pending` >= the limit fail with
 * PL_ERR_FULL, and with `hold` set the last `pending` - 1 messages of `sent` are the ones
 * waiting behind the one in flight, which pl_rpc_call_discard_queued drops. */

#include <stddef.h>
#include <stdint.h>

#include "control/rpc/rpc.h"

struct pl_rpc_call {
  void *data;
  int closed;        /* set by the test: sends fail with PL_ERR_CLOSED as after a cancel */
  size_t pending;    /* what pl_rpc_call_pending reports (unsent messages, one in flight) */
  int hold;          /* set by the test: sent messages stay unsent, each adding one to pending */
  size_t send_limit; /* what pl_rpc_call_send_limit reports; 0: PL_RPC_SEND_QUEUE_DEFAULT */
  int send_error;    /* set by the test: sends fail with this code instead of queueing */
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
