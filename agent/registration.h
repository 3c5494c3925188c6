#ifndef PEERLINK_AGENT_REGISTRATION_H
#define PEERLINK_AGENT_REGISTRATION_H

/* The agent's Register stream to the rendezvous: sends Hello, follows the registry, and when
 * the stream ends (rendezvous gone, network down) reports it and reconnects with exponential
 * backoff on a fresh channel. */

#include <stdint.h>
#include <uv.h>

#include "agent/identity/identity.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/rendezvous.pb-c.h"

#define PL_REGISTRATION_BACKOFF_MIN_MS 200
#define PL_REGISTRATION_BACKOFF_MAX_MS 5000

typedef struct pl_registration_callbacks {
  /* The state changed; detail says why (e.g. the status that ended the stream). */
  void (*on_state)(void *arg, Peerlink__V1__RendezvousState state, const char *detail);
  /* The registry changed (also once per agent already registered, right after Registered). */
  void (*on_change)(void *arg, const Peerlink__V1__RegistryChange *change);
  /* The stream ended: everything learned from it is stale. */
  void (*on_reset)(void *arg);
} pl_registration_callbacks;

typedef struct pl_registration {
  uv_loop_t *loop;
  const pl_identity *ident;
  const char *name;
  const char *target;                   /* rendezvous HOST:PORT */
  const char *token;                    /* may be NULL */
  Peerlink__V1__Candidate **candidates; /* borrowed from the agent */
  size_t n_candidates;
  pl_registration_callbacks cb;
  void *arg;

  pl_rpc_channel *channel;
  pl_rpc_client_call *call;
  uv_timer_t retry;
  uint64_t backoff_ms;
  uint64_t attempts;
  Peerlink__V1__RendezvousState state;
  char detail[256];
  int stopping;
  void (*stopped)(void *arg);
  void *stopped_arg;
} pl_registration;

/* Starts registering (the first attempt runs at once). Returns 0 or PL_ERR_*. */
int pl_registration_start(pl_registration *reg, uv_loop_t *loop);
/* Cancels the stream, frees the channel, closes the timer, then calls stopped(arg). */
void pl_registration_stop(pl_registration *reg, void (*stopped)(void *arg), void *arg);

#endif
