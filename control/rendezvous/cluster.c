/* --redis: the Redis link, the lead (PREFIX:leader), instance liveness (PREFIX:instance:{id}),
 * the role this instance plays and what changes when it changes (cluster.h). */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/hex.h"
#include "control/common/log.h"
#include "control/common/random.h"
#include "control/rendezvous/cluster_int.h"

/* Renews the lead only while the key still names this term. */
static const char REFRESH_LUA[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
/* Removes a lead only while it names that term (a dead leader's, or our own old one). */
static const char RELEASE_LUA[] = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                                  "return redis.call('del', KEYS[1]) else return 0 end";

const char *pl_rdv_cluster_role_name(pl_rdv_cluster_role role) {
  switch (role) {
  case PL_RDV_CLUSTER_ISLAND: return "island";
  case PL_RDV_CLUSTER_NO_LEADER: return "no_leader";
  case PL_RDV_CLUSTER_FOLLOWER: return "follower";
  case PL_RDV_CLUSTER_LEADER: return "leader";
  }
  return "?";
}

pl_rdv_cluster_role pl_rdv_cluster_role_of(const pl_rdv_cluster *c) {
  return c->role;
}

const char *pl_rdv_cluster_instance(const pl_rdv_cluster *c) {
  return c->id;
}

void pl_rdv_cluster_describe(const pl_rdv_cluster *c, char *buf, size_t cap) {
  switch (c->role) {
  case PL_RDV_CLUSTER_ISLAND:
    snprintf(buf, cap, "island: redis %s not usable (%s); this instance's agents only",
             c->redis_addr, c->down_why[0] ? c->down_why : "connecting");
    break;
  case PL_RDV_CLUSTER_NO_LEADER:
    snprintf(buf, cap, "no leader yet (redis %s up)", c->redis_addr);
    break;
  case PL_RDV_CLUSTER_FOLLOWER:
    snprintf(buf, cap, "follower of %s (redis %s)", c->leader, c->redis_addr);
    break;
  case PL_RDV_CLUSTER_LEADER: snprintf(buf, cap, "leader (redis %s)", c->redis_addr); break;
  }
}

/* The lead's value: the holder and its term, "ID:EPOCH" (EPOCH 16 hex). */
static void lead_value(char *out, size_t cap, const char *id, uint64_t epoch) {
  snprintf(out, cap, "%s:%016" PRIx64, id, epoch);
}

static int parse_lead(const char *s, size_t len, char *id, uint64_t *epoch) {
  char tmp[PL_RDV_INSTANCE_HEX + 1 + 16 + 1];
  if (len != sizeof tmp - 1)
    return PL_ERR_PARSE;
  memcpy(tmp, s, len);
  tmp[len] = 0;
  if (tmp[PL_RDV_INSTANCE_HEX] != ':')
    return PL_ERR_PARSE;
  tmp[PL_RDV_INSTANCE_HEX] = 0;
  if (!pl_hex_is_lower(tmp, PL_RDV_INSTANCE_HEX) ||
      !pl_hex_is_lower(tmp + PL_RDV_INSTANCE_HEX + 1, 16))
    return PL_ERR_PARSE;
  memcpy(id, tmp, PL_RDV_INSTANCE_HEX + 1);
  *epoch = strtoull(tmp + PL_RDV_INSTANCE_HEX + 1, NULL, 16);
  return 0;
}

/* The streams in this instance's own registry (an island's agents) register again: from now
 * on the shared registry decides for them. */
static void end_island_streams(pl_rdv_cluster *c, const char *why) {
  pl_rdv_registry *r = &c->svc->registry;
  size_t n = r->count, k = 0;
  if (n == 0)
    return;
  pl_rdv__stream **v = malloc(n * sizeof *v);
  if (v == NULL) {
    pl_log(PL_LOG_ERROR, "registry_moved", "reason=\"out of memory\" agents=%zu", n);
    return;
  }
  for (size_t i = 0; i < r->all.n && k < n; i++) {
    pl_rdv_agent *a = r->all.v[i].item;
    if (a)
      v[k++] = a->stream;
  }
  for (size_t i = 0; i < k; i++)
    pl_rdv__fail(v[i], PL_RPC_UNAVAILABLE, "%s", why);
  free(v);
}

static void set_role(pl_rdv_cluster *c, pl_rdv_cluster_role role, const char *leader,
                     uint64_t epoch) {
  int decides = role == PL_RDV_CLUSTER_FOLLOWER || role == PL_RDV_CLUSTER_LEADER;
  if (role == c->role && (!decides || (strcmp(leader, c->leader) == 0 && epoch == c->epoch)))
    return;
  pl_rdv_cluster_role old = c->role;
  char why[200];
  snprintf(why, sizeof why, "the shared registry moved (%s -> %s); register again",
           pl_rdv_cluster_role_name(old), pl_rdv_cluster_role_name(role));
  if (old == PL_RDV_CLUSTER_LEADER)
    pl_rdv__leader_drop_all(c);
  c->role = role;
  if (decides) {
    memcpy(c->leader, leader, sizeof c->leader);
    c->epoch = epoch;
  } else {
    c->leader[0] = 0;
    c->epoch = 0;
  }
  /* The agents' views were the old registry's: each registers again and gets the new one's,
   * with nothing stale in it. */
  if (old == PL_RDV_CLUSTER_FOLLOWER || old == PL_RDV_CLUSTER_LEADER)
    pl_rdv__front_end_all(c, why);
  if (old == PL_RDV_CLUSTER_ISLAND)
    end_island_streams(c, why);
  pl_rdv__front_expire_lists(c, 1);
  char line[400];
  pl_rdv_cluster_describe(c, line, sizeof line);
  pl_log(role == PL_RDV_CLUSTER_ISLAND ? PL_LOG_WARN : PL_LOG_INFO, "registry_role",
         "role=%s was=%s instance=%s detail=\"%s\"", pl_rdv_cluster_role_name(role),
         pl_rdv_cluster_role_name(old), c->id, line);
  if (c->cfg.on_role)
    c->cfg.on_role(c->cfg.arg, role, line);
}

/* --- sending ---------------------------------------------------------------------------- */

typedef struct send_ctx {
  pl_rdv_cluster *c;
  char to[PL_RDV_INSTANCE_HEX + 1];
  uint64_t epoch;
  int to_leader; /* a front's message to the leader (else the leader's to a front) */
} send_ctx;

static void on_published(void *arg, const redisReply *reply, const char *err) {
  send_ctx *x = arg;
  pl_rdv_cluster *c = x->c;
  (void)err;
  /* Nobody reads that channel: the instance is gone (or lost Redis, which ends its streams
   * anyway). A failed command is Redis's own trouble: on_state reports that. */
  if (!c->closing && reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
    if (x->to_leader == 1)
      pl_rdv__cluster_leader_gone(c, x->to, x->epoch);
    else if (x->to_leader == 0 && c->role == PL_RDV_CLUSTER_LEADER && c->epoch == x->epoch)
      pl_rdv__leader_sweep(c, x->to);
  }
  free(x);
}

static int is_front_kind(const pl_rdv_cmsg *m) {
  switch (m->msg_case) {
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_JOIN:
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_INPUT:
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LEAVE:
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REQUEST: return 1;
  default: return 0;
  }
}

static int publish(pl_rdv_cluster *c, const char *channel, pl_rdv_cmsg *m, send_ctx *x) {
  uint8_t *buf;
  size_t len;
  m->from = c->id;
  m->leader_epoch = c->epoch;
  int rv = pl_rdv_cmsg_pack(m, &buf, &len);
  if (rv != 0)
    return rv;
  const char *argv[3] = {"PUBLISH", channel, (const char *)buf};
  size_t lens[3] = {7, strlen(channel), len};
  rv = pl_redis_command(c->redis, on_published, x, 3, argv, lens);
  free(buf);
  return rv;
}

int pl_rdv__cluster_send(pl_rdv_cluster *c, const char *to, pl_rdv_cmsg *m) {
  char channel[160];
  send_ctx *x = calloc(1, sizeof *x);
  if (x == NULL)
    return PL_ERR_NOMEM;
  x->c = c;
  snprintf(x->to, sizeof x->to, "%s", to);
  x->epoch = c->epoch;
  x->to_leader = is_front_kind(m);
  snprintf(channel, sizeof channel, "%s:to:%s", c->prefix, to);
  int rv = publish(c, channel, m, x);
  if (rv != 0)
    free(x);
  return rv;
}

/* A reply we only log when it failed. */
static void on_logged_reply(void *arg, const redisReply *reply, const char *err) {
  const char *what = arg;
  if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
    pl_log(PL_LOG_WARN, "redis_command_failed", "command=%s error=\"%s\"", what,
           reply ? reply->str : err);
}

static void command(pl_rdv_cluster *c, pl_redis_reply_fn cb, void *arg, int argc,
                    const char *const *argv) {
  int rv = pl_redis_command(c->redis, cb, arg, argc, argv, NULL);
  if (rv != 0 && rv != PL_ERR_CLOSED)
    pl_log(PL_LOG_WARN, "redis_command_failed", "command=%s error=\"%s\"", argv[0],
           pl_strerror(rv));
}

static void announce(pl_rdv_cluster *c) {
  pl_rdv_cmsg m = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__INIT;
  Peerlink__Cluster__V1__LeaderAnnounce a = PEERLINK__CLUSTER__V1__LEADER_ANNOUNCE__INIT;
  m.msg_case = PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_ANNOUNCE;
  m.announce = &a;
  send_ctx *x = calloc(1, sizeof *x);
  if (x == NULL)
    return;
  x->c = c;
  x->to_leader = -1; /* a broadcast: nobody listening is no news, and it names nobody */
  int rv = publish(c, c->chan_control, &m, x);
  if (rv != 0)
    free(x);
}

/* --- the lead ------------------------------------------------------------------------------ */

static void acquire(pl_rdv_cluster *c);

static void on_lead_read(void *arg, const redisReply *reply, const char *err) {
  pl_rdv_cluster *c = arg;
  char id[PL_RDV_INSTANCE_HEX + 1];
  uint64_t epoch;
  (void)err;
  c->acquiring = 0;
  if (c->closing || reply == NULL || reply->type != REDIS_REPLY_STRING)
    return; /* gone in between (next tick tries again) or Redis trouble (on_state says) */
  if (parse_lead(reply->str, reply->len, id, &epoch) != 0) {
    pl_log(PL_LOG_WARN, "lead_unreadable", "key=%s", c->key_leader);
    return;
  }
  if (strcmp(id, c->id) == 0) {
    /* An older term of ours (we lost Redis and came back before it expired): release it. */
    const char *argv[] = {"EVAL", RELEASE_LUA, "1", c->key_leader, ""};
    char value[80];
    lead_value(value, sizeof value, id, epoch);
    argv[4] = value;
    command(c, on_logged_reply, "EVAL release", 5, argv);
    return;
  }
  set_role(c, PL_RDV_CLUSTER_FOLLOWER, id, epoch);
}

typedef struct acquire_ctx {
  pl_rdv_cluster *c;
  uint64_t epoch;
} acquire_ctx;

static void on_lead_set(void *arg, const redisReply *reply, const char *err) {
  acquire_ctx *x = arg;
  pl_rdv_cluster *c = x->c;
  uint64_t epoch = x->epoch;
  (void)err;
  free(x);
  if (c->closing)
    return;
  if (reply && reply->type == REDIS_REPLY_STATUS) {
    c->acquiring = 0;
    set_role(c, PL_RDV_CLUSTER_LEADER, c->id, epoch);
    announce(c);
    return;
  }
  if (reply && reply->type == REDIS_REPLY_NIL) {
    const char *argv[] = {"GET", c->key_leader};
    if (pl_redis_command(c->redis, on_lead_read, c, 2, argv, NULL) == 0)
      return;
  }
  c->acquiring = 0;
}

/* Takes the lead if nobody holds it, else learns who does. */
static void acquire(pl_rdv_cluster *c) {
  char value[80], ttl[24];
  uint64_t epoch;
  if (c->acquiring || !pl_redis_is_up(c->redis))
    return;
  if (pl_random_bytes(&epoch, sizeof epoch) != 0)
    return;
  epoch |= 1; /* never 0, which means "no term" */
  acquire_ctx *x = malloc(sizeof *x);
  if (x == NULL)
    return;
  x->c = c;
  x->epoch = epoch;
  lead_value(value, sizeof value, c->id, epoch);
  snprintf(ttl, sizeof ttl, "%" PRIu64, c->cfg.ttl_ms);
  const char *argv[] = {"SET", c->key_leader, value, "NX", "PX", ttl};
  c->acquiring = 1;
  if (pl_redis_command(c->redis, on_lead_set, x, 6, argv, NULL) != 0) {
    c->acquiring = 0;
    free(x);
  }
}

static void on_refreshed(void *arg, const redisReply *reply, const char *err) {
  pl_rdv_cluster *c = arg;
  (void)err;
  if (c->closing || reply == NULL || reply->type != REDIS_REPLY_INTEGER)
    return;
  if (c->role != PL_RDV_CLUSTER_LEADER)
    return;
  if (reply->integer == 1) {
    announce(c);
    return;
  }
  pl_log(PL_LOG_WARN, "lead_lost", "instance=%s reason=\"the lead key no longer names us\"", c->id);
  set_role(c, PL_RDV_CLUSTER_NO_LEADER, "", 0);
  acquire(c);
}

static void on_released(void *arg, const redisReply *reply, const char *err) {
  pl_rdv_cluster *c = arg;
  (void)reply;
  (void)err;
  if (!c->closing)
    acquire(c);
}

void pl_rdv__cluster_leader_gone(pl_rdv_cluster *c, const char *leader, uint64_t epoch) {
  char value[80];
  if (c->role != PL_RDV_CLUSTER_FOLLOWER || strcmp(leader, c->leader) != 0 || epoch != c->epoch)
    return;
  pl_log(PL_LOG_WARN, "leader_gone", "leader=%s reason=\"nobody reads its channel\"", leader);
  lead_value(value, sizeof value, leader, epoch);
  set_role(c, PL_RDV_CLUSTER_NO_LEADER, "", 0);
  /* Free the dead term at once instead of waiting out its TTL, then race for the lead. */
  const char *argv[] = {"EVAL", RELEASE_LUA, "1", c->key_leader, value};
  if (pl_redis_command(c->redis, on_released, c, 5, argv, NULL) != 0)
    acquire(c);
}

static void on_tick(uv_timer_t *t) {
  pl_rdv_cluster *c = t->data;
  char ttl[24], value[80];
  pl_rdv__front_expire_lists(c, 0);
  if (!pl_redis_is_up(c->redis))
    return;
  snprintf(ttl, sizeof ttl, "%" PRIu64, c->cfg.ttl_ms);
  const char *alive[] = {"SET", c->key_instance, "1", "PX", ttl};
  command(c, on_logged_reply, "SET instance", 5, alive);
  if (c->role == PL_RDV_CLUSTER_LEADER) {
    lead_value(value, sizeof value, c->id, c->epoch);
    const char *argv[] = {"EVAL", REFRESH_LUA, "1", c->key_leader, value, ttl};
    command(c, on_refreshed, c, 6, argv);
    pl_rdv__leader_check_instances(c);
  } else {
    acquire(c);
  }
}

/* --- Redis events ---------------------------------------------------------------------------- */

static void on_redis_state(void *arg, int up, const char *why) {
  pl_rdv_cluster *c = arg;
  if (c->closing)
    return;
  if (up) {
    c->down_why[0] = 0;
    set_role(c, PL_RDV_CLUSTER_NO_LEADER, "", 0);
    on_tick(&c->tick);
    return;
  }
  snprintf(c->down_why, sizeof c->down_why, "%s", why ? why : "down");
  c->acquiring = 0;
  set_role(c, PL_RDV_CLUSTER_ISLAND, "", 0);
}

static void on_announce(pl_rdv_cluster *c, const pl_rdv_cmsg *m) {
  if (strcmp(m->from, c->id) == 0)
    return;
  if (m->leader_epoch == 0)
    return;
  set_role(c, PL_RDV_CLUSTER_FOLLOWER, m->from, m->leader_epoch);
}

static void on_redis_message(void *arg, const char *channel, const uint8_t *data, size_t len) {
  pl_rdv_cluster *c = arg;
  pl_rdv_cmsg *m;
  char err[200];
  if (c->closing)
    return;
  int rv = pl_rdv_cmsg_parse(data, len, &m, err, sizeof err);
  if (rv != 0) {
    pl_log(PL_LOG_WARN, "cluster_message_refused", "channel=%s bytes=%zu reason=\"%s\"", channel,
           len, rv == PL_ERR_NOMEM ? "out of memory" : err);
    return;
  }
  if (strcmp(channel, c->chan_control) == 0) {
    if (m->msg_case == PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_ANNOUNCE)
      on_announce(c, m);
  } else if (is_front_kind(m)) {
    pl_rdv__leader_message(c, m);
  } else if (m->msg_case != PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_ANNOUNCE) {
    pl_rdv__front_message(c, m);
  }
  pl_rdv_cmsg_free(m);
}

/* --- life --------------------------------------------------------------------------------------
 */

static int prefix_valid(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || n > 40)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
          p[i] == '_' || p[i] == '.'))
      return 0;
  return 1;
}

