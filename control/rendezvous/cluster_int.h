#ifndef PEERLINK_RENDEZVOUS_CLUSTER_INT_H
#define PEERLINK_RENDEZVOUS_CLUSTER_INT_H

/* Shared by cluster.c (Redis, the lead, the role), cluster_front.c (this instance's streams)
 * and cluster_leader.c (the remote agents in the leader's registry). */

#include <stdint.h>
#include <uv.h>

#include "control/redis/redis.h"
#include "control/rendezvous/cluster.h"
#include "control/rendezvous/cluster_msg.h"
#include "control/rendezvous/idmap.h"
#include "control/rendezvous/internal.h"

/* A front waits this long for the leader's ListAgents answer. */
#define PL_RDV_CLUSTER_LIST_TIMEOUT_MS 3000
/* A leader announces itself, and instances keep their keys, every ttl / this. */
#define PL_RDV_CLUSTER_TICKS_PER_TTL 3

struct pl_rdv_cluster {
  uv_loop_t *loop;
  pl_rdv_service *svc;
  pl_redis *redis;
  pl_rdv_cluster_config cfg;
  char redis_addr[300];
  char id[PL_RDV_INSTANCE_HEX + 1];
  char prefix[64];
  char chan_self[128], chan_control[128], key_leader[128], key_instance[128];
  uv_timer_t tick;
  int closing;
  char down_why[160]; /* why Redis is not usable (island) */

  pl_rdv_cluster_role role;
  char leader[PL_RDV_INSTANCE_HEX + 1]; /* FOLLOWER, LEADER: the decider */
  uint64_t epoch;                       /* and its term */
  int acquiring;                        /* a SET NX is in flight */

  /* Front: this instance's streams registered at the leader, by serial (hex). */
  pl_rdv_idmap fronts;
  uint64_t next_serial;
  /* Front: ListAgents calls waiting for the leader, by request number (hex). */
  pl_rdv_idmap lists;
  uint64_t next_request;

  /* Leader: remote agents (every instance's, this one's too) by "instance/serial". */
  pl_rdv_idmap proxies;
};

/* cluster.c: sends `m` (from and leader_epoch filled in here) to instance `to`'s channel.
 * Returns 0 or what pl_redis_command returned (PL_ERR_CLOSED when Redis is down, PL_ERR_FULL,
 * PL_ERR_NOMEM). A message nobody received tells the sender that instance is gone. */
int pl_rdv__cluster_send(pl_rdv_cluster *c, const char *to, pl_rdv_cmsg *m);
/* cluster.c: the leader `to` did not receive our message (its channel has no reader). */
void pl_rdv__cluster_leader_gone(pl_rdv_cluster *c, const char *leader, uint64_t epoch);

/* cluster_front.c: a leader's message for one of our streams. */
void pl_rdv__front_message(pl_rdv_cluster *c, const pl_rdv_cmsg *m);
/* Ends every stream registered at the leader (UNAVAILABLE `why`): its registry is gone. */
void pl_rdv__front_end_all(pl_rdv_cluster *c, const char *why);
/* Fails ListAgents calls older than the timeout (every call, with `all`). */
void pl_rdv__front_expire_lists(pl_rdv_cluster *c, int all);
void pl_rdv__front_free(pl_rdv_cluster *c);

/* cluster_leader.c: a front's message for the leader. */
void pl_rdv__leader_message(pl_rdv_cluster *c, const pl_rdv_cmsg *m);
/* Instance `id` is gone: its agents leave the registry (others get LEFT). */
void pl_rdv__leader_sweep(pl_rdv_cluster *c, const char *id);
/* The lead is lost: every remote agent goes, silently (their fronts end their streams). */
void pl_rdv__leader_drop_all(pl_rdv_cluster *c);
/* Checks each instance with agents here for its key; those whose key is gone are swept. */
void pl_rdv__leader_check_instances(pl_rdv_cluster *c);

#endif
