/* The Register stream glue (service.c, register.c, execute.c, forward.c) driven through the fake
 * call of tests/unit/health/fake_rpc.h: real Hellos signed by real identities, no gRPC, no
 * sockets. It checks what each stream does at the send-queue limit:
 *   - registry messages (changes, offers) that do not fit end that stream with
 *     RESOURCE_EXHAUSTED and a message, and the others see the agent leave;
 *   - relayed datagrams may use half the queue; past that they are dropped and counted;
 * and what streams see of each other (networks, WatchPeers/UnwatchPeers, pairings, PairError
 * reasons, bad requests) and ListAgents' pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity/identity.h"
#include "agent/wire/frame.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/rendezvous/service.h"
#include "peerlink/v1/rendezvous.pb-c.h"
#include "tests/unit/common/check.h"
#include "tests/unit/health/fake_rpc.h"

#define N 5

typedef struct client {
  pl_identity ident;
  pl_rpc_call call;
  char name[24];
  const char *network; /* its Hello's */
  int done;
} client;

static pl_rdv_service svc;
static client clients[N];

static const pl_rpc_method *method(const char *name) {
  for (size_t i = 0; i < svc.service.n_methods; i++)
    if (strcmp(svc.service.methods[i].name, name) == 0)
      return &svc.service.methods[i];
  return NULL;
}

static void request(client *c, const Peerlink__V1__RegisterRequest *req) {
  method("Register")->on_request(&c->call, &req->base, svc.service.data);
}

/* The i-th message sent on `c`'s stream; free with free_unpacked. */
static Peerlink__V1__RegisterResponse *sent(const client *c, size_t i) {
  CHECK(i < c->call.n_sent);
  Peerlink__V1__RegisterResponse *r =
      peerlink__v1__register_response__unpack(NULL, c->call.sent_len[i], c->call.sent[i]);
  CHECK(r != NULL);
  return r;
}

static Peerlink__V1__RegisterResponse__MsgCase sent_case(const client *c, size_t i) {
  Peerlink__V1__RegisterResponse *r = sent(c, i);
  Peerlink__V1__RegisterResponse__MsgCase k = r->msg_case;
  peerlink__v1__register_response__free_unpacked(r, NULL);
  return k;
}

/* "c+a" for a change JOINED about agent a, "c-a" LEFT, "c~a" UPDATED, "R" Registered, "C"
 * Challenge, "O" Offer, "D" relayed datagram, "Er" PairError with reason r, for messages
 * [from, n_sent). */
static const char *stream_text(const client *c, size_t from) {
  static char buf[256];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = from; i < c->call.n_sent && n < sizeof buf - 8; i++) {
    Peerlink__V1__RegisterResponse *r = sent(c, i);
    const char *sep = n ? " " : "";
    switch (r->msg_case) {
    case PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE: n += sprintf(buf + n, "%sC", sep); break;
    case PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED: n += sprintf(buf + n, "%sR", sep); break;
    case PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER: n += sprintf(buf + n, "%sO", sep); break;
    case PEERLINK__V1__REGISTER_RESPONSE__MSG_RELAY: n += sprintf(buf + n, "%sD", sep); break;
    case PEERLINK__V1__REGISTER_RESPONSE__MSG_PAIR_ERROR:
      n += sprintf(buf + n, "%sE%d", sep, (int)r->pair_error->reason);
      break;
    case PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE: {
      int who = -1;
      for (int k = 0; k < N; k++)
        if (strcmp(clients[k].ident.id, r->change->agent->id) == 0)
          who = k;
      char k = r->change->kind == PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED ? '+'
               : r->change->kind == PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_LEFT ? '-'
                                                                                   : '~';
      n += sprintf(buf + n, "%sc%c%d", sep, k, who);
      break;
    }
    default: n += sprintf(buf + n, "%s?", sep); break;
    }
    peerlink__v1__register_response__free_unpacked(r, NULL);
  }
  return buf;
}

/* The two Hellos: unsigned, then signed over the Challenge's nonce. */
static void register_client(client *c) {
  Peerlink__V1__Hello hello = PEERLINK__V1__HELLO__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  hello.id = c->ident.id;
  hello.name = c->name;
  hello.public_key.data = c->ident.public_key_der;
  hello.public_key.len = c->ident.public_key_der_len;
  hello.cert_fingerprint = c->ident.cert_fingerprint;
  hello.version = "test";
  hello.network = (char *)c->network;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO;
  req.hello = &hello;
  size_t first = c->call.n_sent;
  request(c, &req);
  CHECK(c->call.n_sent == first + 1 && !c->call.finished);
  Peerlink__V1__RegisterResponse *ch = sent(c, first);
  CHECK(ch->msg_case == PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE);
  uint8_t sig[PL_IDENTITY_SIG_MAX];
  size_t siglen = sizeof sig;
  CHECK_RV(pl_identity_sign_register(&c->ident, ch->challenge->nonce.data, ch->challenge->nonce.len,
                                     sig, &siglen),
           0);
  hello.challenge = ch->challenge->nonce;
  hello.signature.data = sig;
  hello.signature.len = siglen;
  request(c, &req);
  peerlink__v1__register_response__free_unpacked(ch, NULL);
}

