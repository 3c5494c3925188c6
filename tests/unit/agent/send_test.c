/* Send through the agent's glue (two agents in one loop, explicit candidates, real key pairs):
 * DATAGRAM answers once the frame left and arrives as a MessageReceived event; RELIABLE answers
 * only when the peer acknowledged it (sequence = its message number) and arrives once, in
 * order; every Send that cannot be done ends with a status that says why: too big (naming the
 * limit), no such peer, no path, the path closed while it waited, the peer vanished (within
 * --reliable-timeout), the send window full; a Send whose call ends first leaves nothing
 * behind. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/addr.h"
#include "control/common/clock.h"
#include "tests/unit/agent/agent_box.h"
#include "tests/unit/common/check.h"

#define FP_A "aa00000000000000000000000000000000000000000000000000000000000000"
#define FP_B "bb00000000000000000000000000000000000000000000000000000000000000"

static uv_loop_t loop;

static void connect_to(agent_box *from, const agent_box *to, const char *to_fp, pl_rpc_call *call) {
  static const uint8_t secret[32] = "a shared secret of 32 bytes ....";
  Peerlink__V1__ConnectRequest req = PEERLINK__V1__CONNECT_REQUEST__INIT;
  Peerlink__V1__Candidate c = PEERLINK__V1__CANDIDATE__INIT, *cands[] = {&c};
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  char ip[64];
  ep.port = (uint32_t)pl_addr_ip_port((const struct sockaddr *)&to->a.transport.local, ip);
  ep.ip = ip;
  c.kind = PEERLINK__V1__CANDIDATE_KIND__CANDIDATE_KIND_HOST;
  c.endpoint = &ep;
  req.candidates = cands;
  req.n_candidates = 1;
  req.pairing_secret.data = (uint8_t *)secret;
  req.pairing_secret.len = sizeof secret;
  req.peer_cert_fingerprint = (char *)to_fp;
  req.peer_public_key.data = (uint8_t *)to->key.spki;
  req.peer_public_key.len = sizeof to->key.spki;
  req.wait = 1;
  req.timeout_ms = 10000;
  box_call(from, "Connect", call, &req.base);
}

static void send_req(agent_box *b, pl_rpc_call *call, const char *peer, Peerlink__V1__Delivery d,
                     const void *data, size_t len) {
  Peerlink__V1__SendRequest req = PEERLINK__V1__SEND_REQUEST__INIT;
  req.peer_id = (char *)peer;
  req.delivery = d;
  req.data.data = (uint8_t *)data;
  req.data.len = len;
  box_call(b, "Send", call, &req.base);
}

static uint64_t sequence_of(const pl_rpc_call *call) {
  CHECK_U64(call->n_sent, ==, 1);
  Peerlink__V1__SendResponse *r =
      peerlink__v1__send_response__unpack(NULL, call->sent_len[0], call->sent[0]);
  CHECK(r != NULL);
  uint64_t seq = r->sequence;
  peerlink__v1__send_response__free_unpacked(r, NULL);
  return seq;
}

/* The MessageReceived events a watcher has, in order: delivery and data of the i-th. */
static int message_event(const pl_rpc_call *watch, size_t nth, Peerlink__V1__Delivery *pd,
                         char *data, size_t cap) {
  size_t seen = 0;
  for (size_t i = 0; i < watch->n_sent; i++) {
    Peerlink__V1__WatchEventsResponse *r =
        peerlink__v1__watch_events_response__unpack(NULL, watch->sent_len[i], watch->sent[i]);
    CHECK(r != NULL && r->event != NULL);
    int found = 0;
    if (r->event->kind_case == PEERLINK__V1__EVENT__KIND_MESSAGE && seen++ == nth) {
      const Peerlink__V1__MessageReceived *m = r->event->message;
      *pd = m->delivery;
      CHECK(m->data.len < cap);
      memcpy(data, m->data.data, m->data.len);
      data[m->data.len] = '\0';
      found = 1;
    }
    peerlink__v1__watch_events_response__free_unpacked(r, NULL);
    if (found)
      return 1;
  }
  return 0;
}

