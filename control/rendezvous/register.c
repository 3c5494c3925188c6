/* Register streams: challenge, signed Hello, the registry and its change notifications. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/common/candidates.h"
#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/hello.h"
#include "control/rendezvous/internal.h"

int64_t pl_rendezvous__now_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* gRPC peers look like "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000"; keep the address part. */
static const char *strip_scheme(const char *peer) {
  const char *colon = strchr(peer, ':');
  if (colon && (strncmp(peer, "ipv4:", 5) == 0 || strncmp(peer, "ipv6:", 5) == 0))
    return colon + 1;
  return peer;
}

static void send_change(pl_rdv_agent *to, Peerlink__V1__RegistryChange__Kind kind,
                        Peerlink__V1__AgentInfo *info) {
  Peerlink__V1__RegistryChange change = PEERLINK__V1__REGISTRY_CHANGE__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  if (to->call == NULL)
    return;
  change.kind = kind;
  change.agent = info;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE;
  resp.change = &change;
  pl_rpc_call_send(to->call, &resp.base);
}

/* Tells every registered agent except `about` that `about` changed. */
static void broadcast(pl_rendezvous *rv, pl_agentlist_entry *about,
                      Peerlink__V1__RegistryChange__Kind kind) {
  for (pl_agentlist_entry *e = rv->registry.head; e; e = e->next)
    if (e != about)
      send_change(e->data, kind, about->info);
}

static void log_pairing_end(void *arg, const char *id_hex, pl_pairing_member *other) {
  pl_rdv_agent *ag = arg;
  pl_log(PL_LOG_INFO, "pairing_ended", "pairing=%s agent=%s peer=%s reason=stream_ended", id_hex,
         ag->member.id, other ? other->id : "-");
}

void pl_rendezvous__unregister(pl_rdv_agent *ag) {
  pl_rendezvous *rv = ag->rv;
  pl_agentlist_entry *entry = ag->entry;
  if (entry == NULL)
    return;
  pl_log(PL_LOG_INFO, "unregistered", "agent=%s name=\"%s\" agents=%zu", entry->info->id,
         entry->info->name, rv->registry.count - 1);
  broadcast(rv, entry, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT);
  pl_pairings_leave(&rv->pairings, &ag->member, log_pairing_end, ag);
  pl_agentlist_remove(&rv->registry, entry);
  ag->entry = NULL;
  /* Its partners are free again. */
  pl_rendezvous__autopair(rv);
}

void pl_rendezvous__fail(pl_rdv_agent *ag, pl_rpc_status code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pl_rendezvous__unregister(ag);
  ag->finished = 1;
  if (ag->call)
    pl_rpc_call_finish(ag->call, code, "%s", msg);
}

static void send_challenge(pl_rdv_agent *ag) {
  Peerlink__V1__Challenge ch = PEERLINK__V1__CHALLENGE__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  int rv = ag->rv->pairings.random(ag->nonce, sizeof ag->nonce);
  if (rv != 0) {
    pl_rendezvous__fail(ag, PL_RPC_INTERNAL, "rendezvous cannot make a nonce: %s", pl_strerror(rv));
    return;
  }
  /* The latest nonce is the only one that counts: one per stream, used once. */
  ag->has_nonce = 1;
  ch.nonce.data = ag->nonce;
  ch.nonce.len = sizeof ag->nonce;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE;
  resp.challenge = &ch;
  pl_rpc_call_send(ag->call, &resp.base);
}

/* The same agent registering again (say its old TCP connection is not dead yet) replaces the
 * old stream: the newest registration is the live one. Only a signed Hello gets here, so only
 * the key's holder can push a registration out. */
static void replace_old(pl_rendezvous *rv, const char *id) {
  pl_agentlist_entry *old = pl_agentlist_find(&rv->registry, id);
  if (old == NULL)
    return;
  pl_rendezvous__fail(old->data, PL_RPC_ABORTED, "replaced by a newer registration of agent %s",
                      id);
}

static void send_registered(pl_rdv_agent *ag) {
  pl_rendezvous *rv = ag->rv;
  Peerlink__V1__Registered registered = PEERLINK__V1__REGISTERED__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  registered.self = ag->entry->info;
  registered.udp_port = rv->udp_port;
  registered.udp_alt_port = rv->udp_alt_port;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED;
  resp.registered = &registered;
  pl_rpc_call_send(ag->call, &resp.base);
}