static void end_call(client *c) {
  if (c->done)
    return;
  c->done = 1;
  method("Register")->on_done(&c->call, !c->call.finished, svc.service.data);
}

/* Every client in network "lab" unless a test says otherwise: they all see each other. */
static void setup(void) {
  CHECK_RV(pl_rdv_service_init(&svc), 0);
  for (int i = 0; i < N; i++) {
    fake_call_init(&clients[i].call);
    clients[i].done = 0;
    clients[i].network = "lab";
  }
}

static void teardown(void) {
  for (int i = 0; i < N; i++) {
    end_call(&clients[i]);
    fake_call_clear(&clients[i].call);
  }
  CHECK(svc.registry.count == 0 && svc.registry.pairings.count == 0);
  pl_rdv_service_free(&svc);
}

static void update_candidates(client *c) {
  Peerlink__V1__CandidatesUpdate upd = PEERLINK__V1__CANDIDATES_UPDATE__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES;
  req.candidates = &upd;
  request(c, &req);
}

/* Registry messages are never dropped. A newcomer's queue always has room for the whole view on
 * top of its limit; an agent whose queue then cannot take a change is ended, and the others see
 * it leave after the changes they saw. */
static void test_registry_overflow(void) {
  setup();
  for (int i = 0; i < 3; i++)
    register_client(&clients[i]);
  CHECK_STR_EQ(stream_text(&clients[0], 0), "C R c+1 c+2");
  CHECK(svc.registry.count == 3);

  /* Client 3 reads nothing and its limit is 1 (its Challenge); with room for Registered and the
   * view, 5. */
  client *slow = &clients[3];
  slow->call.hold = 1;
  slow->call.send_limit = 1;
  register_client(slow);
  CHECK(!slow->call.finished && slow->call.pending == 5 && slow->call.send_limit == 5);
  CHECK_STR_EQ(stream_text(slow, 0), "C R c+0 c+1 c+2");

  /* The next change does not fit. */
  register_client(&clients[4]);
  CHECK(slow->call.finished && slow->call.code == PL_RPC_RESOURCE_EXHAUSTED);
  CHECK_STR_CONTAINS(slow->call.message, "registry updates not read: 5 messages queued");
  CHECK_STR_CONTAINS(slow->call.message, "register again for the full view");
  CHECK_STR_EQ(stream_text(slow, 0), "C R c+0 c+1 c+2");
  CHECK_STR_EQ(stream_text(&clients[0], 4), "c+3 c+4 c-3");
  CHECK_STR_EQ(stream_text(&clients[4], 0), "C R c+0 c+1 c+2 c+3 c-3");
  CHECK(svc.registry.count == 4 && pl_rdv_registry_find(&svc.registry, slow->ident.id) == NULL);
  /* Its call's end, later, changes nothing for the others. */
  size_t n0 = clients[0].call.n_sent;
  end_call(slow);
  CHECK(clients[0].call.n_sent == n0);

  /* A registered agent that stops reading: the next change it cannot take ends it. */
  client *a = &clients[0];
  a->call.hold = 1;
  a->call.pending = 1;
  a->call.send_limit = 1;
  size_t n1 = clients[1].call.n_sent;
  update_candidates(&clients[2]);
  CHECK(a->call.finished && a->call.code == PL_RPC_RESOURCE_EXHAUSTED);
  CHECK_STR_CONTAINS(a->call.message, "registry updates not read: 1 messages queued");
  CHECK_STR_EQ(stream_text(&clients[1], n1), "c~2 c-0");
  CHECK(svc.registry.count == 3 && pl_rdv_registry_find(&svc.registry, a->ident.id) == NULL);
  teardown();
}

/* Relayed datagrams over a stream: half the queue at most, the rest dropped and counted, and
 * the stream stays open with room for registry messages. */
