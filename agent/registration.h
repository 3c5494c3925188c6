#ifndef PEERLINK_AGENT_REGISTRATION_H
#define PEERLINK_AGENT_REGISTRATION_H

/* The agent's Register stream to the rendezvous: sends Hello, follows the registry, and when
 * the stream ends (rendezvous gone, network down) reports it and reconnects with jittered
 * exponential backoff (agent/backoff.h) on a fresh channel.
 *
 * Several rendezvous instances (sharing one registry) may be named: the first attempt dials
 * the first, and every later attempt dials the next one in the list, round robin. An attempt
 * is only ever made after the previous one failed or its stream ended (any reason but
 * pl_registration_stop), so the agent moves on after every failure: the rule is simple and
 * predictable (no health guesses; a dead instance costs one failed attempt per round), and an
 * instance that comes back is reached again within one round. The backoff is not reset by
 * moving on, only by a Registered, so a list of dead instances is not hammered.
 *
 * At the stream's send-queue limit (PL_ERR_FULL from control/rpc), per message: a Hello or a
 * candidates update restarts the stream (the rendezvous must not keep a wrong view of us); a
 * PairRequest or a relayed frame is refused to its caller, and the stream goes on. */

#include <stdint.h>
#include <uv.h>

#include "agent/backoff.h"
#include "agent/identity/identity.h"
#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/rendezvous.pb-c.h"

#define PL_REGISTRATION_BACKOFF_MIN_MS 200
#define PL_REGISTRATION_BACKOFF_MAX_MS 5000
#define PL_REGISTRATION_STOP_GRACE_MS 500
/* IDs --watch may name: the rendezvous lets one stream watch this many. */
#define PL_REGISTRATION_WATCH_MAX 256
/* Rendezvous instances one agent may name, and room for one "HOST:PORT" ("[V6]:PORT"). */
#define PL_REGISTRATION_TARGETS_MAX 8
#define PL_REGISTRATION_TARGET_LEN 80

/* Every callback may be NULL (tests of one concern set only what they look at). */
typedef struct pl_registration_callbacks {
  /* The state changed; detail says why (e.g. the status that ended the stream). */
  void (*on_state)(void *arg, Peerlink__V1__RendezvousState state, const char *detail);
  /* The registry changed (also once per agent already registered, right after Registered). */
  void (*on_change)(void *arg, const Peerlink__V1__RegistryChange *change);
  /* The stream ended: everything learned from it is stale. */
  void (*on_reset)(void *arg);
  /* The next attempt dials `target` (reg->target): with several instances, what the previous
   * one said (its ports, its relay) no longer applies to the host now dialled. */
  void (*on_target)(void *arg, const char *target);
  /* Registered: the rendezvous's UDP ports on the host we dialled (0: none; its STUN-over-TCP
   * port is in reg->stun_tcp_port by then). */
  void (*on_registered)(void *arg, uint32_t udp_port, uint32_t udp_alt_port);
  /* An offer (pairing) arrived. */
  void (*on_offer)(void *arg, const Peerlink__V1__Offer *offer);
  /* A pair request failed. */
  void (*on_pair_error)(void *arg, const Peerlink__V1__PairError *err);
  /* A frame relayed over the stream arrived. */
  void (*on_relay)(void *arg, const char *pairing_id, const uint8_t *data, size_t len);
} pl_registration_callbacks;