static size_t messages(const pl_rpc_call *watch) {
  Peerlink__V1__Delivery d;
  char buf[2048];
  size_t n = 0;
  while (message_event(watch, n, &d, buf, sizeof buf))
    n++;
  return n;
}

/* Runs the loop until the watcher has n MessageReceived events (the links' keep-alives keep it
 * waking); fails after 10 s. */
static void wait_messages(const pl_rpc_call *watch, size_t n) {
  uint64_t t0 = pl_clock_now_us();
  while (messages(watch) < n) {
    CHECK_MSG(pl_clock_now_us() - t0 < 10000000, "waited 10 s for %zu MessageReceived events", n);
    uv_run(&loop, UV_RUN_ONCE);
  }
}

typedef struct pair {
  agent_box a, b;
  pl_rpc_call watch_b;
} pair;

static void pair_up(pair *p, uint64_t give_up_us) {
  fixture_agent fa, fb;
  pl_rpc_call ca, cb;
  fixture_agents(&fa, &fb);
  box_init_agent(&p->a, &loop, &fa, FP_A);
  box_init_agent(&p->b, &loop, &fb, FP_B);
  p->a.a.links.reliable_give_up_us = give_up_us;
  Peerlink__V1__WatchEventsRequest w = PEERLINK__V1__WATCH_EVENTS_REQUEST__INIT;
  box_call(&p->b, "WatchEvents", &p->watch_b, &w.base);
  connect_to(&p->a, &p->b, FP_B, &ca);
  connect_to(&p->b, &p->a, FP_A, &cb);
  run_until(&loop, &ca.finished, 10000, "A's Connect");
  run_until(&loop, &cb.finished, 10000, "B's Connect");
  CHECK_U64(ca.code, ==, PL_RPC_OK);
  CHECK_U64(cb.code, ==, PL_RPC_OK);
  box_done(&p->a, "Connect", &ca, 0);
  box_done(&p->b, "Connect", &cb, 0);
  fake_call_clear(&ca);
  fake_call_clear(&cb);
}

static void pair_close(pair *p) {
  box_done(&p->b, "WatchEvents", &p->watch_b, 1);
  fake_call_clear(&p->watch_b);
  box_close(&p->a);
  box_close(&p->b);
  run_to_end(&loop);
}

static void test_delivered(void) {
  pair p;
  pl_rpc_call call;
  Peerlink__V1__Delivery d;
  char got[2048];
  pair_up(&p, 0);
  send_req(&p.a, &call, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_DATAGRAM, "a datagram", 10);
  CHECK(call.finished);
  CHECK_U64(call.code, ==, PL_RPC_OK);
  fake_call_clear(&call);
  wait_messages(&p.watch_b, 1);
  CHECK(message_event(&p.watch_b, 0, &d, got, sizeof got));
  CHECK_U64(d, ==, PEERLINK__V1__DELIVERY__DELIVERY_DATAGRAM);
  CHECK_STR_EQ(got, "a datagram");

  /* Reliable: the answer waits for the peer's acknowledgement. */
  pl_rpc_call r1, r2;
  send_req(&p.a, &r1, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "first", 5);
  send_req(&p.a, &r2, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "second", 6);
  CHECK(!r1.finished && !r2.finished);
  run_until(&loop, &r2.finished, 5000, "the acknowledgement");
  run_until(&loop, &r1.finished, 5000, "the acknowledgement");
  CHECK_U64(r1.code, ==, PL_RPC_OK);
  CHECK_U64(r2.code, ==, PL_RPC_OK);
  CHECK_U64(sequence_of(&r1), ==, 1);
  CHECK_U64(sequence_of(&r2), ==, 2);
  box_done(&p.a, "Send", &r1, 0);
  box_done(&p.a, "Send", &r2, 0);
  fake_call_clear(&r1);
  fake_call_clear(&r2);
  /* Acknowledged means delivered: both events are there already, in order. */
  CHECK_U64(messages(&p.watch_b), ==, 3);
  CHECK(message_event(&p.watch_b, 1, &d, got, sizeof got));
  CHECK_U64(d, ==, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE);
  CHECK_STR_EQ(got, "first");
  CHECK(message_event(&p.watch_b, 2, &d, got, sizeof got));
  CHECK_STR_EQ(got, "second");

  /* A Send whose caller went away: the message goes on, the wait is freed (ASan), and its
   * acknowledgement finds no call. */
  send_req(&p.a, &r1, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "orphan", 6);
  CHECK(!r1.finished);
  box_done(&p.a, "Send", &r1, 1);
  r1.closed = 1;
  CHECK(p.a.a.reliable_waits == NULL);
  wait_messages(&p.watch_b, 4);
  fake_call_clear(&r1);

  /* A path closed under a waiting Send: UNAVAILABLE naming the path and why. */
  pl_transport_set_receiver(&p.b.a.transport, PL_DEMUX_FRAME, NULL, NULL, NULL); /* no ACKs */
  send_req(&p.a, &r1, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "unlucky", 7);
  CHECK(!r1.finished);
  Peerlink__V1__DisconnectRequest dr = PEERLINK__V1__DISCONNECT_REQUEST__INIT;
  dr.peer_id = KAT_ID_B;
  box_call(&p.a, "Disconnect", &call, &dr.base);
  CHECK_U64(call.code, ==, PL_RPC_OK);
  fake_call_clear(&call);
  CHECK(r1.finished);
  CHECK_U64(r1.code, ==, PL_RPC_UNAVAILABLE);
  CHECK_STR_CONTAINS(r1.message, "path to " KAT_ID_B " closed (disconnected by request)");
  box_done(&p.a, "Send", &r1, 0);
  fake_call_clear(&r1);
  pair_close(&p);
}

