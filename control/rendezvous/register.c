/* Register streams' inputs: challenge, signed Hello, candidate updates, pair requests and the
 * end of a stream. The checks are hello.c's, the decisions registry.c's; this file turns a
 * stream's messages into registry inputs and has their actions carried out. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control/common/candidates.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/log.h"
#include "control/rendezvous/hello.h"
#include "control/rendezvous/internal.h"

/* gRPC peers look like "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000"; keep the address part. */
static const char *strip_scheme(const char *peer) {
  const char *colon = strchr(peer, ':');
  if (colon && (strncmp(peer, "ipv4:", 5) == 0 || strncmp(peer, "ipv6:", 5) == 0))
    return colon + 1;
  return peer;
}

void pl_rdv__unregister(pl_rdv__stream *st) {
  pl_rdv_service *svc = st->svc;
  if (st->remote) {
    pl_rdv__cluster_leave(st);
    return;
  }
  const Peerlink__V1__AgentInfo *info = st->agent.info;
  if (info == NULL)
    return;
  pl_log(PL_LOG_INFO, "unregistered", "agent=%s name=\"%s\" agents=%zu", info->id, info->name,
         svc->registry.count - 1);
  pl_rdv__notify(svc, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT, info);
  pl_rdv_registry_leave(&svc->registry, &st->agent, pl_clock_unix_ms(), &svc->actions);
  pl_rdv__execute(svc);
}

void pl_rdv__fail(pl_rdv__stream *st, pl_rpc_status code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pl_rdv__unregister(st);
  st->finished = 1;
  pl_rdv__finish(st, code, msg);
}

static void send_challenge(pl_rdv__stream *st) {
  Peerlink__V1__Challenge ch = PEERLINK__V1__CHALLENGE__INIT;
  Peerlink__V1__RegisterResponse resp = PEERLINK__V1__REGISTER_RESPONSE__INIT;
  int rv = st->svc->registry.pairings.random(st->nonce, sizeof st->nonce);
  if (rv != 0) {
    pl_rdv__fail(st, PL_RPC_INTERNAL, "rendezvous cannot make a nonce: %s", pl_strerror(rv));
    return;
  }
  /* The latest nonce is the only one that counts: one per stream, used once. */
  st->has_nonce = 1;
  ch.nonce.data = st->nonce;
  ch.nonce.len = sizeof st->nonce;
  resp.msg_case = PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE;
  resp.challenge = &ch;
  /* The stream's first answer: the queue is empty, only memory can refuse it. */
  rv = pl_rdv__send(st, &resp);
  if (rv != 0 && rv != PL_ERR_CLOSED)
    pl_rdv__fail(st, PL_RPC_RESOURCE_EXHAUSTED, "challenge not sent: %s", pl_strerror(rv));
}