static size_t relay_frame(uint8_t *buf, const Peerlink__V1__Offer *offer, const client *from,
                          uint64_t seq) {
  pl_frame_keys keys;
  pl_frame f, inner;
  uint8_t innerbuf[PL_FRAME_MAX_LEN], payload[20] = {1, 2, 3, 4}; /* a sealed body: 16+ */
  size_t n;
  CHECK_RV(pl_frame_keys_derive(&keys, offer->pairing_secret.data, offer->pairing_secret.len), 0);
  memset(&f, 0, sizeof f);
  CHECK_RV(pl_hex_decode(f.pairing, sizeof f.pairing, offer->pairing_id), 0);
  CHECK_RV(pl_hex_decode(f.sender, sizeof f.sender, from->ident.id), 0);
  inner = f;
  inner.type = PL_FRAME_DATA;
  inner.seq = seq;
  inner.payload = payload;
  inner.payloadlen = sizeof payload;
  CHECK_RV(pl_frame_encode(innerbuf, sizeof innerbuf, &n, &inner, &keys), 0);
  f.type = PL_FRAME_RELAY_DATA;
  f.seq = seq;
  f.payload = innerbuf;
  f.payloadlen = n;
  CHECK_RV(pl_frame_encode(buf, PL_FRAME_MAX_LEN, &n, &f, &keys), 0);
  return n;
}

static void test_relay_backlog(void) {
  setup();
  client *a = &clients[0], *b = &clients[1];
  register_client(a);
  register_client(b);
  Peerlink__V1__PairRequest pair = PEERLINK__V1__PAIR_REQUEST__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  pair.peer_id = b->ident.id;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR;
  req.pair = &pair;
  request(a, &req);
  size_t last = a->call.n_sent - 1;
  CHECK(sent_case(a, last) == PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER);
  CHECK(sent_case(b, b->call.n_sent - 1) == PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER);
  Peerlink__V1__RegisterResponse *offer = sent(a, last);

  /* B reads nothing from here on; its queue holds 8, so relayed datagrams may take 4. */
  b->call.hold = 1;
  b->call.pending = 0;
  b->call.send_limit = 8;
  size_t before = b->call.n_sent;
  Peerlink__V1__RelayDatagram dg = PEERLINK__V1__RELAY_DATAGRAM__INIT;
  uint8_t frame[PL_FRAME_MAX_LEN];
  dg.pairing_id = offer->offer->pairing_id;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_RELAY;
  req.relay = &dg;
  for (uint64_t seq = 1; seq <= 10; seq++) {
    dg.payload.data = frame;
    dg.payload.len = relay_frame(frame, offer->offer, a, seq);
    request(a, &req);
  }
  CHECK_STR_EQ(stream_text(b, before), "D D D D");
  CHECK_U64(svc.stats.forwarded_stream, ==, 4);
  CHECK_U64(svc.stats.dropped[PL_RDV_RELAY_DROP_BACKLOG], ==, 6);
  char line[512];
  pl_rdv_relay_stats_format(&svc.stats, line, sizeof line);
  CHECK_STR_CONTAINS(line, "drop_backlog=6");
  /* The stream is open and the registry still reaches it. */
  CHECK(!b->call.finished && !a->call.finished);
  register_client(&clients[2]);
  CHECK_STR_EQ(stream_text(b, before), "D D D D c+2");
  CHECK(!b->call.finished);
  peerlink__v1__register_response__free_unpacked(offer, NULL);
  teardown();
}

static void send_watch(client *c, int watch, char **ids, size_t n) {
  Peerlink__V1__WatchPeers w = PEERLINK__V1__WATCH_PEERS__INIT;
  Peerlink__V1__UnwatchPeers u = PEERLINK__V1__UNWATCH_PEERS__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  if (watch) {
    w.peer_ids = ids;
    w.n_peer_ids = n;
    req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_WATCH;
    req.watch = &w;
  } else {
    u.peer_ids = ids;
    u.n_peer_ids = n;
    req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_UNWATCH;
    req.unwatch = &u;
  }
  request(c, &req);
}

static void send_pair(client *c, const char *peer_id) {
  Peerlink__V1__PairRequest pair = PEERLINK__V1__PAIR_REQUEST__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  pair.peer_id = (char *)peer_id;
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR;
  req.pair = &pair;
  request(c, &req);
}

