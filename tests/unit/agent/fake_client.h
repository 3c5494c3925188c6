#ifndef PEERLINK_TESTS_AGENT_FAKE_CLIENT_H
#define PEERLINK_TESTS_AGENT_FAKE_CLIENT_H

/* The client half of control/rpc/rpc.h, faked (the server-call half is
 * tests/unit/health/fake_rpc.h), so the agent's glue runs without gRPC: a test plays the
 * rendezvous end of the Register stream by setting what sends return. */

#include <stddef.h>

#include "control/rpc/rpc.h"

struct pl_rpc_client_call {
  int send_error; /* set by the test: sends fail with this code */
  size_t pending; /* what pl_rpc_client_call_pending reports */
  size_t n_sent;  /* messages accepted */
  int half_closed, cancelled;
  int last_case; /* the RegisterRequest msg_case of the last message accepted */
  /* Set by pl_rpc_client_call_start when it handed out this call (fake_next_call): the test
   * plays the server by calling them. */
  const pl_rpc_client_callbacks *cb;
  void *arg;
};

/* What pl_rpc_channel_new returns (0 by default: a channel that works). */
extern int fake_channel_new_result;
/* The call the next pl_rpc_client_call_start hands out (then NULL again); NULL: it fails with
 * PL_ERR_CLOSED, and tests hand the registration a call themselves. */
extern struct pl_rpc_client_call *fake_next_call;

#endif
