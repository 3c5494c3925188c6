#ifndef PEERLINK_RENDEZVOUS_REGISTRY_H
#define PEERLINK_RENDEZVOUS_REGISTRY_H

/* The rendezvous's registry decisions, I/O-free: who is registered, who sees whom, who learns
 * of a join, an update or a departure, who gets offers, pair errors, --auto-pair, and a newer
 * registration replacing an older one. Inputs are events ("agent X registered with this record
 * in network N", "X's candidates changed", "X left", "X asks to pair with Y", "X watches Y");
 * the output is a list of actions for the glue (register.c, execute.c) to carry out over the
 * Register streams. Time comes in as an argument and randomness through the function given to
 * init, so tests use synthetic time and deterministic bytes.
 *
 * Who sees whom (pl_rdv_registry_sees): agent X sees agent Y when both gave the same non-empty
 * network, when X watches Y's ID, or when they are paired; with `broadcast` (--broadcast) every
 * agent sees every other. X hears of Y's join, updates and departure exactly when it sees Y,
 * and gets JOINED / LEFT when Y comes into or goes out of its view. Nothing is sent to agents
 * that do not see Y, so a join costs O(network + watchers), not O(registry).
 *
 * Every input appends its actions to `out` in the order the agents must see them; the glue
 * executes the list, then clears it. Pointers in an action (agents, records) stay valid until
 * pl_rdv_actions_clear, even for an agent that left during the same input.
 *
 * A shared registry (several rendezvous instances) can sit behind the same inputs: the core
 * decides, the glue delivers, and remote agents would be agents whose stream is another
 * instance's. */

#include <stddef.h>
#include <stdint.h>

#include "control/common/netname.h"
#include "control/rendezvous/idmap.h"
#include "control/rendezvous/pairing.h"
#include "control/rendezvous/seqlist.h"
#include "peerlink/v1/rendezvous.pb-c.h"

/* Both offers leave together; this much head start covers the second one's delivery, so both
 * sides start probing at the same moment. */
#define PL_RDV_OFFER_START_DELAY_MS 100
/* IDs one Register stream may watch. */
#define PL_RDV_WATCH_MAX 256
/* Characters in a network name ([A-Za-z0-9._:-]; control/common/netname.h). */
#define PL_RDV_NETWORK_MAX PL_NETNAME_MAX
/* ListAgents page sizes. */
#define PL_RDV_PAGE_DEFAULT 100
#define PL_RDV_PAGE_MAX 1000
/* A page token's length, without the terminating NUL. */
#define PL_RDV_TOKEN_LEN 24

struct pl_rdv_group;
struct pl_rdv_watch;

/* One watched ID as its watcher keeps it: the target, and where the watcher sits in the
 * target's list (so either side can leave in O(1) plus a scan of the watcher's own list). */
typedef struct pl_rdv_watching {
  struct pl_rdv_watch *target;
  size_t pos;
} pl_rdv_watching;

/* One agent as the registry sees it; embedded in the glue's per-stream state. Initialize with
 * pl_rdv_agent_init; it is registered between a successful join and its leave. The fields below
 * `public_key_len` are the registry's own bookkeeping. */
typedef struct pl_rdv_agent {
  void *stream;                  /* the glue's per-stream state; the core never looks inside */
  Peerlink__V1__AgentInfo *info; /* its record (owned); NULL while not registered */
  pl_rdv_pairing_member member;  /* its pairings (member.owner is this agent) */
  uint8_t *public_key;           /* SubjectPublicKeyInfo DER, for the peer's Offer */
  size_t public_key_len;

  uint64_t seq;              /* registration order: ListAgents pages by it */
  size_t slot[2];            /* where it sits in the registry's and its network's lists */
  pl_rdv_idmap_node node;    /* the ID index */
  struct pl_rdv_group *net;  /* its network ("" is a group too, for --auto-pair) */
  pl_rdv_watching *watching; /* the IDs it watches */
  size_t n_watching, cap_watching;
  struct pl_rdv_agent *ready_prev, *ready_next; /* its network's --auto-pair queue */
  int ready;
} pl_rdv_agent;

typedef struct pl_rdv_registry {
  pl_rdv_idmap by_id;   /* registered agents by ID */
  pl_rdv_seqlist all;   /* registered agents, oldest first */
  pl_rdv_idmap groups;  /* networks by name */
  pl_rdv_idmap watches; /* watched IDs (registered or not) */
  size_t count;         /* registered agents */
  uint64_t next_seq;
  uint64_t token_key; /* page tokens carry a check under it */
  pl_rdv_pairings pairings;
  int auto_pair; /* --auto-pair: pair free agents of one network that have a
                    server-reflexive candidate */
  int broadcast; /* --broadcast: every agent sees every other */
} pl_rdv_registry;

