#include "agent/registration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "control/common/err.h"
#include "control/common/log.h"

static void attempt(pl_registration *reg);

static void set_state(pl_registration *reg, Peerlink__V1__RendezvousState state,
                      const char *detail) {
  reg->state = state;
  snprintf(reg->detail, sizeof reg->detail, "%s", detail);
  reg->cb.on_state(reg->arg, state, detail);
}

static void on_retry_timer(uv_timer_t *t) {
  attempt(t->data);
}

static void schedule_retry(pl_registration *reg) {
  /* Jitter spreads the reconnects of many agents after a rendezvous restart. */
  uint64_t delay = reg->backoff_ms / 2 + (uint64_t)rand() % (reg->backoff_ms / 2 + 1);
  reg->backoff_ms *= 2;
  if (reg->backoff_ms > PL_REGISTRATION_BACKOFF_MAX_MS)
    reg->backoff_ms = PL_REGISTRATION_BACKOFF_MAX_MS;
  uv_timer_start(&reg->retry, on_retry_timer, delay, 0);
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

static void on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  pl_registration *reg = arg;
  const Peerlink__V1__RegisterResponse *resp = (const Peerlink__V1__RegisterResponse *)msg;
  char detail[128];
  (void)call;
  switch (resp->msg_case) {
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED:
    reg->backoff_ms = PL_REGISTRATION_BACKOFF_MIN_MS;
    snprintf(detail, sizeof detail, "registered with %s as %s", reg->target,
             resp->registered->self ? resp->registered->self->observed_address : "?");
    pl_log(PL_LOG_INFO, "registered", "rendezvous=%s attempts=%llu", reg->target,
           (unsigned long long)reg->attempts);
    set_state(reg, PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_REGISTERED, detail);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE:
    if (resp->change->agent != NULL)
      reg->cb.on_change(reg->arg, resp->change);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER:
    pl_log(PL_LOG_WARN, "offer_ignored", "reason=\"pairing is not built yet\"");
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
  reg->cb.on_reset(reg->arg);
  if (reg->stopping) {
    finish_stop(reg);
    return;
  }
  snprintf(detail, sizeof detail, "%s: %s", pl_rpc_status_name(code), message ? message : "");
  pl_log(PL_LOG_WARN, "rendezvous_lost", "rendezvous=%s status=%s retry_in_ms<=%llu", reg->target,
         pl_rpc_status_name(code), (unsigned long long)reg->backoff_ms);
  set_state(reg, PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISCONNECTED, detail);
  schedule_retry(reg);
}

static const pl_rpc_client_callbacks register_callbacks = {
    .on_message = on_message,
    .on_status = on_status,
};

static void attempt(pl_registration *reg) {
  char detail[160];
  int rv;
  reg->attempts++;
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
  Peerlink__V1__Hello hello = PEERLINK__V1__HELLO__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  hello.id = (char *)reg->ident->id;
  hello.name = (char *)reg->name;
  hello.public_key.data = reg->ident->public_key_der;
  hello.public_key.len = reg->ident->public_key_der_len;
  hello.cert_fingerprint = (char *)reg->ident->cert_fingerprint;
  hello.version = PL_AGENT_VERSION;
  hello.candidates = reg->candidates;
  hello.n_candidates = reg->n_candidates;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO;
  req.hello = &hello;
  pl_rpc_client_call_send(reg->call, &req.base);
  snprintf(detail, sizeof detail, "connecting to %s (attempt %llu)", reg->target,
           (unsigned long long)reg->attempts);
  set_state(reg, PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_CONNECTING, detail);
}

int pl_registration_start(pl_registration *reg, uv_loop_t *loop) {
  reg->loop = loop;
  reg->backoff_ms = PL_REGISTRATION_BACKOFF_MIN_MS;
  reg->channel = NULL;
  reg->call = NULL;
  reg->stopping = 0;
  reg->stopped = NULL;
  uv_timer_init(loop, &reg->retry);
  reg->retry.data = reg;
  attempt(reg);
  return 0;
}

void pl_registration_stop(pl_registration *reg, void (*stopped)(void *arg), void *arg) {
  reg->stopping = 1;
  reg->stopped = stopped;
  reg->stopped_arg = arg;
  uv_timer_stop(&reg->retry);
  if (reg->call)
    pl_rpc_client_call_cancel(reg->call); /* on_status finishes the stop */
  else
    finish_stop(reg);
}
