#ifndef PEERLINK_RENDEZVOUS_REGISTRY_H
#define PEERLINK_RENDEZVOUS_REGISTRY_H

/* The rendezvous's registry decisions, I/O-free: who is registered, who learns of a join, an
 * update or a departure, who gets offers, pair errors, --auto-pair, and a newer registration
 * replacing an older one. Inputs are events ("agent X registered with this record", "X's
 * candidates changed", "X left", "X asks to pair with Y", "auto-pair tick"); the output is a
 * list of actions for the glue (register.c, execute.c) to carry out over the Register streams.
 * Time comes in as an argument and randomness through the function given to init, so tests use
 * synthetic time and deterministic bytes.
 *
 * Every input appends its actions to `out` in the order the agents must see them; the glue
 * executes the list, then clears it. Pointers in an action (agents, records) stay valid until
 * pl_rdv_actions_clear, even for an agent that left during the same input. */

#include <stddef.h>
#include <stdint.h>

#include "control/common/agentlist.h"
#include "control/rendezvous/pairing.h"
#include "peerlink/v1/rendezvous.pb-c.h"

/* Both offers leave together; this much head start covers the second one's delivery, so both
 * sides start probing at the same moment. */
#define PL_RDV_OFFER_START_DELAY_MS 100

/* One agent as the registry sees it; embedded in the glue's per-stream state. Initialize with
 * pl_rdv_agent_init; it is registered between a successful join and its leave. */
typedef struct pl_rdv_agent {
  void *stream;                 /* the glue's per-stream state; the core never looks inside */
  pl_agentlist_entry *entry;    /* its record; NULL while not registered */
  pl_rdv_pairing_member member; /* its pairings (member.owner is this agent) */
  uint8_t *public_key;          /* SubjectPublicKeyInfo DER, for the peer's Offer */
  size_t public_key_len;
} pl_rdv_agent;

typedef struct pl_rdv_registry {
  pl_agentlist list; /* oldest first; entry->data is the pl_rdv_agent */
  pl_rdv_pairings pairings;
  int auto_pair; /* --auto-pair: pair free agents that have a server-reflexive candidate */
} pl_rdv_registry;

typedef enum {
  PL_RDV_ACT_REGISTERED,    /* send `to` Registered with its own record */
  PL_RDV_ACT_CHANGE,        /* send `to` RegistryChange `change` about `about` */
  PL_RDV_ACT_OFFER,         /* send `to` the Offer of a new pairing with `peer` */
  PL_RDV_ACT_PAIR_ERROR,    /* send `to` PairError{peer_id, message}; `why` is for the log */
  PL_RDV_ACT_END,           /* end `to`'s stream (`end` says why; `message` for people) */
  PL_RDV_ACT_PAIRING_ENDED, /* nothing to send: pairing `pairing_id` of `to` and `peer` ended
                               because `to` left (for the log) */
} pl_rdv_action_kind;

typedef enum {
  PL_RDV_END_REPLACED, /* a newer registration of the same agent took its place */
} pl_rdv_end_reason;

typedef struct pl_rdv_action {
  pl_rdv_action_kind kind;
  pl_rdv_agent *to;
  /* CHANGE */
  Peerlink__V1__RegistryChange__Kind change;
  const Peerlink__V1__AgentInfo *about;
  /* OFFER, PAIRING_ENDED */
  pl_rdv_agent *peer;
  char pairing_id[PL_RDV_PAIRING_ID_HEX + 1];
  /* OFFER */
  uint8_t secret[PL_RDV_PAIRING_SECRET_LEN];
  int controlling; /* `to` has the lexicographically smaller ID */
  int64_t start_unix_ms;
  int automatic; /* made by --auto-pair, not by a PairRequest */
  /* PAIR_ERROR: peer_id points into the request (valid while the input's arguments are) */
  const char *peer_id;
  const char *why;
  /* END */
  pl_rdv_end_reason end;
  /* PAIR_ERROR, END */
  char message[160];
} pl_rdv_action;