typedef enum {
  PL_RDV_ACT_REGISTERED,    /* send `to` Registered with its own record */
  PL_RDV_ACT_CHANGE,        /* send `to` RegistryChange `change` about `about` */
  PL_RDV_ACT_OFFER,         /* send `to` the Offer of a new pairing with `peer` */
  PL_RDV_ACT_PAIR_ERROR,    /* send `to` PairError{peer_id, message, reason}; `why` is for the
                               log */
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
  Peerlink__V1__PairError__Reason reason;
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

/* 1 when `name` is a valid network ("" included): at most PL_RDV_NETWORK_MAX characters of
 * [A-Za-z0-9._:-]. */
int pl_rdv_network_valid(const char *name);

/* Agent `a` proved its Hello (validated and signed): stores a copy of `info` (its id, name,
 * candidates, observed address, ...; registered_unix_ms is set to `now_unix_ms`), its network
 * (NULL or "" for none) and the public key. An older registration of the same ID is ended (END
 * REPLACED) and leaves first. Then: REGISTERED to `a`, one JOINED to `a` per agent it sees
 * (oldest first), JOINED about `a` to every agent that sees it, and any --auto-pair offers.
 * Returns 0, PL_ERR_STATE (`a` is registered already), PL_ERR_INVALID (info->id is not 32
 * lowercase hex characters, or the network is not valid), PL_ERR_NOMEM (`a` is not registered;
 * the replaced registration, if any, has still left: execute `out` whatever this returns). */
int pl_rdv_registry_join(pl_rdv_registry *r, pl_rdv_agent *a, const Peerlink__V1__AgentInfo *info,
                         const char *network, const uint8_t *public_key, size_t public_key_len,
                         int64_t now_unix_ms, pl_rdv_actions *out);

/* `a`'s candidates (and NAT behaviour) changed: UPDATED about `a` to every agent that sees it,
 * then --auto-pair offers. Returns 0, PL_ERR_STATE (not registered), PL_ERR_NOMEM (nothing
 * changed). */
int pl_rdv_registry_update(pl_rdv_registry *r, pl_rdv_agent *a,
                           Peerlink__V1__Candidate *const *candidates, size_t n_candidates,
                           Peerlink__V1__NatBehavior nat_behavior, int64_t now_unix_ms,
                           pl_rdv_actions *out);

/* `a`'s stream ended (or is being ended): LEFT about `a` to every agent that saw it, its
 * pairings end (PAIRING_ENDED each), its watches go, then --auto-pair offers for the agents it
 * freed. Idempotent. */
void pl_rdv_registry_leave(pl_rdv_registry *r, pl_rdv_agent *a, int64_t now_unix_ms,
                           pl_rdv_actions *out);

/* `a` asks to pair with `peer_id`: a fresh pairing (replacing one between the two), a JOINED
 * to each side about the other if it did not see it yet, and an OFFER to each side,
 * controlling side first, with a common start time; or a PAIR_ERROR to `a` (itself, not
 * registered, busy, no randomness). Returns 0, PL_ERR_STATE (`a` not registered). */
int pl_rdv_registry_pair(pl_rdv_registry *r, pl_rdv_agent *a, const char *peer_id,
                         int64_t now_unix_ms, pl_rdv_actions *out);

/* `a` watches `ids` (whatever their network): a JOINED to `a` for each registered one it did
 * not see yet; later changes follow (a registration of a watched ID, its updates, its
 * departure). Its own ID and IDs it watches already are skipped. Returns 0, PL_ERR_STATE (`a`
 * not registered), PL_ERR_INVALID (ids[*pbad] is not 32 lowercase hex characters: nothing
 * changed), PL_ERR_FULL (it would watch more than PL_RDV_WATCH_MAX: nothing changed),
 * PL_ERR_NOMEM (the first IDs may be watched, each with its JOINED). */
int pl_rdv_registry_watch(pl_rdv_registry *r, pl_rdv_agent *a, char *const *ids, size_t n_ids,
                          pl_rdv_actions *out, size_t *pbad);
/* `a` stops watching `ids`: a LEFT for each registered one it no longer sees. IDs it does not
 * watch are skipped. Returns 0, PL_ERR_STATE, PL_ERR_INVALID (as pl_rdv_registry_watch). */
int pl_rdv_registry_unwatch(pl_rdv_registry *r, pl_rdv_agent *a, char *const *ids, size_t n_ids,
                            pl_rdv_actions *out, size_t *pbad);

/* --auto-pair: pairs the free agents (no pairing yet, a server-reflexive candidate) of each
 * network, oldest first, until fewer than two are free in it. Every input runs this itself for
 * the networks it touched; nothing without auto_pair. */
void pl_rdv_registry_autopair(pl_rdv_registry *r, int64_t now_unix_ms, pl_rdv_actions *out);

/* The registered agent with this ID, or NULL. */
pl_rdv_agent *pl_rdv_registry_find(const pl_rdv_registry *r, const char *id);
/* 1 when registered agent `x` sees registered agent `y` (x != y; see the top of this file). */
int pl_rdv_registry_sees(const pl_rdv_registry *r, const pl_rdv_agent *x, const pl_rdv_agent *y);
/* The network `a` registered with ("" for none). */
const char *pl_rdv_registry_network(const pl_rdv_agent *a);

/* One page of ListAgents: the records (borrowed: valid until the registry changes) of up to
 * `page_size` agents (0: PL_RDV_PAGE_DEFAULT; at most PL_RDV_PAGE_MAX) registered after the
 * position `token` names ("" or NULL: the start), in `network` only when it is not empty.
 * `next` (PL_RDV_TOKEN_LEN + 1 bytes) receives the token of the following page, "" on the last.
 * *ptotal receives how many agents there are (in the network). The array is the caller's to
 * free(). Returns 0, PL_ERR_INVALID (a token this registry did not make), PL_ERR_NOMEM. */
int pl_rdv_registry_list(const pl_rdv_registry *r, const char *network, const char *token,
                         size_t page_size, Peerlink__V1__AgentInfo ***pinfos, size_t *pn,
                         char *next, size_t *ptotal);

#endif