int pl_rdv_cluster_start(pl_rdv_cluster **pc, uv_loop_t *loop, pl_rdv_service *svc,
                         const pl_rdv_cluster_config *cfg, char *err, size_t cap) {
  char host[64];
  int port;
  uint8_t idb[PL_RDV_INSTANCE_HEX / 2];
  *pc = NULL;
  if (pl_hostport_split(cfg->redis, host, &port) != 0 || port <= 0) {
    snprintf(err, cap, "--redis %s: HOST:PORT expected", cfg->redis);
    return PL_ERR_INVALID;
  }
  const char *prefix = cfg->prefix ? cfg->prefix : "peerlink";
  if (!prefix_valid(prefix)) {
    snprintf(err, cap, "--redis-prefix %s: 1-40 characters of a-z 0-9 - _ .", prefix);
    return PL_ERR_INVALID;
  }
  pl_rdv_cluster *c = calloc(1, sizeof *c);
  if (c == NULL || pl_random_bytes(idb, sizeof idb) != 0) {
    free(c);
    snprintf(err, cap, "cannot set up the shared registry: out of memory or randomness");
    return PL_ERR_NOMEM;
  }
  c->loop = loop;
  c->svc = svc;
  c->cfg = *cfg;
  c->role = PL_RDV_CLUSTER_ISLAND;
  snprintf(c->down_why, sizeof c->down_why, "connecting");
  pl_hex_encode(c->id, idb, sizeof idb);
  snprintf(c->redis_addr, sizeof c->redis_addr, "%s", cfg->redis);
  snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
  snprintf(c->chan_self, sizeof c->chan_self, "%s:to:%s", prefix, c->id);
  snprintf(c->chan_control, sizeof c->chan_control, "%s:control", prefix);
  snprintf(c->key_leader, sizeof c->key_leader, "%s:leader", prefix);
  snprintf(c->key_instance, sizeof c->key_instance, "%s:instance:%s", prefix, c->id);
  if (pl_rdv_idmap_init(&c->fronts, 0) != 0 || pl_rdv_idmap_init(&c->lists, 0) != 0 ||
      pl_rdv_idmap_init(&c->proxies, 0) != 0)
    goto nomem;
  pl_redis_config rc = {
      .host = host,
      .port = port,
      .on_state = on_redis_state,
      .on_message = on_redis_message,
      .arg = c,
  };
  int rv = pl_redis_open(loop, &rc, &c->redis);
  if (rv != 0) {
    snprintf(err, cap, "--redis %s: %s", cfg->redis, pl_strerror(rv));
    pl_rdv_cluster_free(c);
    return rv == PL_ERR_INVALID ? PL_ERR_INVALID : PL_ERR_NOMEM;
  }
  if (pl_redis_subscribe(c->redis, c->chan_self) != 0 ||
      pl_redis_subscribe(c->redis, c->chan_control) != 0)
    goto nomem;
  uv_timer_init(loop, &c->tick);
  c->tick.data = c;
  uint64_t every = cfg->ttl_ms / PL_RDV_CLUSTER_TICKS_PER_TTL;
  uv_timer_start(&c->tick, on_tick, every, every);
  svc->cluster = c;
  pl_log(PL_LOG_INFO, "cluster_start", "instance=%s redis=%s prefix=%s ttl_ms=%" PRIu64, c->id,
         cfg->redis, prefix, cfg->ttl_ms);
  *pc = c;
  return 0;
nomem:
  snprintf(err, cap, "cannot set up the shared registry: out of memory");
  pl_rdv_cluster_free(c);
  return PL_ERR_NOMEM;
}

