#ifndef PEERLINK_TESTS_PUNCH_SIM_H
#define PEERLINK_TESTS_PUNCH_SIM_H

/* A simulated network for the punch state machine: two hosts, each behind a modelled NAT, the
 * rendezvous's real relay core, synthetic time and no sockets. Addresses are made up (they never
 * reach a socket). Time is in microseconds; every one-way hop takes SIM_LATENCY_US. */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/punch/punch.h"
#include "agent/wire/frame.h"
#include "control/rendezvous/pairing.h"
#include "control/rendezvous/relay.h"
#include "tests/unit/seal/fixture.h"

#define SIM_LATENCY_US 10000
#define SIM_MAX_PKTS 8192
#define SIM_MAX_MAPS 256

typedef enum {
  SIM_OPEN,      /* public address, no NAT */
  SIM_FULL_CONE, /* endpoint-independent mapping and filtering */
  SIM_HOME,      /* endpoint-independent mapping, address-and-port-dependent filtering */
  SIM_SYMMETRIC, /* a new public port per destination, filtering on that destination */
} sim_nat;

typedef struct sim_map {
  struct sockaddr_in dst; /* SYMMETRIC: the destination this port is for; HOME: one allowed peer */
  uint16_t port;
} sim_map;

typedef struct sim_host {
  pl_punch *p;
  sim_nat nat;
  struct sockaddr_in inside; /* the host's own address (public when OPEN) */
  uint32_t public_ip;        /* network order; the NAT's WAN address */
  uint16_t eim_port;         /* FULL_CONE / HOME: the one mapped port */
  uint16_t next_port;        /* SYMMETRIC: next port handed out */
  sim_map maps[SIM_MAX_MAPS];
  size_t n_maps;
  int udp_blocked;
  /* What the host received. */
  uint64_t data_received;
  uint8_t last_data[PL_FRAME_MAX_PAYLOAD];
  size_t last_datalen;
  uint64_t path_changes;
  pl_punch_path path;
} sim_host;

typedef struct sim_pkt {
  uint64_t at;
  struct sockaddr_in src, dst; /* src as seen after the sender's NAT */
  int stream_to;               /* -1: UDP; 0/1: over that host's Register stream */
  int from_stream;             /* -1, or the host whose stream carried it to the relay */
  size_t len;
  uint8_t data[PL_FRAME_MAX_LEN];
} sim_pkt;

typedef struct sim {
  uint64_t now;
  sim_host h[2];
  uint8_t id[2][PL_FRAME_ID_LEN];
  fixture_agent agent[2]; /* the hosts' key pairs; id[i] is agent[i]'s ID */
  uint8_t pairing[PL_FRAME_PAIRING_LEN];
  uint8_t secret[32];
  pl_frame_keys keys; /* the rendezvous knows the secret */
  struct sockaddr_in relay, stun;
  /* The rendezvous relay: its real I/O-free core, with the two hosts paired. */
  pl_rdv_pairings pairings;
  pl_rdv_pairing_member members[2];
  char pairing_hex[PL_RDV_PAIRING_ID_HEX + 1];
  pl_rdv_relay_stats relay_stats;
  int relay_bound[2]; /* the relay holds a UDP binding for host i */
  uint64_t relay_forwarded, relay_dropped;
  sim_pkt *pkts; /* unordered; SIM_MAX_PKTS */
  size_t n_pkts;
  uint32_t rng;
  int loss_pct;      /* random loss on every UDP hop */
  int block_direct;  /* drop UDP between the hosts (not to or from the relay) */
  int deadline_bugs; /* a deadline in the past right after polling everything */
} sim;

/* Sets up hosts a and b behind the given NATs; a fixed seed drives the random loss. */
void sim_init(sim *s, sim_nat a, sim_nat b, uint32_t seed);
/* Creates the punch instances. Candidates are each host's own address and its mapping toward a
 * STUN server (what STUN would report); `tweak` (may be NULL) edits each config first. */
int sim_start(sim *s, void (*tweak)(int i, pl_punch_config *cfg, void *arg), void *arg);
void sim_free(sim *s);

/* Runs until synthetic time t. */
void sim_run_until(sim *s, uint64_t t);
/* Runs until both hosts have a path of `kind` (or t_max). Returns 1 if they did. */
int sim_run_until_path(sim *s, pl_path_kind kind, uint64_t t_max);
/* Host i sends a DATA payload on its selected path. Returns pl_punch_send_data's result. */
int sim_send_data(sim *s, int i, const void *payload, size_t len);
/* Host i's address as the other host sees it on the direct path (its mapping toward b). */
struct sockaddr_in sim_outside_addr(sim *s, int i, const struct sockaddr_in *toward);
/* Injects a raw datagram into host i as if from `from` (UDP), delivered immediately. Returns
 * pl_punch_recv's result. */
int sim_inject(sim *s, int i, const struct sockaddr_in *from, const uint8_t *data, size_t len);
/* The last datagram host i sent (copied by sim when it sends), for replay tests. */
extern uint8_t sim_last_sent[2][PL_FRAME_MAX_LEN];
extern size_t sim_last_sent_len[2];

struct sockaddr_in sim_addr(const char *ip, uint16_t port);

#endif