static int add_entry(pl_rdv_agent *ag, const Peerlink__V1__Hello *hello) {
  pl_rendezvous *rv = ag->rv;
  Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
  info.id = hello->id;
  info.name = hello->name;
  info.observed_address = (char *)strip_scheme(pl_rpc_call_peer(ag->call));
  info.n_candidates = hello->n_candidates;
  info.candidates = hello->candidates;
  info.registered_unix_ms = pl_rendezvous__now_unix_ms();
  info.cert_fingerprint = hello->cert_fingerprint;
  info.version = hello->version;
  info.nat_behavior = hello->nat_behavior;

  uint8_t *key = malloc(hello->public_key.len);
  if (key == NULL)
    return PL_ERR_NOMEM;
  pl_agentlist_entry *entry;
  if (pl_agentlist_put(&rv->registry, &info, &entry) != 0) {
    free(key);
    return PL_ERR_NOMEM;
  }
  memcpy(key, hello->public_key.data, hello->public_key.len);
  free(ag->public_key);
  ag->public_key = key;
  ag->public_key_len = hello->public_key.len;
  pl_pairing_member_init(&ag->member, ag, hello->id);
  entry->data = ag;
  ag->entry = entry;
  return 0;
}

void pl_rendezvous__hello(pl_rdv_agent *ag, const Peerlink__V1__Hello *hello) {
  pl_rendezvous *rv = ag->rv;
  char err[256];
  if (pl_hello_validate(hello, err, sizeof err) != 0) {
    pl_rendezvous__fail(ag, PL_RPC_INVALID_ARGUMENT, "%s", err);
    return;
  }
  if (!pl_hello_is_signed(hello)) {
    send_challenge(ag);
    return;
  }
  if (!ag->has_nonce) {
    pl_rendezvous__fail(ag, PL_RPC_UNAUTHENTICATED,
                        "hello.challenge: this stream sent no Challenge yet; send hello without "
                        "challenge and signature first, then sign the nonce it returns");
    return;
  }
  ag->has_nonce = 0;
  if (pl_hello_check_proof(hello, ag->nonce, sizeof ag->nonce, err, sizeof err) != 0) {
    /* The field name is the reason: "hello.signature" or "hello.challenge". */
    pl_log(PL_LOG_WARN, "register_refused", "agent=%s from=%s reason=%.*s", hello->id,
           strip_scheme(pl_rpc_call_peer(ag->call)), (int)strcspn(err, ":"), err);
    pl_rendezvous__fail(ag, PL_RPC_UNAUTHENTICATED, "%s", err);
    return;
  }
  replace_old(rv, hello->id);
  if (add_entry(ag, hello) != 0) {
    pl_rendezvous__fail(ag, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  pl_agentlist_entry *entry = ag->entry;
  send_registered(ag);
  /* The newcomer learns who is already here from the same stream that later tells it about
   * changes, so its view never needs polling. */
  for (pl_agentlist_entry *e = rv->registry.head; e; e = e->next)
    if (e != entry)
      send_change(ag, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED, e->info);
  broadcast(rv, entry, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED);
  pl_log(PL_LOG_INFO, "registered", "agent=%s name=\"%s\" from=%s candidates=%zu agents=%zu",
         entry->info->id, entry->info->name, entry->info->observed_address,
         entry->info->n_candidates, rv->registry.count);
  pl_rendezvous__autopair(rv);
}

void pl_rendezvous__candidates(pl_rdv_agent *ag, const Peerlink__V1__CandidatesUpdate *upd) {
  pl_rendezvous *rv = ag->rv;
  char err[256];
  if (pl_candidates_validate(upd->candidates, upd->n_candidates, "candidates.candidates", err,
                             sizeof err) != 0) {
    pl_rendezvous__fail(ag, PL_RPC_INVALID_ARGUMENT, "%s", err);
    return;
  }
  Peerlink__V1__AgentInfo info = *ag->entry->info;
  info.n_candidates = upd->n_candidates;
  info.candidates = upd->candidates;
  info.nat_behavior = upd->nat_behavior;
  if (pl_agentlist_put(&rv->registry, &info, NULL) != 0) {
    pl_rendezvous__fail(ag, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  pl_log(PL_LOG_DEBUG, "candidates", "agent=%s candidates=%zu", ag->member.id, upd->n_candidates);
  broadcast(rv, ag->entry, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED);
  pl_rendezvous__autopair(rv);
}
