#include "agent/registration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/version.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/hex.h"
#include "control/common/log.h"

static void attempt(pl_registration *reg);

static void set_state(pl_registration *reg, Peerlink__V1__RendezvousState state,
                      const char *detail) {
  reg->state = state;
  snprintf(reg->detail, sizeof reg->detail, "%s", detail);
  if (reg->cb.on_state)
    reg->cb.on_state(reg->arg, state, detail);
}

static void on_retry_timer(uv_timer_t *t) {
  attempt(t->data);
}

static void schedule_retry(pl_registration *reg) {
  /* Jitter spreads the reconnects of many agents after a rendezvous restart. */
  uv_timer_start(&reg->retry, on_retry_timer, pl_backoff_next(&reg->backoff), 0);
}

static void on_timer_closed(uv_handle_t *h) {
  pl_registration *reg = h->data;
  if (reg->stopped)
    reg->stopped(reg->stopped_arg);
}

static void finish_stop(pl_registration *reg) {
  if (reg->channel) {
    pl_rpc_channel_free(reg->channel);
    reg->channel = NULL;
  }
  uv_close((uv_handle_t *)&reg->retry, on_timer_closed);
}

/* Hello, unsigned (challenge == NULL) or signed over the rendezvous's nonce. */
/* A message the stream must carry could not be queued: without it the rendezvous's view of us
 * is wrong, so start over; the next Hello carries everything. */
static void restart(pl_registration *reg, const char *what, int rv) {
  pl_log(PL_LOG_WARN, "register_restart", "rendezvous=%s message=%s reason=\"%s\"", reg->target,
         what, pl_strerror(rv));
  pl_rpc_client_call_cancel(reg->call); /* on_status schedules the retry */
}

static void send_hello(pl_registration *reg, const uint8_t *challenge, size_t challengelen) {
  Peerlink__V1__Hello hello = PEERLINK__V1__HELLO__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  uint8_t sig[PL_IDENTITY_SIG_MAX];
  size_t siglen = sizeof sig;
  hello.id = (char *)reg->ident->id;
  hello.name = (char *)reg->name;
  hello.public_key.data = reg->ident->public_key_der;
  hello.public_key.len = reg->ident->public_key_der_len;
  hello.cert_fingerprint = (char *)reg->ident->cert_fingerprint;
  hello.version = PL_AGENT_VERSION;
  hello.candidates = reg->candidates;
  hello.n_candidates = reg->n_candidates;
  hello.nat_behavior = reg->nat_behavior;
  hello.network = (char *)(reg->network ? reg->network : "");
  if (challenge) {
    /* The layout (rendezvous.proto, Hello.signature) lives in agent/identity. */
    int rv = pl_identity_sign_register(reg->ident, challenge, challengelen, sig, &siglen);
    if (rv != 0) {
      pl_log(PL_LOG_ERROR, "sign_failed", "rendezvous=%s challenge_len=%zu error=\"%s\"",
             reg->target, challengelen, pl_strerror(rv));
      pl_rpc_client_call_cancel(reg->call);
      return;
    }
    hello.challenge.data = (uint8_t *)challenge;
    hello.challenge.len = challengelen;
    hello.signature.data = sig;
    hello.signature.len = siglen;
  }
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO;
  req.hello = &hello;
  int rv = pl_rpc_client_call_send(reg->call, &req.base);
  if (rv != 0)
    restart(reg, "hello", rv);
}

/* WatchPeers with every --watch ID. Returns 0, or the send's error (the stream restarts: the
 * agent would miss the changes it asked for). */
static int send_watch(pl_registration *reg) {
  Peerlink__V1__WatchPeers w = PEERLINK__V1__WATCH_PEERS__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  char *ids[PL_REGISTRATION_WATCH_MAX];
  if (reg->n_watch == 0)
    return 0;
  for (size_t i = 0; i < reg->n_watch; i++)
    ids[i] = reg->watch[i];
  w.peer_ids = ids;
  w.n_peer_ids = reg->n_watch;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_WATCH;
  req.watch = &w;
  int rv = pl_rpc_client_call_send(reg->call, &req.base);
  if (rv != 0)
    restart(reg, "watch", rv);
  return rv;
}

