#ifndef PEERLINK_TESTS_RPC_HARNESS_H
#define PEERLINK_TESTS_RPC_HARNESS_H

/* Both ends of real gRPC on 127.0.0.1 in one uv loop, with a hard deadline that fails the test
 * instead of letting it hang. Nothing here sleeps: tests wait for callbacks. */

#include <stdio.h>
#include <stdlib.h>

#include "control/rpc/rpc.h"
#include "tests/unit/rpc/echo.h"

#include "tests/unit/common/check.h"

typedef struct harness {
  uv_loop_t loop;
  uv_timer_t deadline;
  const char *scenario;
  pl_rpc_server *server;
  pl_rpc_channel *channel;
  echo_state echo;
  char target[64];
  int server_done; /* the shutdown's done callback ran */
} harness;

/* A loop whose deadline timer (not keeping the loop alive) fails the test after deadline_ms. */
void harness_init(harness *h, const char *scenario, uint64_t deadline_ms);
/* Server on 127.0.0.1:0 with the echo service; `cfg` may be NULL (defaults). */
void harness_start_server(harness *h, const pl_rpc_server_config *cfg);
/* A channel to the server, sending `token` when not NULL. */
void harness_open_channel(harness *h, const char *token);
/* Frees the channel (if open) and shuts the server down with `grace_ms`. */
void harness_stop(harness *h, uint64_t grace_ms);
/* Runs the loop until every handle is gone, then checks everything was closed. */
void harness_run(harness *h);

/* Client callbacks that record what arrived, for tests with one call at a time. */
typedef struct recorder {
  harness *h;
  int n_messages;
  int64_t last_unix_ms;
  int in_order;         /* Event.unix_ms went 0, 1, 2, ... */
  char name[64];        /* GetStatusResponse.name of the last message */
  uint64_t last_uptime; /* GetStatusResponse.uptime_seconds of the last message */
  int got_status;
  pl_rpc_status code;
  char message[256];
  void (*then)(struct recorder *r); /* runs after on_status */
  int quiet;                        /* do not log the status */
} recorder;

extern const pl_rpc_client_callbacks recorder_callbacks;
void recorder_init(recorder *r, harness *h, void (*then)(recorder *r));

#endif
