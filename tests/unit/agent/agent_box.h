#ifndef PEERLINK_TESTS_AGENT_BOX_H
#define PEERLINK_TESTS_AGENT_BOX_H

/* An agent in a box: the real glue (control API, links, Connect waiters, events, registration)
 * around a real transport on 127.0.0.1, with control/rpc faked (tests/unit/health/fake_rpc.h for
 * the calls the agent serves, fake_client.h for its Register stream). Handlers are called
 * directly with fake calls; the loop runs until what a test waits for happens, or fails the test
 * at a deadline. */

#include "agent/agent.h"
#include "tests/unit/agent/fake_client.h"
#include "tests/unit/health/fake_rpc.h"
#include "tests/unit/seal/fixture.h"

typedef struct agent_box {
  uv_loop_t *loop;
  pl_agent a;
  struct pl_rpc_client_call stream; /* the Register stream, once box_register ran */
  fixture_agent key;                /* box_init_agent: the identity's key pair */
} agent_box;

/* A fresh agent with ID `id` (32 hex) on `loop`, without a key pair: it cannot make links that
 * carry DATA. */
void box_init(agent_box *b, uv_loop_t *loop, const char *id, const char *fingerprint);
/* A fresh agent with a real key pair (its ID is the key's), so its links seal DATA. Set link
 * options (b->a.links) before the first link is made. */
void box_init_agent(agent_box *b, uv_loop_t *loop, const fixture_agent *key,
                    const char *fingerprint);
/* Registered with a rendezvous that knows `peer_id` (may be NULL); the stream accepts sends. */
void box_register(agent_box *b, const char *peer_id);
/* Calls the method's on_request with `req` on `call` (initialised here). */
void box_call(agent_box *b, const char *method, pl_rpc_call *call, const ProtobufCMessage *req);
/* The method's on_done, as the library calls it when the call is over. */
void box_done(agent_box *b, const char *method, pl_rpc_call *call, int cancelled);
/* Stops the agent as main.c does and frees what the box made. Run the loop afterwards. */
void box_close(agent_box *b);

/* Runs `loop` until *flag is nonzero; fails the test after deadline_ms. */
void run_until(uv_loop_t *loop, const int *flag, uint64_t deadline_ms, const char *what);
/* Runs `loop` until it has no more handles. */
void run_to_end(uv_loop_t *loop);

#endif
