/* Relay decisions without sockets: binds and their acks, forwarding over UDP or a stream, and
 * every way a datagram is dropped (and never acted on). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/frame.h"
#include "control/common/err.h"
#include "control/rendezvous/pairing.h"
#include "control/rendezvous/relay.h"
#include "tests/unit/common/check.h"
#include "tests/unit/rendezvous/fixture.h"

static pl_rdv_pairings table;
static pl_rdv_pairing_member A, B, C;
static int owner_a, owner_b, owner_c;
static uint8_t reply[PL_FRAME_MAX_LEN];

static struct sockaddr_storage addr(const char *ip, int port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  sin->sin_family = AF_INET;
  sin->sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, ip, &sin->sin_addr);
  return ss;
}

static int same_addr(const struct sockaddr_storage *x, const struct sockaddr_storage *y) {
  const struct sockaddr_in *a = (const void *)x, *b = (const void *)y;
  return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
         a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* A frame of `type` for pairing p, claiming `sender`, under keys (the pairing's by default). */
typedef struct frame_buf {
  uint8_t b[PL_FRAME_MAX_LEN];
  size_t len;
} frame_buf;

static frame_buf make(uint8_t type, const pl_rdv_pairing *p, const pl_rdv_pairing_member *sender,
                      uint64_t seq, const pl_frame_keys *keys) {
  frame_buf out;
  pl_frame f;
  memset(&f, 0, sizeof f);
  f.type = type;
  memcpy(f.pairing, p->id, sizeof f.pairing);
  memcpy(f.sender, sender->id_raw, sizeof f.sender);
  f.seq = seq;
  f.txid = 0x1122334455667788u + seq;
  uint8_t inner[PL_FRAME_MAX_LEN];
  if (type == PL_FRAME_RELAY_DATA) {
    /* The agents' own end-to-end frame, which the relay never opens. */
    pl_frame d;
    size_t n;
    static const uint8_t hello[] = "hi, sealed for the peer"; /* at least a tag */
    memset(&d, 0, sizeof d);
    d.type = PL_FRAME_DATA;
    memcpy(d.pairing, p->id, sizeof d.pairing);
    memcpy(d.sender, sender->id_raw, sizeof d.sender);
    d.seq = seq;
    d.payload = hello;
    d.payloadlen = sizeof hello;
    CHECK(pl_frame_encode(inner, sizeof inner, &n, &d, &p->keys) == 0);
    f.payload = inner;
    f.payloadlen = n;
  }
  CHECK(pl_frame_encode(out.b, sizeof out.b, &out.len, &f, keys ? keys : &p->keys) == 0);
  return out;
}

static pl_rdv_relay_out udp_in(const struct sockaddr_storage *from, const frame_buf *fb) {
  pl_rdv_relay_out out;
  memset(&out, 0xa5, sizeof out); /* every field the decision uses must be written */
  CHECK(pl_rdv_relay_recv_udp(&table, (const struct sockaddr *)from, fb->b, fb->len, reply,
                              sizeof reply, &out) == 0);
  return out;
}

static pl_rdv_relay_out stream_in(pl_rdv_pairing_member *m, const char *pairing_hex,
                                  const frame_buf *fb) {
  pl_rdv_relay_out out;
  memset(&out, 0xa5, sizeof out);
  CHECK(pl_rdv_relay_recv_stream(&table, m, pairing_hex, fb->b, fb->len, &out) == 0);
  return out;
}

#define EXPECT_DROP(o, why) CHECK((o).action == PL_RDV_RELAY_DROP && (o).reason == (why))

static void expect_bind_ack(const pl_rdv_relay_out *o, const pl_rdv_pairing *p,
                            const frame_buf *bind, const struct sockaddr_storage *from) {
  pl_frame ack, req;
  CHECK(o->action == PL_RDV_RELAY_REPLY);
  CHECK(o->data == reply && o->pairing == p);
  CHECK(same_addr(&o->to, from));
  CHECK(pl_frame_parse(&ack, o->data, o->len, &p->keys) == 0);
  CHECK(pl_frame_parse(&req, bind->b, bind->len, &p->keys) == 0);
  CHECK(ack.type == PL_FRAME_RELAY_BIND_ACK);
  CHECK(memcmp(ack.pairing, p->id, sizeof ack.pairing) == 0);
  CHECK(ack.txid == req.txid);
  /* From the relay itself: the zero ID, and a sequence number of its own that only grows. */
  static const uint8_t zero[PL_FRAME_ID_LEN];
  CHECK(memcmp(ack.sender, zero, sizeof zero) == 0);
  CHECK(ack.seq == p->relay_seq && ack.seq > 0);
  CHECK(ack.has_observed && same_addr(&ack.observed, from));
}