void pl_rdv__join(pl_rdv__stream *st, const Peerlink__V1__AgentInfo *info, const char *network,
                  const uint8_t *public_key, size_t public_key_len) {
  pl_rdv_service *svc = st->svc;
  int rv = pl_rdv_registry_join(&svc->registry, &st->agent, info, network, public_key,
                                public_key_len, pl_clock_unix_ms(), &svc->actions);
  if (rv == 0) {
    const Peerlink__V1__AgentInfo *self = st->agent.info;
    /* Its first answer is its whole view, one message per agent it sees: the stream's queue
     * gets room for that on top of the usual limit, so only a reader that falls behind later
     * is cut off. */
    size_t mine = 0;
    for (size_t i = 0; i < svc->actions.n; i++)
      mine += svc->actions.v[i].to == &st->agent;
    pl_rdv__grow(st, mine);
    pl_log(PL_LOG_INFO, "registered",
           "agent=%s name=\"%s\" network=\"%s\" from=%s candidates=%zu agents=%zu", self->id,
           self->name, pl_rdv_registry_network(&st->agent), self->observed_address,
           self->n_candidates, svc->registry.count);
    pl_rdv__notify(svc, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED, self);
  }
  /* Also on failure: a registration this one replaced has been ended. */
  pl_rdv__execute(svc);
  if (rv != 0)
    pl_rdv__fail(st, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous cannot register: %s", pl_strerror(rv));
}

/* The record a proven Hello registers: what the agent said, and the address we saw. */
static void join(pl_rdv__stream *st, const Peerlink__V1__Hello *hello) {
  Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
  info.id = hello->id;
  info.name = hello->name;
  info.observed_address = (char *)strip_scheme(pl_rdv__peer(st));
  info.n_candidates = hello->n_candidates;
  info.candidates = hello->candidates;
  info.cert_fingerprint = hello->cert_fingerprint;
  info.version = hello->version;
  info.nat_behavior = hello->nat_behavior;
  if (pl_rdv__cluster_routes(st->svc))
    pl_rdv__cluster_join(st, &info, hello->network, hello->public_key.data, hello->public_key.len);
  else
    pl_rdv__join(st, &info, hello->network, hello->public_key.data, hello->public_key.len);
}

void pl_rdv__hello(pl_rdv__stream *st, const Peerlink__V1__Hello *hello) {
  char err[256];
  if (pl_rdv_hello_validate(hello, err, sizeof err) != 0) {
    pl_rdv__fail(st, PL_RPC_INVALID_ARGUMENT, "%s", err);
    return;
  }
  if (!pl_rdv_network_valid(hello->network)) {
    pl_rdv__fail(st, PL_RPC_INVALID_ARGUMENT,
                 "hello.network: at most %d characters of A-Z a-z 0-9 . _ : -", PL_RDV_NETWORK_MAX);
    return;
  }
  if (!pl_rdv_hello_is_signed(hello)) {
    send_challenge(st);
    return;
  }
  if (!st->has_nonce) {
    pl_rdv__fail(st, PL_RPC_UNAUTHENTICATED,
                 "hello.challenge: this stream sent no Challenge yet; send hello without "
                 "challenge and signature first, then sign the nonce it returns");
    return;
  }
  st->has_nonce = 0;
  if (pl_rdv_hello_check_proof(hello, st->nonce, sizeof st->nonce, err, sizeof err) != 0) {
    /* The field name is the reason: "hello.signature" or "hello.challenge". */
    pl_log(PL_LOG_WARN, "register_refused", "agent=%s from=%s reason=%.*s", hello->id,
           strip_scheme(pl_rdv__peer(st)), (int)strcspn(err, ":"), err);
    pl_rdv__fail(st, PL_RPC_UNAUTHENTICATED, "%s", err);
    return;
  }
  join(st, hello);
}

void pl_rdv__candidates(pl_rdv__stream *st, const Peerlink__V1__CandidatesUpdate *upd) {
  pl_rdv_service *svc = st->svc;
  char err[256];
  if (pl_candidates_validate(upd->candidates, upd->n_candidates, "candidates.candidates", err,
                             sizeof err) != 0) {
    pl_rdv__fail(st, PL_RPC_INVALID_ARGUMENT, "%s", err);
    return;
  }
  int rv = pl_rdv_registry_update(&svc->registry, &st->agent, upd->candidates, upd->n_candidates,
                                  upd->nat_behavior, pl_clock_unix_ms(), &svc->actions);
  pl_rdv__execute(svc);
  if (rv != 0) {
    pl_rdv__fail(st, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
    return;
  }
  pl_rdv__notify(svc, PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_UPDATED, st->agent.info);
  pl_log(PL_LOG_DEBUG, "candidates", "agent=%s candidates=%zu", st->agent.member.id,
         upd->n_candidates);
}

void pl_rdv__pair(pl_rdv__stream *st, const Peerlink__V1__PairRequest *req) {
  pl_rdv_service *svc = st->svc;
  pl_rdv_registry_pair(&svc->registry, &st->agent, req->peer_id, pl_clock_unix_ms(), &svc->actions);
  pl_rdv__execute(svc);
}

/* Watch and unwatch share their checks: every ID well-formed, or nothing happens. */
void pl_rdv__watch(pl_rdv__stream *st, char *const *ids, size_t n, int watch) {
  pl_rdv_service *svc = st->svc;
  const char *field = watch ? "watch" : "unwatch";
  size_t bad = 0;
  int rv = watch ? pl_rdv_registry_watch(&svc->registry, &st->agent, ids, n, &svc->actions, &bad)
                 : pl_rdv_registry_unwatch(&svc->registry, &st->agent, ids, n, &svc->actions, &bad);
  pl_rdv__execute(svc);
  if (rv == PL_ERR_INVALID)
    pl_rdv__fail(st, PL_RPC_INVALID_ARGUMENT,
                 "%s.peer_ids[%zu]: 32 lowercase hex characters expected", field, bad);
  else if (rv == PL_ERR_FULL)
    pl_rdv__fail(st, PL_RPC_RESOURCE_EXHAUSTED, "%s.peer_ids: a stream may watch at most %d agents",
                 field, PL_RDV_WATCH_MAX);
  else if (rv != 0)
    pl_rdv__fail(st, PL_RPC_RESOURCE_EXHAUSTED, "rendezvous out of memory");
  else
    pl_log(PL_LOG_DEBUG, field, "agent=%s ids=%zu watching=%zu", st->agent.member.id, n,
           st->agent.n_watching);
}
