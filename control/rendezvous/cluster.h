#ifndef PEERLINK_RENDEZVOUS_CLUSTER_H
#define PEERLINK_RENDEZVOUS_CLUSTER_H

/* --redis: several peerlink-rendezvous instances share one registry through Redis.
 *
 * One instance at a time is the leader (it holds the key PREFIX:leader, refreshed every third
 * of the TTL): its registry core (registry.c, unchanged) decides for every instance's agents,
 * so there is one view, one set of pairings and one relay table, never two that disagree.
 * Every instance is a front for its own agents' streams: it checks their Hello itself (the
 * signature check is most of a registration's CPU), forwards the registration and every later
 * request to the leader over Redis pub/sub, and carries the leader's answers back. At the
 * leader a remote agent is a Register stream whose output goes back over Redis (a sink, as a
 * WebSocket agent's is), so the core cannot tell local from remote.
 *
 * Each instance keeps PREFIX:instance:{id} alive with the same TTL; the leader takes the agents
 * of an instance whose key expired (or whose channel nobody reads) out of the registry, so a
 * dead instance leaves no ghosts after the TTL. When Redis cannot be reached the instance goes
 * on alone ("island": its own agents, its own pairings, reported in health and logs) and
 * reconnects with backoff. Whenever the registry an instance's agents are in changes (Redis
 * lost or back, a new leader), the instance ends their streams with UNAVAILABLE and they
 * register again (agents retry at once, with jitter): their view is then the new registry's,
 * with nothing stale in it. docs/architecture.md has the reasons, docs/protocol.md the keys,
 * channels and messages. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "control/rendezvous/service.h"

typedef struct pl_rdv_cluster pl_rdv_cluster;

/* The health service name (grpc.health.v1) that reports whether this instance's agents are in
 * the shared registry: SERVING as follower or leader, NOT_SERVING otherwise. */
#define PL_RDV_SHARED_REGISTRY_HEALTH "peerlink.cluster.v1.SharedRegistry"

typedef enum {
  PL_RDV_CLUSTER_ISLAND,    /* Redis not reachable: this instance's agents only */
  PL_RDV_CLUSTER_NO_LEADER, /* Redis up, no leader known yet: registrations wait (UNAVAILABLE) */
  PL_RDV_CLUSTER_FOLLOWER,  /* another instance's registry decides */
  PL_RDV_CLUSTER_LEADER,    /* this instance's registry decides for all */
} pl_rdv_cluster_role;

typedef struct pl_rdv_cluster_config {
  const char *redis;  /* HOST:PORT */
  const char *prefix; /* key and channel prefix (NULL: "peerlink") */
  uint64_t ttl_ms;    /* leader and instance keys' TTL; refreshed every ttl/3 */
  /* The registry this instance's agents are in changed (role and a line for people). */
  void (*on_role)(void *arg, pl_rdv_cluster_role role, const char *detail);
  void *arg;
} pl_rdv_cluster_config;

/* Starts connecting; until Redis answers the instance is an island. Sets svc->cluster.
 * Returns 0, PL_ERR_INVALID (bad address or prefix: `err` says why), PL_ERR_NOMEM. */
int pl_rdv_cluster_start(pl_rdv_cluster **pc, uv_loop_t *loop, pl_rdv_service *svc,
                         const pl_rdv_cluster_config *cfg, char *err, size_t cap);
/* Leaves the cluster (gives up the lead) and closes the Redis connections. Call before the
 * server shuts down its streams; free with pl_rdv_cluster_free after the loop ended. */
void pl_rdv_cluster_stop(pl_rdv_cluster *c);
void pl_rdv_cluster_free(pl_rdv_cluster *c);

pl_rdv_cluster_role pl_rdv_cluster_role_of(const pl_rdv_cluster *c);
/* "island", "no_leader", "follower", "leader". */
const char *pl_rdv_cluster_role_name(pl_rdv_cluster_role role);
/* A line for health: "leader", "follower of 3fa0…", "island: redis 127.0.0.1:6379 down (...)". */
void pl_rdv_cluster_describe(const pl_rdv_cluster *c, char *buf, size_t cap);
/* This instance's ID (32 hex). */
const char *pl_rdv_cluster_instance(const pl_rdv_cluster *c);

#endif