int pl_registration_set_watch(pl_registration *reg, const char *list, char *err, size_t errlen) {
  reg->n_watch = 0;
  for (const char *p = list; p && *p;) {
    size_t len = strcspn(p, ",");
    char id[33];
    if (len != 32) {
      snprintf(err, errlen, "--watch: \"%.*s\" is not an agent ID (32 hex characters)",
               (int)(len > 40 ? 40 : len), p);
      return PL_ERR_INVALID;
    }
    for (size_t i = 0; i < 32; i++)
      id[i] = (char)(p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 'a' : p[i]);
    id[32] = '\0';
    if (!pl_hex_is_lower(id, 32)) {
      snprintf(err, errlen, "--watch: \"%s\" is not an agent ID (32 hex characters)", id);
      return PL_ERR_INVALID;
    }
    size_t k = 0;
    while (k < reg->n_watch && strcmp(reg->watch[k], id) != 0)
      k++;
    if (k == reg->n_watch) {
      if (reg->n_watch == PL_REGISTRATION_WATCH_MAX) {
        snprintf(err, errlen, "--watch: at most %d IDs", PL_REGISTRATION_WATCH_MAX);
        return PL_ERR_TOO_BIG;
      }
      memcpy(reg->watch[reg->n_watch++], id, sizeof id);
    }
    p += len;
    p += *p == ',';
  }
  return 0;
}

int pl_registration_set_targets(pl_registration *reg, const char *list, char *err, size_t errlen) {
  char host[64];
  int port;
  reg->n_targets = 0;
  reg->next_target = 0;
  reg->target = NULL;
  for (const char *p = list ? list : "";;) {
    size_t len = strcspn(p, ",");
    const char *entry = p, *scheme;
    /* RENDEZVOUS_SERVICE_URL from the Python prototype's deployments: grpc://host:port. */
    scheme = strstr(entry, "://");
    if (scheme != NULL && scheme < entry + len) {
      len -= (size_t)(scheme + 3 - entry);
      entry = scheme + 3;
    }
    if (len == 0) {
      snprintf(err, errlen, "--rendezvous: empty address in \"%.120s\" (HOST:PORT[,HOST:PORT...])",
               list ? list : "");
      return PL_ERR_INVALID;
    }
    if (reg->n_targets == PL_REGISTRATION_TARGETS_MAX) {
      snprintf(err, errlen, "--rendezvous: at most %d addresses", PL_REGISTRATION_TARGETS_MAX);
      return PL_ERR_TOO_BIG;
    }
    char *t = reg->targets[reg->n_targets];
    int ok = len < PL_REGISTRATION_TARGET_LEN;
    if (ok) {
      memcpy(t, entry, len);
      t[len] = '\0';
      ok = pl_hostport_split(t, host, &port) == 0;
    }
    if (!ok) {
      snprintf(err, errlen, "--rendezvous: \"%.*s\" is not HOST:PORT (port 0-65535)",
               (int)(len > 100 ? 100 : len), entry);
      return PL_ERR_INVALID;
    }
    reg->n_targets++;
    p = entry + len;
    if (*p == '\0')
      break;
    p++; /* a trailing comma leaves an empty entry: refused above */
  }
  reg->target = reg->targets[0];
  return 0;
}