typedef struct pl_registration {
  uv_loop_t *loop;
  const pl_identity *ident;
  const char *name;
  /* The instances (pl_registration_set_targets); none: `target` set directly is the one. */
  char targets[PL_REGISTRATION_TARGETS_MAX][PL_REGISTRATION_TARGET_LEN];
  size_t n_targets;
  size_t next_target;                        /* index the next attempt dials */
  const char *target;                        /* HOST:PORT of the current (or last) attempt */
  const char *token;                         /* may be NULL */
  const char *network;                       /* Hello.network: whom it sees (NULL or "": none) */
  char watch[PL_REGISTRATION_WATCH_MAX][33]; /* IDs watched on every registration (--watch) */
  size_t n_watch;
  Peerlink__V1__Candidate **candidates; /* borrowed from the agent */
  size_t n_candidates;
  Peerlink__V1__NatBehavior nat_behavior;
  pl_registration_callbacks cb;
  void *arg;
  pl_random_fn random; /* jitter source; NULL: getrandom */

  pl_rpc_channel *channel;
  pl_rpc_client_call *call;
  uv_timer_t retry; /* the next attempt; while stopping, the grace before cancelling */
  pl_backoff backoff;
  uint64_t attempts;
  Peerlink__V1__RendezvousState state;
  char detail[256];
  int registered;
  uint32_t stun_tcp_port; /* from this stream's Registered (0: none, or none yet) */
  int candidates_pending; /* the candidates changed after this stream's Hello went out */
  int stopping;
  void (*stopped)(void *arg);
  void *stopped_arg;
} pl_registration;

/* Sets the IDs to watch from a comma-separated list (--watch; either case, stored lowercase;
 * repeats dropped). Call before pl_registration_start. Returns 0, or PL_ERR_INVALID /
 * PL_ERR_TOO_BIG with a message for people in err. */
int pl_registration_set_watch(pl_registration *reg, const char *list, char *err, size_t errlen);
/* Sets the rendezvous instances from a comma-separated list of HOST:PORT ([V6]:PORT; a
 * "scheme://" before an entry is dropped, as the flag layer does for one address), at most
 * PL_REGISTRATION_TARGETS_MAX. Call before pl_registration_start; reg->target is the first.
 * Returns 0, or PL_ERR_INVALID (an entry that is empty or not HOST:PORT) / PL_ERR_TOO_BIG with
 * a message for people naming the entry in err. */
int pl_registration_set_targets(pl_registration *reg, const char *list, char *err, size_t errlen);
/* Starts registering (the first attempt runs at once). Returns 0 or PL_ERR_*. */
int pl_registration_start(pl_registration *reg, uv_loop_t *loop);
/* Sends the agent's current candidates and NAT behaviour (after a STUN change). Returns 0,
 * PL_ERR_STATE when not registered (the next Hello carries them, or, when a Hello is already
 * on its way, an update right after Registered does), or the send's error
 * (PL_ERR_FULL, PL_ERR_NOMEM): then the stream is restarted, since the rendezvous would
 * otherwise hand peers stale candidates; the new Hello carries the current ones. */
int pl_registration_update_candidates(pl_registration *reg);
/* Asks the rendezvous to pair with `peer_id`. Returns 0, PL_ERR_STATE (not registered), or the
 * send's error (PL_ERR_FULL at the stream's send-queue limit, PL_ERR_CLOSED, PL_ERR_NOMEM):
 * nothing was sent, the stream goes on, and the caller tells whoever asked. */
int pl_registration_pair(pl_registration *reg, const char *peer_id);
/* Sends a frame for the peer over the stream (relay over TCP). Returns 0, PL_ERR_STATE (not
 * registered), or the send's error (PL_ERR_FULL, PL_ERR_CLOSED, PL_ERR_NOMEM): the frame is
 * dropped like a lost datagram and the stream goes on; the link counts it, and a Send call
 * whose DATA it was fails with the reason. */
int pl_registration_relay(pl_registration *reg, const char *pairing_id, const uint8_t *data,
                          size_t len);
/* 1 when registered (the stream is open and Registered arrived). */
int pl_registration_is_registered(const pl_registration *reg);

/* Ends the stream: half-closes it so what is queued (e.g. CLOSE frames relayed to peers) still
 * goes out and the rendezvous ends it cleanly, cancels it if that takes longer than
 * PL_REGISTRATION_STOP_GRACE_MS, frees the channel, closes the timer, then calls stopped(arg). */
void pl_registration_stop(pl_registration *reg, void (*stopped)(void *arg), void *arg);

#endif