/* What Send refuses before anything is sent. */
static void test_refused(void) {
  pair p;
  pl_rpc_call call;
  pair_up(&p, 0);
  static uint8_t big[PL_RELIABLE_DEFAULT_MAX_MESSAGE + 1];
  static const struct {
    const char *peer;
    Peerlink__V1__Delivery d;
    size_t len;
    pl_rpc_status code;
    const char *says;
  } cases[] = {
      {KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_DATAGRAM, PL_CHANNEL_MAX_DATAGRAM + 1,
       PL_RPC_INVALID_ARGUMENT, "data: a datagram holds at most 1199 bytes"},
      {KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, sizeof big, PL_RPC_INVALID_ARGUMENT,
       "data: a reliable message holds at most 1048576 bytes (--max-reliable-message)"},
      {"00000000000000000000000000000009", PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, 1,
       PL_RPC_NOT_FOUND, "peer_id: not connected to 00000000000000000000000000000009"},
      {KAT_ID_B, (Peerlink__V1__Delivery)99, 1, PL_RPC_INVALID_ARGUMENT,
       "delivery: unknown value 99"},
      {"", PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, 1, PL_RPC_INVALID_ARGUMENT,
       "peer_id: required"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    send_req(&p.a, &call, cases[i].peer, cases[i].d, big, cases[i].len);
    CHECK_MSG(call.finished, "case %zu left open", i);
    CHECK_U64(call.code, ==, cases[i].code);
    CHECK_STR_CONTAINS(call.message, cases[i].says);
    box_done(&p.a, "Send", &call, 0);
    fake_call_clear(&call);
  }
  /* The largest reliable message goes through. */
  send_req(&p.a, &call, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, big, sizeof big - 1);
  run_until(&loop, &call.finished, 20000, "the 1 MiB message's acknowledgement");
  CHECK_U64(call.code, ==, PL_RPC_OK);
  box_done(&p.a, "Send", &call, 0);
  fake_call_clear(&call);

  /* GetStatus shows our key for peers that connect by candidates. */
  Peerlink__V1__GetStatusRequest gs = PEERLINK__V1__GET_STATUS_REQUEST__INIT;
  box_call(&p.a, "GetStatus", &call, &gs.base);
  CHECK_U64(call.code, ==, PL_RPC_OK);
  Peerlink__V1__GetStatusResponse *st =
      peerlink__v1__get_status_response__unpack(NULL, call.sent_len[0], call.sent[0]);
  CHECK(st != NULL && st->public_key.len == KAT_SPKI_LEN);
  CHECK(memcmp(st->public_key.data, p.a.key.spki, KAT_SPKI_LEN) == 0);
  CHECK(st->n_peers == 1 && st->peers[0]->data_dropped == 0);
  peerlink__v1__get_status_response__free_unpacked(st, NULL);
  fake_call_clear(&call);
  pair_close(&p);
}

/* B goes silent without a word (no CLOSE): A's reliable Send fails within --reliable-timeout
 * (1 s here) with UNAVAILABLE saying the peer did not acknowledge. */
static void test_vanished(void) {
  pair p;
  pl_rpc_call call;
  pair_up(&p, 1000000);
  pl_transport_set_receiver(&p.b.a.transport, PL_DEMUX_FRAME, NULL, NULL, NULL);
  send_req(&p.a, &call, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "hello?", 6);
  CHECK(!call.finished);
  run_until(&loop, &call.finished, 10000, "the Send to the vanished peer to fail");
  CHECK_U64(call.code, ==, PL_RPC_UNAVAILABLE);
  CHECK_STR_CONTAINS(call.message, "not acknowledged within 1000 ms");
  CHECK_STR_CONTAINS(call.message, "the peer is gone");
  box_done(&p.a, "Send", &call, 0);
  fake_call_clear(&call);
  CHECK_U64(pl_links_count(&p.a.a.links), ==, 0); /* the link closed with it */
  /* And now there is no peer to send to. */
  send_req(&p.a, &call, KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "x", 1);
  CHECK_U64(call.code, ==, PL_RPC_NOT_FOUND);
  fake_call_clear(&call);
  pair_close(&p);
}

/* The send window: once 1024 messages wait for their acknowledgement (the peer answers none
 * here), the next Send is RESOURCE_EXHAUSTED, and when the agent stops every waiting one ends. */
static void test_window_full(void) {
  enum { QUEUE = 1024 };
  pair p;
  pair_up(&p, 0);
  pl_transport_set_receiver(&p.b.a.transport, PL_DEMUX_FRAME, NULL, NULL, NULL);
  pl_rpc_call *calls = calloc(QUEUE + 1, sizeof *calls);
  CHECK(calls != NULL);
  for (int i = 0; i < QUEUE; i++) {
    send_req(&p.a, &calls[i], KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "m", 1);
    CHECK_MSG(!calls[i].finished, "Send %d ended early: %s", i, calls[i].message);
  }
  send_req(&p.a, &calls[QUEUE], KAT_ID_B, PEERLINK__V1__DELIVERY__DELIVERY_RELIABLE, "m", 1);
  CHECK(calls[QUEUE].finished);
  CHECK_U64(calls[QUEUE].code, ==, PL_RPC_RESOURCE_EXHAUSTED);
  CHECK_STR_CONTAINS(calls[QUEUE].message, "reliable send window to " KAT_ID_B " is full");
  box_close(&p.a); /* stopping: the link closes, every waiting Send ends saying why */
  for (int i = 0; i < QUEUE; i++) {
    CHECK(calls[i].finished);
    CHECK_U64(calls[i].code, ==, PL_RPC_UNAVAILABLE);
    CHECK_STR_CONTAINS(calls[i].message, "closed (agent stopping)");
    box_done(&p.a, "Send", &calls[i], 0);
  }
  CHECK(p.a.a.reliable_waits == NULL);
  for (int i = 0; i <= QUEUE; i++)
    fake_call_clear(&calls[i]);
  free(calls);
  box_done(&p.b, "WatchEvents", &p.watch_b, 1);
  fake_call_clear(&p.watch_b);
  box_close(&p.b);
  run_to_end(&loop);
}

int main(void) {
  CHECK(uv_loop_init(&loop) == 0);
  test_delivered();
  test_refused();
  test_vanished();
  test_window_full();
  CHECK(uv_loop_close(&loop) == 0);
  printf("send_test: ok\n");
  return 0;
}