static void on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  pl_registration *reg = arg;
  const Peerlink__V1__RegisterResponse *resp = (const Peerlink__V1__RegisterResponse *)msg;
  char detail[128];
  (void)call;
  switch (resp->msg_case) {
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE:
    send_hello(reg, resp->challenge->nonce.data, resp->challenge->nonce.len);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED:
    pl_backoff_reset(&reg->backoff);
    reg->registered = 1;
    snprintf(detail, sizeof detail, "registered with %s as %s", reg->target,
             resp->registered->self ? resp->registered->self->observed_address : "?");
    pl_log(PL_LOG_INFO, "registered", "rendezvous=%s attempts=%llu udp_port=%u", reg->target,
           (unsigned long long)reg->attempts, resp->registered->udp_port);
    reg->stun_tcp_port = resp->registered->stun_tcp_port;
    /* Watches belong to the stream: every registration asks again. */
    if (send_watch(reg) != 0)
      break; /* the stream restarts */
    if (reg->candidates_pending) {
      reg->candidates_pending = 0;
      if (pl_registration_update_candidates(reg) != 0)
        break; /* the stream restarts, and its Hello carries them */
    }
    if (reg->cb.on_registered)
      reg->cb.on_registered(reg->arg, resp->registered->udp_port, resp->registered->udp_alt_port);
    set_state(reg, PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_REGISTERED, detail);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE:
    if (resp->change->agent != NULL && reg->cb.on_change)
      reg->cb.on_change(reg->arg, resp->change);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER:
    if (reg->cb.on_offer)
      reg->cb.on_offer(reg->arg, resp->offer);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_PAIR_ERROR:
    if (reg->cb.on_pair_error)
      reg->cb.on_pair_error(reg->arg, resp->pair_error);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_RELAY:
    if (reg->cb.on_relay)
      reg->cb.on_relay(reg->arg, resp->relay->pairing_id, resp->relay->payload.data,
                       resp->relay->payload.len);
    break;
  default: break;
  }
}

static void on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                      void *arg) {
  pl_registration *reg = arg;
  char detail[256];
  (void)call;
  reg->call = NULL;
  reg->registered = 0;
  reg->stun_tcp_port = 0; /* this instance's; the next may be another */
  if (reg->cb.on_reset)
    reg->cb.on_reset(reg->arg);
  if (reg->stopping) {
    finish_stop(reg);
    return;
  }
  snprintf(detail, sizeof detail, "%s: %s", pl_rpc_status_name(code), message ? message : "");
  pl_log(PL_LOG_WARN, "rendezvous_lost", "rendezvous=%s status=%s retry_in_ms<=%llu%s%s",
         reg->target, pl_rpc_status_name(code), (unsigned long long)reg->backoff.cur_ms,
         reg->n_targets > 1 ? " next=" : "",
         reg->n_targets > 1 ? reg->targets[reg->next_target] : "");
  set_state(reg, PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISCONNECTED, detail);
  schedule_retry(reg);
}

static const pl_rpc_client_callbacks register_callbacks = {
    .on_message = on_message,
    .on_status = on_status,
};

/* Every attempt follows a failure or an ended stream: move on to the next instance. */
static void pick_target(pl_registration *reg) {
  if (reg->n_targets == 0)
    return; /* `target` was set directly: the only one */
  reg->target = reg->targets[reg->next_target];
  reg->next_target = (reg->next_target + 1) % reg->n_targets;
}

static void attempt(pl_registration *reg) {
  char detail[160];
  int rv;
  reg->attempts++;
  pick_target(reg);
  if (reg->cb.on_target)
    reg->cb.on_target(reg->arg, reg->target);
  reg->candidates_pending = 0; /* this attempt's Hello carries the current list */
  /* A fresh channel per attempt: gRPC's own reconnect backoff grows to minutes, ours is
   * bounded at PL_REGISTRATION_BACKOFF_MAX_MS. */
  if (reg->channel) {
    pl_rpc_channel_free(reg->channel);
    reg->channel = NULL;
  }
  rv = pl_rpc_channel_new(&reg->channel, reg->loop, reg->target, reg->token);
  if (rv == 0)
    rv = pl_rpc_client_call_start(&reg->call, reg->channel, "/peerlink.v1.Rendezvous/Register",
                                  &peerlink__v1__register_response__descriptor, &register_callbacks,
                                  reg, 0);
  if (rv != 0) {
    snprintf(detail, sizeof detail, "cannot start Register: %s", pl_strerror(rv));
    set_state(reg, PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISCONNECTED, detail);
    schedule_retry(reg);
    return;
  }
  /* Unsigned first: the rendezvous answers with a Challenge to sign. */
  send_hello(reg, NULL, 0);
  snprintf(detail, sizeof detail, "connecting to %s (attempt %llu)", reg->target,
           (unsigned long long)reg->attempts);
  set_state(reg, PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_CONNECTING, detail);
}

