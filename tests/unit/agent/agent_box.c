#include "tests/unit/agent/agent_box.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/candidates.h"
#include "control/common/addr.h"
#include "control/common/hex.h"
#include "tests/unit/common/check.h"

void box_init(agent_box *b, uv_loop_t *loop, const char *id, const char *fingerprint) {
  struct sockaddr_storage ss;
  memset(b, 0, sizeof *b);
  b->loop = loop;
  pl_agent *a = &b->a;
  a->loop = loop;
  a->name = "box";
  snprintf(a->ident.id, sizeof a->ident.id, "%s", id);
  snprintf(a->ident.cert_fingerprint, sizeof a->ident.cert_fingerprint, "%s", fingerprint);
  CHECK(pl_addr_parse(&ss, "127.0.0.1", 0) == 0);
  CHECK_RV(pl_transport_open(&a->transport, loop, (const struct sockaddr *)&ss), 0);
  pl_transport_local_text(&a->transport, a->udp_addr, sizeof a->udp_addr);
  a->links.keepalive_us = 200000;
  pl_agent_links_init(a);
  pl_agent_stun_init(a);
  pl_agentlist_init(&a->peers);
  pl_events_init(&a->events);
  pl_agent_service_init(a);
  a->reg.state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_DISABLED;
  snprintf(a->reg.detail, sizeof a->reg.detail, "no --rendezvous configured");
}

void box_init_agent(agent_box *b, uv_loop_t *loop, const fixture_agent *key,
                    const char *fingerprint) {
  char id[2 * PL_SEAL_ID_LEN + 1];
  pl_hex_encode(id, key->id, sizeof key->id);
  box_init(b, loop, id, fingerprint);
  b->key = *key;
  pl_agent *a = &b->a;
  a->ident.private_key_der = b->key.sec1;
  a->ident.private_key_der_len = sizeof b->key.sec1;
  a->ident.public_key_der = b->key.spki;
  a->ident.public_key_der_len = sizeof b->key.spki;
  a->links.self_key_der = b->key.sec1;
  a->links.self_key_der_len = sizeof b->key.sec1;
}

void box_register(agent_box *b, const char *peer_id) {
  pl_agent *a = &b->a;
  a->reg.target = "rendezvous.test:1";
  a->reg.call = &b->stream;
  a->reg.registered = 1;
  a->reg.state = PEERLINK__V1__RENDEZVOUS_STATE__RENDEZVOUS_STATE_REGISTERED;
  if (peer_id) {
    Peerlink__V1__AgentInfo info = PEERLINK__V1__AGENT_INFO__INIT;
    pl_agentlist_entry *e;
    info.id = (char *)peer_id;
    info.name = "peer";
    CHECK_RV(pl_agentlist_put(&a->peers, &info, &e), 0);
  }
}

static const pl_rpc_method *method(const agent_box *b, const char *name) {
  for (size_t i = 0; i < b->a.service.n_methods; i++)
    if (strcmp(b->a.service.methods[i].name, name) == 0)
      return &b->a.service.methods[i];
  CHECK_MSG(0, "no method %s", name);
  return NULL;
}

void box_call(agent_box *b, const char *name, pl_rpc_call *call, const ProtobufCMessage *req) {
  fake_call_init(call);
  method(b, name)->on_request(call, req, b->a.service.data);
}

void box_done(agent_box *b, const char *name, pl_rpc_call *call, int cancelled) {
  const pl_rpc_method *m = method(b, name);
  if (m->on_done)
    m->on_done(call, cancelled, b->a.service.data);
}

void box_close(agent_box *b) {
  pl_agent *a = &b->a;
  pl_agent_links_close(a, "agent stopping");
  pl_agent_stun_close(a);
  pl_transport_close(&a->transport, NULL, NULL);
  pl_agentlist_free(&a->peers);
  if (a->cands)
    pl_candidates_free(a->cands, a->n_cands);
}

static void on_deadline(uv_timer_t *t) {
  CHECK_MSG(0, "deadline passed waiting for %s", (const char *)t->data);
}

void run_until(uv_loop_t *loop, const int *flag, uint64_t deadline_ms, const char *what) {
  uv_timer_t *t = malloc(sizeof *t);
  CHECK(t != NULL);
  uv_timer_init(loop, t);
  t->data = (void *)what;
  uv_timer_start(t, on_deadline, deadline_ms, 0);
  while (!*flag)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

void run_to_end(uv_loop_t *loop) {
  CHECK(uv_run(loop, UV_RUN_DEFAULT) == 0);
}