static void test_udp(pl_rdv_pairing *p) {
  struct sockaddr_storage a1 = addr("192.0.2.1", 1000), b1 = addr("198.51.100.2", 2000);
  struct sockaddr_storage a2 = addr("192.0.2.1", 1001);

  /* Data before a bind is not relayed: the relay does not know the sender's way back yet. */
  frame_buf d = make(PL_FRAME_RELAY_DATA, p, &A, 1, NULL);
  pl_rdv_relay_out o = udp_in(&a1, &d);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_UNBOUND);

  frame_buf bind = make(PL_FRAME_RELAY_BIND, p, &A, 10, NULL);
  o = udp_in(&a1, &bind);
  expect_bind_ack(&o, p, &bind, &a1);
  CHECK(p->side[pl_rdv_pairing_side_of(p, &A)].bound);
  /* The same bind again is a replay: not answered, not acted on. */
  o = udp_in(&a2, &bind);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_REPLAY);
  CHECK(same_addr(&p->side[pl_rdv_pairing_side_of(p, &A)].addr, &a1));

  /* B has no binding: A's data goes down B's Register stream, unchanged. */
  o = udp_in(&a1, &d);
  CHECK(o.action == PL_RDV_RELAY_TO_STREAM && o.member == &B && o.pairing == p);
  CHECK(o.data == d.b && o.len == d.len);
  o = udp_in(&a1, &d);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_REPLAY);
  /* ...and with B's stream gone too, nowhere. */
  B.owner = NULL;
  d = make(PL_FRAME_RELAY_DATA, p, &A, 2, NULL);
  o = udp_in(&a1, &d);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_PEER_GONE);
  B.owner = &owner_b;

  /* B binds: from now on A's data goes to B's UDP address. */
  frame_buf bbind = make(PL_FRAME_RELAY_BIND, p, &B, 1, NULL);
  o = udp_in(&b1, &bbind);
  expect_bind_ack(&o, p, &bbind, &b1);
  d = make(PL_FRAME_RELAY_DATA, p, &A, 3, NULL);
  o = udp_in(&a1, &d);
  CHECK(o.action == PL_RDV_RELAY_TO_UDP && same_addr(&o.to, &b1));
  CHECK(o.data == d.b && o.len == d.len && o.pairing == p);

  /* A's NAT mapping moves: authenticated fresh data from the new address moves the binding. */
  d = make(PL_FRAME_RELAY_DATA, p, &A, 6, NULL);
  o = udp_in(&a2, &d);
  CHECK(o.action == PL_RDV_RELAY_TO_UDP && same_addr(&o.to, &b1));
  frame_buf bd = make(PL_FRAME_RELAY_DATA, p, &B, 1, NULL);
  o = udp_in(&b1, &bd);
  CHECK(o.action == PL_RDV_RELAY_TO_UDP && same_addr(&o.to, &a2));
  /* A late, older frame (unseen, inside the window) is relayed but moves nothing back. */
  d = make(PL_FRAME_RELAY_DATA, p, &A, 5, NULL);
  o = udp_in(&a1, &d);
  CHECK(o.action == PL_RDV_RELAY_TO_UDP);
  CHECK(same_addr(&p->side[pl_rdv_pairing_side_of(p, &A)].addr, &a2));
  /* Same for a late bind: answered, binding kept. */
  frame_buf old_bind = make(PL_FRAME_RELAY_BIND, p, &A, 5, NULL);
  o = udp_in(&a1, &old_bind);
  expect_bind_ack(&o, p, &old_bind, &a1);
  CHECK(same_addr(&p->side[pl_rdv_pairing_side_of(p, &A)].addr, &a2));
}