/* No network: a stream hears only of what it watches and whom it pairs with. */
static void test_views(void) {
  setup();
  clients[0].network = clients[1].network = "";
  clients[2].network = clients[3].network = "red";
  for (int i = 0; i < 4; i++)
    register_client(&clients[i]);
  CHECK_STR_EQ(stream_text(&clients[0], 0), "C R");
  CHECK_STR_EQ(stream_text(&clients[3], 0), "C R c+2");
  CHECK_STR_EQ(stream_text(&clients[2], 0), "C R c+3");

  char *one[] = {clients[1].ident.id};
  send_watch(&clients[0], 1, one, 1);
  update_candidates(&clients[1]);
  CHECK_STR_EQ(stream_text(&clients[0], 2), "c+1 c~1");
  send_watch(&clients[0], 0, one, 1);
  update_candidates(&clients[1]);
  CHECK_STR_EQ(stream_text(&clients[0], 4), "c-1");

  /* Pairing brings the peer into view, and a missing peer has its reason. */
  send_pair(&clients[0], clients[2].ident.id);
  CHECK_STR_EQ(stream_text(&clients[0], 5), "c+2 O");
  CHECK_STR_EQ(stream_text(&clients[2], 3), "c+0 O");
  send_pair(&clients[0], clients[4].ident.id);
  CHECK_STR_EQ(stream_text(&clients[0], 7), "E1");

  /* A bad watch ends the stream and names the field; the partner sees it leave. */
  char *bad[] = {clients[1].ident.id, "not-an-id"};
  send_watch(&clients[0], 1, bad, 2);
  CHECK(clients[0].call.finished && clients[0].call.code == PL_RPC_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(clients[0].call.message, "watch.peer_ids[1]");
  CHECK_STR_EQ(stream_text(&clients[2], 5), "c-0");

  /* A network name that is not one is refused before the challenge. */
  clients[4].network = "no spaces";
  Peerlink__V1__Hello hello = PEERLINK__V1__HELLO__INIT;
  Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
  hello.id = clients[4].ident.id;
  hello.name = clients[4].name;
  hello.public_key.data = clients[4].ident.public_key_der;
  hello.public_key.len = clients[4].ident.public_key_der_len;
  hello.cert_fingerprint = clients[4].ident.cert_fingerprint;
  hello.version = "test";
  hello.network = "no spaces";
  req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO;
  req.hello = &hello;
  request(&clients[4], &req);
  CHECK(clients[4].call.finished && clients[4].call.code == PL_RPC_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(clients[4].call.message, "hello.network");
  teardown();
}

/* One ListAgents call on a fresh fake call; returns the response (free_unpacked) or NULL when
 * the call ended with an error (in *pcode, *msg). */
static Peerlink__V1__ListAgentsResponse *
list_agents(int32_t size, const char *token, const char *network, pl_rpc_status *pcode, char *msg) {
  Peerlink__V1__ListAgentsRequest req = PEERLINK__V1__LIST_AGENTS_REQUEST__INIT;
  pl_rpc_call call;
  Peerlink__V1__ListAgentsResponse *resp = NULL;
  fake_call_init(&call);
  req.page_size = size;
  req.page_token = (char *)token;
  req.network = (char *)network;
  method("ListAgents")->on_request(&call, &req.base, svc.service.data);
  CHECK(call.finished);
  *pcode = call.code;
  strcpy(msg, call.message);
  if (call.code == PL_RPC_OK) {
    CHECK(call.n_sent == 1);
    resp = peerlink__v1__list_agents_response__unpack(NULL, call.sent_len[0], call.sent[0]);
    CHECK(resp != NULL);
  }
  fake_call_clear(&call);
  return resp;
}

static void test_list_agents(void) {
  pl_rpc_status code;
  char msg[512];
  setup();
  clients[1].network = "red";
  for (int i = 0; i < 3; i++)
    register_client(&clients[i]);
  Peerlink__V1__ListAgentsResponse *p1 = list_agents(2, "", "", &code, msg);
  CHECK(p1 && p1->n_agents == 2 && p1->total_size == 3 && p1->next_page_token[0]);
  CHECK_STR_EQ(p1->agents[0]->id, clients[0].ident.id);
  Peerlink__V1__ListAgentsResponse *p2 = list_agents(2, p1->next_page_token, "", &code, msg);
  CHECK(p2 && p2->n_agents == 1 && p2->next_page_token[0] == '\0');
  CHECK_STR_EQ(p2->agents[0]->id, clients[2].ident.id);
  peerlink__v1__list_agents_response__free_unpacked(p2, NULL);
  p2 = list_agents(0, "", "red", &code, msg);
  CHECK(p2 && p2->n_agents == 1 && p2->total_size == 1);
  CHECK_STR_EQ(p2->agents[0]->id, clients[1].ident.id);
  peerlink__v1__list_agents_response__free_unpacked(p2, NULL);
  peerlink__v1__list_agents_response__free_unpacked(p1, NULL);

  CHECK(list_agents(1, "bogus", "", &code, msg) == NULL && code == PL_RPC_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(msg, "page_token");
  CHECK(list_agents(-1, "", "", &code, msg) == NULL && code == PL_RPC_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(msg, "page_size");
  teardown();
}

int main(void) {
  char dir[512];
  for (int i = 0; i < N; i++) {
    snprintf(dir, sizeof dir, "%s/service_%d", getenv("TEST_TMPDIR"), i);
    CHECK_RV(pl_identity_load_or_create(&clients[i].ident, dir), 0);
    snprintf(clients[i].name, sizeof clients[i].name, "agent-%d", i);
  }
  test_registry_overflow();
  test_relay_backlog();
  test_views();
  test_list_agents();
  for (int i = 0; i < N; i++)
    pl_identity_free(&clients[i].ident);
  printf("service_test: ok\n");
  return 0;
}