void pl_rdv_cluster_stop(pl_rdv_cluster *c) {
  if (c == NULL || c->closing)
    return;
  if (c->role == PL_RDV_CLUSTER_LEADER && pl_redis_is_up(c->redis)) {
    /* Hand the lead on now rather than after the TTL: the others race for it at once when
     * their next message finds nobody. */
    char value[80];
    lead_value(value, sizeof value, c->id, c->epoch);
    const char *argv[] = {"EVAL", RELEASE_LUA, "1", c->key_leader, value};
    command(c, on_logged_reply, "EVAL release", 5, argv);
  }
  pl_rdv__front_expire_lists(c, 1);
  pl_rdv__front_end_all(c, "rendezvous shutting down");
  c->closing = 1;
  if (c->role == PL_RDV_CLUSTER_LEADER)
    pl_rdv__leader_drop_all(c);
  c->svc->cluster = NULL;
  uv_close((uv_handle_t *)&c->tick, NULL);
  pl_redis_close(c->redis);
  c->redis = NULL;
}

void pl_rdv_cluster_free(pl_rdv_cluster *c) {
  if (c == NULL)
    return;
  if (c->redis)
    pl_redis_close(c->redis);
  pl_rdv__front_free(c);
  pl_rdv_idmap_free(&c->fronts);
  pl_rdv_idmap_free(&c->lists);
  pl_rdv_idmap_free(&c->proxies);
  free(c);
}