static void test_udp_drops(pl_rdv_pairing *p) {
  struct sockaddr_storage a1 = addr("192.0.2.1", 1000);
  pl_rdv_relay_out o;

  /* Wrong key: the MAC fails. */
  pl_frame_keys wrong;
  memset(&wrong, 0x42, sizeof wrong);
  frame_buf f = make(PL_FRAME_RELAY_DATA, p, &A, 100, &wrong);
  o = udp_in(&a1, &f);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_AUTH);
  /* One flipped byte anywhere: parse or MAC failure, never a forward. */
  frame_buf good = make(PL_FRAME_RELAY_DATA, p, &A, 101, NULL);
  for (size_t i = 0; i < good.len; i++) {
    frame_buf bad = good;
    bad.b[i] ^= 0x80;
    o = udp_in(&a1, &bad);
    CHECK(o.action == PL_RDV_RELAY_DROP);
    CHECK(o.reason == PL_RDV_RELAY_DROP_AUTH || o.reason == PL_RDV_RELAY_DROP_PARSE ||
          o.reason == PL_RDV_RELAY_DROP_TYPE || o.reason == PL_RDV_RELAY_DROP_UNKNOWN_PAIRING);
  }
  /* Truncated. */
  f = good;
  f.len -= 1;
  o = udp_in(&a1, &f);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_PARSE);
  f.len = 3;
  o = udp_in(&a1, &f);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_PARSE);
  /* Frames that belong between the agents, or that the relay itself sends. */
  f = make(PL_FRAME_PROBE, p, &A, 102, NULL);
  o = udp_in(&a1, &f);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_TYPE);
  f = make(PL_FRAME_RELAY_BIND_ACK, p, &A, 103, NULL);
  o = udp_in(&a1, &f);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_TYPE);
  /* A sender that is not in the pairing, even with the right key. */
  f = make(PL_FRAME_RELAY_BIND, p, &C, 1, NULL);
  o = udp_in(&a1, &f);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_NOT_MEMBER);
  /* A pairing that does not exist. */
  pl_rdv_pairing fake = *p;
  fake.id[0] ^= 0xff;
  f = make(PL_FRAME_RELAY_BIND, &fake, &A, 1, NULL);
  o = udp_in(&a1, &f);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_UNKNOWN_PAIRING);
  /* Not an IP source (cannot happen from a UDP socket, but the core must not trust that). */
  struct sockaddr_storage unix_addr;
  memset(&unix_addr, 0, sizeof unix_addr);
  unix_addr.ss_family = AF_UNIX;
  o = udp_in(&unix_addr, &good);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_NOT_OURS);
}

static void test_stream(void) {
  pl_rdv_pairing *p, *q;
  /* A fresh pairing: nobody bound. */
  CHECK(pl_rdv_pairings_create(&table, &A, &B, &p) == 0);
  CHECK(pl_rdv_pairings_create(&table, &A, &C, &q) == 0);
  frame_buf d = make(PL_FRAME_RELAY_DATA, p, &A, 1, NULL);
  pl_rdv_relay_out o = stream_in(&A, p->id_hex, &d);
  CHECK(o.action == PL_RDV_RELAY_TO_STREAM && o.member == &B && o.data == d.b && o.len == d.len);
  o = stream_in(&A, p->id_hex, &d);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_REPLAY);
  /* The replay window is the sender's, whichever way its frames come: UDP after TCP too. */
  struct sockaddr_storage a1 = addr("192.0.2.1", 1000), b1 = addr("198.51.100.2", 2000);
  frame_buf bind = make(PL_FRAME_RELAY_BIND, p, &A, 1, NULL);
  pl_rdv_relay_out ob = udp_in(&a1, &bind);
  CHECK(ob.action == PL_RDV_RELAY_REPLY);
  o = udp_in(&a1, &d);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_REPLAY);
  /* B bound over UDP: A's stream frames go out over UDP to B. */
  frame_buf bbind = make(PL_FRAME_RELAY_BIND, p, &B, 1, NULL);
  ob = udp_in(&b1, &bbind);
  CHECK(ob.action == PL_RDV_RELAY_REPLY);
  d = make(PL_FRAME_RELAY_DATA, p, &A, 2, NULL);
  o = stream_in(&A, p->id_hex, &d);
  CHECK(o.action == PL_RDV_RELAY_TO_UDP && same_addr(&o.to, &b1));

  /* What a stream may not do. */
  d = make(PL_FRAME_RELAY_DATA, p, &A, 3, NULL);
  o = stream_in(&A, "0000000000000000", &d);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_UNKNOWN_PAIRING);
  o = stream_in(&A, "not hex", &d);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_UNKNOWN_PAIRING);
  o = stream_in(&C, p->id_hex, &d); /* C is not in p */
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_NOT_MEMBER);
  frame_buf bd = make(PL_FRAME_RELAY_DATA, p, &B, 5, NULL);
  o = stream_in(&A, p->id_hex, &bd); /* A's stream speaking for B */
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_NOT_MEMBER);
  frame_buf qd = make(PL_FRAME_RELAY_DATA, q, &A, 5, NULL);
  o = stream_in(&A, p->id_hex, &qd); /* a frame of q under p's name */
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_NOT_MEMBER);
  bind = make(PL_FRAME_RELAY_BIND, p, &A, 9, NULL);
  o = stream_in(&A, p->id_hex, &bind);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_TYPE);
  frame_buf junk = {.b = {0x2a, 1, 2, 3}, .len = 4};
  o = stream_in(&A, p->id_hex, &junk);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_PARSE);
  o = stream_in(&A, p->id_hex, &d); /* none of that used up seq 3 */
  CHECK(o.action == PL_RDV_RELAY_TO_UDP);

  /* A leaves: its pairings, bindings and windows are gone; nothing of them is relayed. */
  char p_hex[PL_RDV_PAIRING_ID_HEX + 1];
  memcpy(p_hex, p->id_hex, sizeof p_hex);
  frame_buf later = make(PL_FRAME_RELAY_DATA, p, &B, 6, NULL);
  pl_rdv_pairings_leave(&table, &A, NULL, NULL);
  o = udp_in(&b1, &later);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_UNKNOWN_PAIRING);
  o = stream_in(&B, p_hex, &later);
  EXPECT_DROP(o, PL_RDV_RELAY_DROP_UNKNOWN_PAIRING);
  CHECK(table.count == 0);
}