typedef struct pl_rdv_actions {
  pl_rdv_action *v;
  size_t n, cap;
  /* Records of agents that left during these inputs, kept for their LEFT changes. */
  Peerlink__V1__AgentInfo **departed;
  size_t n_departed, cap_departed;
  /* Set when memory ran out while recording: some agents' views may now be stale. */
  int lost;
  /* Set when --auto-pair could not make a pairing (random source or memory failed). */
  int autopair_failed;
} pl_rdv_actions;

void pl_rdv_actions_init(pl_rdv_actions *out);
/* Empties the list (its memory is kept for the next input), frees the departed records and
 * wipes the secrets the offers carried. */
void pl_rdv_actions_clear(pl_rdv_actions *out);
void pl_rdv_actions_free(pl_rdv_actions *out);

/* Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_registry_init(pl_rdv_registry *r, pl_random_fn random);
/* Call after every agent left (their pairing lists would dangle otherwise). */
void pl_rdv_registry_free(pl_rdv_registry *r);

void pl_rdv_agent_init(pl_rdv_agent *a, void *stream);
/* Frees what the agent owns; call after pl_rdv_registry_leave. */
void pl_rdv_agent_release(pl_rdv_agent *a);

/* Agent `a` proved its Hello (validated and signed): stores a copy of `info` (its id, name,
 * candidates, observed address, ...; registered_unix_ms is set to `now_unix_ms`) and of the
 * public key. An older registration of the same ID is ended (END REPLACED) and leaves first.
 * Then: REGISTERED to `a`, one JOINED per other agent to `a` (oldest first), JOINED about `a`
 * to every other agent, and any --auto-pair offers.
 * Returns 0, PL_ERR_STATE (`a` is registered already), PL_ERR_INVALID (info->id is not 32
 * lowercase hex characters), PL_ERR_NOMEM (`a` is not registered; the replaced registration,
 * if any, has still left: execute `out` whatever this returns). */
int pl_rdv_registry_join(pl_rdv_registry *r, pl_rdv_agent *a, const Peerlink__V1__AgentInfo *info,
                         const uint8_t *public_key, size_t public_key_len, int64_t now_unix_ms,
                         pl_rdv_actions *out);

/* `a`'s candidates (and NAT behaviour) changed: UPDATED about `a` to every other agent, then
 * --auto-pair offers. Returns 0, PL_ERR_STATE (not registered), PL_ERR_NOMEM (nothing changed). */
int pl_rdv_registry_update(pl_rdv_registry *r, pl_rdv_agent *a,
                           Peerlink__V1__Candidate *const *candidates, size_t n_candidates,
                           Peerlink__V1__NatBehavior nat_behavior, int64_t now_unix_ms,
                           pl_rdv_actions *out);

/* `a`'s stream ended (or is being ended): LEFT about `a` to every other agent, its pairings end
 * (PAIRING_ENDED each), then --auto-pair offers for the agents it freed. Idempotent. */
void pl_rdv_registry_leave(pl_rdv_registry *r, pl_rdv_agent *a, int64_t now_unix_ms,
                           pl_rdv_actions *out);

/* `a` asks to pair with `peer_id`: a fresh pairing (replacing one between the two) and an OFFER
 * to each side, controlling side first, with a common start time; or a PAIR_ERROR to `a`
 * (itself, not registered, busy, no randomness). Returns 0, PL_ERR_STATE (`a` not registered). */
int pl_rdv_registry_pair(pl_rdv_registry *r, pl_rdv_agent *a, const char *peer_id,
                         int64_t now_unix_ms, pl_rdv_actions *out);

/* --auto-pair: pairs free agents (no pairing yet, a server-reflexive candidate), oldest first,
 * until fewer than two are free. Every other input runs this itself; nothing without
 * auto_pair. */
void pl_rdv_registry_autopair(pl_rdv_registry *r, int64_t now_unix_ms, pl_rdv_actions *out);

/* The registered agent with this ID, or NULL. */
pl_rdv_agent *pl_rdv_registry_find(const pl_rdv_registry *r, const char *id);

#endif
