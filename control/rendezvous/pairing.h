#ifndef PEERLINK_RENDEZVOUS_PAIRING_H
#define PEERLINK_RENDEZVOUS_PAIRING_H

/* The rendezvous's pairings: two registered agents, a fresh secret, their roles and, for the
 * relay, where each side's UDP binding is. I/O-free; randomness comes from a function the owner
 * passes in (tests make it deterministic).
 *
 * A pairing lives until either side's Register stream ends (pl_rdv_pairings_leave). Two agents have
 * at most one pairing between them: asking again replaces it with a fresh secret, so an agent
 * that restarts its punching gets new keys. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent/wire/frame.h"
#include "control/common/random.h"

#define PL_RDV_PAIRING_ID_HEX 16 /* 8 random bytes as lowercase hex */
#define PL_RDV_PAIRING_SECRET_LEN 32
#define PL_RDV_PAIRING_MAX_PER_AGENT 16

struct pl_rdv_pairing;

/* One registered agent as the pairing table sees it; embedded in the owner's per-stream state.
 * Initialize with pl_rdv_pairing_member_init. */
typedef struct pl_rdv_pairing_member {
  void *owner;                     /* the owner's per-stream state (for stream relay) */
  char id[33];                     /* agent ID, 32 lowercase hex */
  uint8_t id_raw[PL_FRAME_ID_LEN]; /* the same 16 bytes, as frames carry them */
  struct pl_rdv_pairing *pairings; /* this agent's pairings, linked through side[i].next */
  size_t n_pairings;
} pl_rdv_pairing_member;

typedef struct pl_rdv_pairing_side {
  pl_rdv_pairing_member *member;
  struct pl_rdv_pairing *next; /* the member's next pairing */
  /* Relay state: the UDP address the side bound with RELAY_BIND (latest wins). */
  int bound;
  struct sockaddr_storage addr;
  pl_replay bind_replay, data_replay;
} pl_rdv_pairing_side;

typedef struct pl_rdv_pairing {
  uint8_t id[PL_FRAME_PAIRING_LEN];
  char id_hex[PL_RDV_PAIRING_ID_HEX + 1];
  uint8_t secret[PL_RDV_PAIRING_SECRET_LEN];
  pl_frame_keys keys;
  pl_rdv_pairing_side side[2]; /* side[0] is CONTROLLING: the lexicographically smaller agent ID */
  uint64_t relay_seq;          /* the relay's own sequence numbers (its BIND_ACKs) */
  struct pl_rdv_pairing *hnext;
} pl_rdv_pairing;

typedef struct pl_rdv_pairings {
  pl_rdv_pairing **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;
  pl_random_fn random;
} pl_rdv_pairings;

/* `id` must be 32 lowercase hex characters (a validated Hello's). Returns 0 or PL_ERR_INVALID. */
int pl_rdv_pairing_member_init(pl_rdv_pairing_member *m, void *owner, const char *id);

/* Returns 0 or PL_ERR_NOMEM. */
int pl_rdv_pairings_init(pl_rdv_pairings *t, pl_random_fn random);
/* Frees every pairing (members are not touched: their lists dangle; call after they are gone or
 * have left). */
void pl_rdv_pairings_free(pl_rdv_pairings *t);

/* Pairs a and b (replacing an existing pairing between them). *pp receives the new pairing.
 * Returns 0, PL_ERR_INVALID (a == b, or the same ID), PL_ERR_STATE (one side already has
 * PL_RDV_PAIRING_MAX_PER_AGENT other pairings), PL_ERR_NOMEM, or the random function's error. */
int pl_rdv_pairings_create(pl_rdv_pairings *t, pl_rdv_pairing_member *a, pl_rdv_pairing_member *b,
                           pl_rdv_pairing **pp);

/* The pairing with this 8-byte ID, or NULL. */
pl_rdv_pairing *pl_rdv_pairings_find(const pl_rdv_pairings *t,
                                     const uint8_t id[PL_FRAME_PAIRING_LEN]);
/* The same by its 16-hex-character text form (NULL when malformed or unknown). */
pl_rdv_pairing *pl_rdv_pairings_find_hex(const pl_rdv_pairings *t, const char *id_hex);
/* The pairing between two members, or NULL. */
pl_rdv_pairing *pl_rdv_pairings_between(const pl_rdv_pairing_member *a,
                                        const pl_rdv_pairing_member *b);

/* Unlinks and frees one pairing (relay state included). */
void pl_rdv_pairings_delete(pl_rdv_pairings *t, pl_rdv_pairing *p);
/* The member's stream ended: deletes all its pairings. After each, `gone(arg, p_id_hex, other)`
 * (may be NULL) learns the other side's member; it must not change the table. */
void pl_rdv_pairings_leave(pl_rdv_pairings *t, pl_rdv_pairing_member *m,
                           void (*gone)(void *arg, const char *id_hex,
                                        pl_rdv_pairing_member *other),
                           void *arg);

/* 0 or 1: which side of `p` the member is; -1 when not a member. */
int pl_rdv_pairing_side_of(const pl_rdv_pairing *p, const pl_rdv_pairing_member *m);
/* The same by the 16-byte ID a frame carries. */
int pl_rdv_pairing_side_by_id(const pl_rdv_pairing *p, const uint8_t id[PL_FRAME_ID_LEN]);
/* The member's next pairing after `p` in its own list (iteration: start at m->pairings). */
pl_rdv_pairing *pl_rdv_pairing_next_of(const pl_rdv_pairing *p, const pl_rdv_pairing_member *m);

#endif