static void test_stats(void) {
  pl_rdv_relay_stats s;
  memset(&s, 0, sizeof s);
  pl_rdv_relay_out o;
  pl_rdv_relay_drop_as(&o, PL_RDV_RELAY_DROP_AUTH);
  pl_rdv_relay_count(&s, &o);
  pl_rdv_relay_count(&s, &o);
  o.action = PL_RDV_RELAY_TO_UDP;
  pl_rdv_relay_count(&s, &o);
  o.action = PL_RDV_RELAY_TO_STREAM;
  pl_rdv_relay_count(&s, &o);
  o.action = PL_RDV_RELAY_REPLY;
  pl_rdv_relay_count(&s, &o);
  s.stun_answered = 7;
  char line[512];
  pl_rdv_relay_stats_format(&s, line, sizeof line);
  CHECK_STR_CONTAINS(line, "stun=7 binds=1 fwd_udp=1 fwd_stream=1");
  CHECK_STR_CONTAINS(line, "drop_auth=2");
  CHECK(strstr(line, "drop_replay") == NULL);
  for (int i = 0; i < PL_RDV_RELAY_DROP_COUNT; i++)
    CHECK(strcmp(pl_rdv_relay_drop_name((pl_rdv_relay_drop)i), "unknown") != 0);
  CHECK(strcmp(pl_rdv_relay_drop_name(PL_RDV_RELAY_DROP_COUNT), "unknown") == 0);
  /* A short buffer truncates, never overflows. */
  char tiny[8];
  pl_rdv_relay_stats_format(&s, tiny, sizeof tiny);
  CHECK(strlen(tiny) < sizeof tiny);
}

int main(void) {
  char id[33];
  CHECK(pl_rdv_pairings_init(&table, fixture_random) == 0);
  CHECK(pl_rdv_pairing_member_init(&A, &owner_a, fixture_id(id, 0xa)) == 0);
  CHECK(pl_rdv_pairing_member_init(&B, &owner_b, fixture_id(id, 0xb)) == 0);
  CHECK(pl_rdv_pairing_member_init(&C, &owner_c, fixture_id(id, 0xc)) == 0);
  pl_rdv_pairing *p;
  CHECK(pl_rdv_pairings_create(&table, &B, &A, &p) == 0);
  test_udp(p);
  test_udp_drops(p);
  pl_rdv_pairings_delete(&table, p);
  test_stream();
  test_stats();
  pl_rdv_pairings_free(&table);
  printf("relay_test: ok\n");
  return 0;
}