int pl_registration_start(pl_registration *reg, uv_loop_t *loop) {
  reg->loop = loop;
  pl_backoff_init(&reg->backoff, PL_REGISTRATION_BACKOFF_MIN_MS, PL_REGISTRATION_BACKOFF_MAX_MS,
                  reg->random);
  reg->channel = NULL;
  reg->call = NULL;
  reg->registered = 0;
  reg->stun_tcp_port = 0;
  reg->next_target = 0;
  reg->stopping = 0;
  reg->stopped = NULL;
  uv_timer_init(loop, &reg->retry);
  reg->retry.data = reg;
  attempt(reg);
  return 0;
}

int pl_registration_is_registered(const pl_registration *reg) {
  return reg->call != NULL && reg->registered;
}

int pl_registration_update_candidates(pl_registration *reg) {
  Peerlink__V1__CandidatesUpdate upd = PEERLINK__V1__CANDIDATES_UPDATE__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  if (!pl_registration_is_registered(reg)) {
    /* The Hello on the stream may already have gone out with the old list, and the
     * rendezvous would keep it: send the new one as soon as Registered arrives. */
    reg->candidates_pending = reg->call != NULL;
    return PL_ERR_STATE;
  }
  upd.candidates = reg->candidates;
  upd.n_candidates = reg->n_candidates;
  upd.nat_behavior = reg->nat_behavior;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES;
  req.candidates = &upd;
  int rv = pl_rpc_client_call_send(reg->call, &req.base);
  if (rv != 0)
    restart(reg, "candidates", rv);
  return rv;
}

int pl_registration_pair(pl_registration *reg, const char *peer_id) {
  Peerlink__V1__PairRequest pair = PEERLINK__V1__PAIR_REQUEST__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  if (!pl_registration_is_registered(reg))
    return PL_ERR_STATE;
  pair.peer_id = (char *)peer_id;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR;
  req.pair = &pair;
  return pl_rpc_client_call_send(reg->call, &req.base);
}

int pl_registration_relay(pl_registration *reg, const char *pairing_id, const uint8_t *data,
                          size_t len) {
  Peerlink__V1__RelayDatagram relay = PEERLINK__V1__RELAY_DATAGRAM__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  if (!pl_registration_is_registered(reg))
    return PL_ERR_STATE;
  relay.pairing_id = (char *)pairing_id;
  relay.payload.data = (uint8_t *)data;
  relay.payload.len = len;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_RELAY;
  req.relay = &relay;
  return pl_rpc_client_call_send(reg->call, &req.base);
}

static void on_stop_grace(uv_timer_t *t) {
  pl_registration *reg = t->data;
  if (reg->call)
    pl_rpc_client_call_cancel(reg->call); /* on_status finishes the stop */
}

void pl_registration_stop(pl_registration *reg, void (*stopped)(void *arg), void *arg) {
  reg->stopping = 1;
  reg->stopped = stopped;
  reg->stopped_arg = arg;
  uv_timer_stop(&reg->retry);
  if (reg->call == NULL) {
    finish_stop(reg);
    return;
  }
  /* The rendezvous ends a half-closed Register stream with OK once it has read everything. */
  if (pl_rpc_client_call_close_send(reg->call) == 0)
    uv_timer_start(&reg->retry, on_stop_grace, PL_REGISTRATION_STOP_GRACE_MS, 0);
  else
    pl_rpc_client_call_cancel(reg->call);
}
