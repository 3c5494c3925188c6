/* Two links on one loop, each behind a real transport on 127.0.0.1, with the io seam between
 * link and transport under the test's control, and real key pairs (the seal tests' agents A and
 * B), so DATA is sealed end to end: the path comes up, datagrams and reliable messages go both
 * ways (2,000 of them through 20% loss at the seam arrive once each, in order), a modified or
 * replayed DATA frame is dropped and counted, a datagram the io refuses fails the send with the
 * io's error (not a silent OK), a reliable message to a peer that vanished fails within the
 * configured bound and closes the link, and closing a link fails what it still had pending and
 * tells the peer at once. */

#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/link.h"
#include "agent/transport.h"
#include "control/common/addr.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"
#include "tests/unit/seal/fixture.h"

/* Messages through 20% loss; the lab's reliable_lab_test carries 10,000. This one runs on real
 * loopback sockets beside everything else make test runs: 2,000 once took over two minutes on
 * a loaded two-core box. */
#define MSGS 500

typedef struct side {
  pl_transport t;
  pl_links links;
  pl_link *link;
  fixture_agent me;
  int fail_udp;   /* the io refuses UDP sends as the kernel would (firewall, full buffer) */
  int loss_pct;   /* the io drops this share of what it sends, as a lossy path would */
  int black_hole; /* everything sent is dropped: the peer looks gone */
  int direct, closed_by_peer, closed_here, got_data;
  char data[64];
  char last_detail[128];
  /* The last DATA frame sent, for the tamper and replay tests. */
  uint8_t last_data_frame[PL_FRAME_MAX_LEN];
  size_t last_data_len;
  /* Reliable messages: delivered ones are checked against the expected sequence. */
  uint64_t delivered, next_expected, acked, failed;
  int last_err;
  char last_why[256];
  int big_ok;
} side;

static uv_loop_t loop;
static uint32_t rng = 7;

static int lose(int pct) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return pct > 0 && (int)(rng % 100) < pct;
}

static int send_udp(void *arg, const struct sockaddr *dst, const uint8_t *data, size_t len) {
  side *s = arg;
  if (s->fail_udp)
    return PL_ERR_IO;
  if (data[0] == PL_FRAME_DATA && len <= sizeof s->last_data_frame) {
    memcpy(s->last_data_frame, data, len);
    s->last_data_len = len;
  }
  if (s->black_hole || lose(s->loss_pct))
    return 0; /* left this host, lost on the way */
  return pl_transport_send(&s->t, dst, data, len);
}

static int send_stream(void *arg, const char *pairing_id, const uint8_t *data, size_t len) {
  (void)arg;
  (void)pairing_id;
  (void)data;
  (void)len;
  return PL_ERR_CLOSED; /* no rendezvous here */
}

static void on_path(void *arg, pl_link *l, const char *detail) {
  side *s = arg;
  snprintf(s->last_detail, sizeof s->last_detail, "%s", detail);
  if (l->path.kind == PL_PATH_DIRECT)
    s->direct = 1;
  if (l->path.kind == PL_PATH_NONE && strcmp(detail, "closed by the peer") == 0)
    s->closed_by_peer = 1;
  if (l->path.kind == PL_PATH_NONE && strstr(detail, "closed by the peer") == NULL)
    s->closed_here = 1;
  if (l->path.kind == PL_PATH_NONE && s->link == l)
    s->link = NULL;
}

static void on_data(void *arg, pl_link *l, const uint8_t *data, size_t len) {
  side *s = arg;
  (void)l;
  CHECK(len < sizeof s->data);
  memcpy(s->data, data, len);
  s->data[len] = '\0';
  s->got_data = 1;
}

/* Reliable message i is its number, then a filler that makes some of them span fragments. */
static size_t message(uint64_t i, uint8_t *buf) {
  size_t len = 8 + (size_t)(i % 7) * 400;
  memset(buf, (int)(i & 0xff), len);
  memcpy(buf, &i, sizeof i);
  return len;
}

#define BIG (200 * 1000)

static void on_message(void *arg, pl_link *l, const uint8_t *data, size_t len) {
  side *s = arg;
  (void)l;
  if (len == BIG) {
    for (size_t i = 0; i < len; i++)
      CHECK(data[i] == (uint8_t)(i * 7));
    s->big_ok = 1;
    return;
  }
  uint8_t want[4096];
  size_t wantlen = message(s->next_expected, want);
  CHECK_MSG(len == wantlen && memcmp(data, want, len) == 0, "message %llu out of order or damaged",
            (unsigned long long)s->next_expected);
  s->next_expected++;
  s->delivered++;
}

static void on_sent(void *arg, pl_link *l, uint64_t msg_id, int err, const char *why) {
  side *s = arg;
  (void)l;
  (void)msg_id;
  if (err == 0) {
    s->acked++;
    return;
  }
  s->failed++;
  s->last_err = err;
  snprintf(s->last_why, sizeof s->last_why, "%s", why ? why : "");
}

static void side_init(side *s, const fixture_agent *me, const char *fingerprint) {
  struct sockaddr_storage lo;
  memset(s, 0, sizeof *s);
  s->me = *me;
  CHECK(pl_addr_parse(&lo, "127.0.0.1", 0) == 0);
  CHECK_RV(pl_transport_open(&s->t, &loop, (const struct sockaddr *)&lo), 0);
  pl_links *ls = &s->links;
  ls->loop = &loop;
  memcpy(ls->self_id, s->me.id, sizeof ls->self_id);
  ls->self_key_der = s->me.sec1;
  ls->self_key_der_len = sizeof s->me.sec1;
  ls->self_fingerprint = fingerprint;
  ls->keepalive_us = 200000;
  ls->io = (pl_link_io){.send_udp = send_udp, .send_stream = send_stream, .arg = s};
  ls->obs = (pl_link_observer){.on_path = on_path,
                               .on_data = on_data,
                               .on_message = on_message,
                               .on_sent = on_sent,
                               .arg = s};
  pl_links_init(ls);
  pl_links_set_local(ls, (const struct sockaddr *)&s->t.local);
  pl_transport_set_receiver(&s->t, PL_DEMUX_FRAME, pl_links_recv_udp, NULL, ls);
}

static const uint8_t secret[] = "the secret both sides were given";

static void link_to(side *s, const side *peer, const char *peer_fp) {
  Peerlink__V1__Candidate c = PEERLINK__V1__CANDIDATE__INIT, *cands[] = {&c};
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  char ip[64];
  ep.port = (uint32_t)pl_addr_ip_port((const struct sockaddr *)&peer->t.local, ip);
  ep.ip = ip;
  c.endpoint = &ep;
  CHECK_RV(pl_link_from_candidates(&s->links, cands, 1, secret, sizeof secret - 1, peer_fp,
                                   peer->me.spki, sizeof peer->me.spki, &s->link),
           0);
}

static void on_deadline(uv_timer_t *t) {
  CHECK_MSG(0, "deadline passed waiting for %s", (const char *)t->data);
}

static uv_timer_t deadline;

/* Runs the loop until cond holds; the test fails at the deadline. */
#define WAIT_FOR(cond, what, ms)                                                                   \
  do {                                                                                             \
    deadline.data = (void *)(what);                                                                \
    uv_timer_start(&deadline, on_deadline, (ms), 0);                                               \
    while (!(cond))                                                                                \
      uv_run(&loop, UV_RUN_ONCE);                                                                  \
    uv_timer_stop(&deadline);                                                                      \
  } while (0)

static void connect_pair(side *a, side *b) {
  link_to(a, b, "bb");
  link_to(b, a, "aa");
  WAIT_FOR(a->direct, "A's direct path", 10000);
  WAIT_FOR(b->direct, "B's direct path", 10000);
}

/* Keys and IDs are checked where the link is made. */
static void test_link_checks(side *a, const side *b) {
  Peerlink__V1__Candidate c = PEERLINK__V1__CANDIDATE__INIT, *cands[] = {&c};
  Peerlink__V1__Endpoint ep = {PROTOBUF_C_MESSAGE_INIT(&peerlink__v1__endpoint__descriptor),
                               "127.0.0.1", 9};
  c.endpoint = &ep;
  pl_link *l;
  static const uint8_t other[] = "another secret, for another peer";
  CHECK_RV(pl_link_from_candidates(&a->links, cands, 1, other, sizeof other - 1, "bb", b->me.spki,
                                   sizeof b->me.spki - 1, &l),
           PL_ERR_PARSE);
  CHECK_RV(pl_link_from_candidates(&a->links, cands, 1, other, sizeof other - 1, "bb", a->me.spki,
                                   sizeof a->me.spki, &l),
           PL_ERR_INVALID); /* our own key */
  CHECK_RV(pl_link_from_candidates(&a->links, cands, 1, other, sizeof other - 1, "bb", NULL, 0, &l),
           PL_ERR_INVALID);
  /* An offer whose peer ID is not its key's. */
  Peerlink__V1__Offer offer = PEERLINK__V1__OFFER__INIT;
  Peerlink__V1__AgentInfo peer = PEERLINK__V1__AGENT_INFO__INIT;
  peer.id = KAT_ID_A; /* B's key below */
  peer.name = "b";
  offer.peer = &peer;
  offer.pairing_id = "00112233445566aa";
  offer.pairing_secret.data = (uint8_t *)other;
  offer.pairing_secret.len = sizeof other - 1;
  CHECK_RV(pl_link_from_offer(&a->links, &offer, &l), PL_ERR_INVALID); /* no key at all */
  offer.peer_public_key.data = (uint8_t *)b->me.spki;
  offer.peer_public_key.len = sizeof b->me.spki;
  CHECK_RV(pl_link_from_offer(&a->links, &offer, &l), PL_ERR_INVALID); /* that ID is ours */
  peer.id = "00000000000000000000000000000001";
  CHECK_RV(pl_link_from_offer(&a->links, &offer, &l), PL_ERR_AUTH);
  CHECK_U64(pl_links_count(&a->links), ==, 0);
}

static void test_datagrams(side *a, side *b) {
  CHECK_RV(pl_link_send(a->link, (const uint8_t *)"hello", 5), 0);
  WAIT_FOR(b->got_data, "the datagram at B", 5000);
  CHECK_STR_EQ(b->data, "hello");
  CHECK_RV(pl_link_send(b->link, (const uint8_t *)"hello back", 10), 0);
  WAIT_FOR(a->got_data, "the datagram at A", 5000);
  CHECK_STR_EQ(a->data, "hello back");
  /* Sealed: the text is not on the wire. */
  CHECK(a->last_data_len == PL_FRAME_HEADER_LEN + 1 + 5 + PL_FRAME_SEAL_TAG_LEN);
  CHECK(memmem(a->last_data_frame, a->last_data_len, "hello", 5) == NULL);
}

static uint64_t data_dropped(const side *s) {
  Peerlink__V1__PeerPath path;
  Peerlink__V1__Endpoint remote, local;
  char ip[128];
  pl_link_describe(s->link, &path, &remote, &local, ip, sizeof ip);
  return path.data_dropped;
}

/* What an attacker on the path (or the relay) can do with DATA: change it, replay it. */
static void test_tamper_and_replay(side *a, side *b) {
  b->got_data = 0;
  CHECK_RV(pl_link_send(a->link, (const uint8_t *)"genuine", 7), 0);
  WAIT_FOR(b->got_data, "the genuine datagram", 5000);
  uint8_t frame[PL_FRAME_MAX_LEN];
  size_t len = a->last_data_len;
  memcpy(frame, a->last_data_frame, len);
  uint64_t before = data_dropped(b);
  b->got_data = 0;
  const struct sockaddr *from = (const struct sockaddr *)&a->t.local;
  pl_links_recv_udp(&b->links, from, frame, len); /* replayed */
  frame[PL_FRAME_HEADER_LEN + 2] ^= 0x01;         /* a ciphertext bit */
  frame[33] ^= 0x40;                              /* and a fresh seq, so it is not a replay */
  pl_links_recv_udp(&b->links, from, frame, len);
  frame[PL_FRAME_HEADER_LEN + 2] ^= 0x01; /* only the header changed now */
  pl_links_recv_udp(&b->links, from, frame, len);
  CHECK_U64(data_dropped(b), ==, before + 3);
  CHECK(!b->got_data);
}

static void test_reliable(side *a, side *b) {
  uint8_t buf[4096];
  uint64_t id;
  CHECK_RV(pl_link_send_reliable(a->link, buf, message(0, buf), &id), 0);
  CHECK_U64(id, ==, 1);
  CHECK_RV(pl_link_send_reliable(b->link, buf, message(0, buf), &id), 0);
  CHECK_U64(id, ==, 1);
  WAIT_FOR(a->acked == 1 && b->acked == 1 && a->delivered == 1 && b->delivered == 1,
           "the first reliable messages", 5000);
  /* A message of many fragments. */
  static uint8_t big[BIG];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)(i * 7);
  CHECK_RV(pl_link_send_reliable(a->link, big, sizeof big, &id), 0);
  WAIT_FOR(b->big_ok, "the 200 kB message", 10000);
  CHECK_RV(pl_link_send_reliable(a->link, big, pl_link_max_reliable_message(&a->links) + 1, &id),
           PL_ERR_TOO_BIG);

  /* Through 20% loss both ways (probes and keep-alives too): all arrive once, in order. */
  a->loss_pct = b->loss_pct = 20;
  uint64_t sent = 1, target = 1 + MSGS, t0 = pl_clock_now_us();
  while (b->delivered < target || a->acked < target + 1) {
    while (sent < target && sent - a->acked < 128) {
      CHECK_RV(pl_link_send_reliable(a->link, buf, message(sent, buf), &id), 0);
      sent++;
    }
    uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(a->failed == 0, "a reliable message failed: %s", a->last_why);
    CHECK_MSG(pl_clock_now_us() - t0 < 120000000, "20%% loss: %llu of %d delivered in 2 minutes",
              (unsigned long long)b->delivered, MSGS);
  }
  a->loss_pct = b->loss_pct = 0;
  CHECK_U64(b->delivered, ==, target);
  CHECK_U64(a->failed, ==, 0);
  pl_channel_stats st;
  pl_channel_stats_get(a->link->chan, &st);
  CHECK(st.reliable.retransmits > 0);
  printf("link_test: %d messages through 20%% loss in %.1f s, %llu retransmissions\n", MSGS,
         (double)(pl_clock_now_us() - t0) / 1e6, (unsigned long long)st.reliable.retransmits);
}

/* B goes silent: A's message is not acknowledged within the bound, its Send would fail saying
 * so, and the link closes. */
static void test_vanished_peer(side *a, side *b) {
  uint8_t buf[64] = "anyone there?";
  uint64_t id, t0 = pl_clock_now_us();
  b->black_hole = a->black_hole = 1;
  a->failed = 0;
  CHECK_RV(pl_link_send_reliable(a->link, buf, 13, &id), 0);
  CHECK_RV(pl_link_send_reliable(a->link, buf, 13, &id), 0);
  WAIT_FOR(a->failed > 0, "the message to the vanished peer to fail", 10000);
  CHECK_U64(a->failed, ==, 2); /* every pending one, at once */
  CHECK_RV(a->last_err, PL_ERR_TIMEOUT);
  CHECK_STR_CONTAINS(a->last_why, "not acknowledged within 1000 ms");
  CHECK(pl_clock_now_us() - t0 < 5000000);
  CHECK(a->link == NULL && a->closed_here);
  CHECK_STR_CONTAINS(a->last_detail, "stopped acknowledging");
  CHECK_U64(pl_links_count(&a->links), ==, 0);
  b->black_hole = a->black_hole = 0;
  pl_links_close_all(&b->links, "test over");
}

int main(void) {
  side a, b;
  fixture_agent fa, fb;
  fixture_agents(&fa, &fb);
  CHECK(uv_loop_init(&loop) == 0);
  uv_timer_init(&loop, &deadline);
  side_init(&a, &fa, "aa");
  side_init(&b, &fb, "bb");
  test_link_checks(&a, &b);
  connect_pair(&a, &b);
  CHECK_U64(pl_links_count(&a.links), ==, 1);
  CHECK_STR_EQ(a.last_detail, "none -> direct");

  /* A description carries both ends; the peer's ID is its key's. */
  Peerlink__V1__PeerPath path;
  Peerlink__V1__Endpoint remote, local;
  char ip[128];
  pl_link_describe(a.link, &path, &remote, &local, ip, sizeof ip);
  CHECK_U64(path.kind, ==, PEERLINK__V1__PATH_KIND__PATH_KIND_DIRECT);
  CHECK(path.remote != NULL && path.local != NULL);
  CHECK_U64(path.remote->port, ==, ntohs(((struct sockaddr_in *)&b.t.local)->sin_port));
  CHECK_STR_EQ(path.peer_id, KAT_ID_B);
  CHECK_U64(path.data_dropped, ==, 0);

  test_datagrams(&a, &b);
  test_tamper_and_replay(&a, &b);

  /* Dropped here, before it left: the sender must be told. */
  a.fail_udp = 1;
  uint64_t failed = a.link->send_failed;
  CHECK_RV(pl_link_send(a.link, (const uint8_t *)"lost", 4), PL_ERR_IO);
  CHECK_U64(a.link->send_failed, ==, failed + 1);
  CHECK_RV(a.link->last_send_error, PL_ERR_IO);
  a.fail_udp = 0;
  CHECK_RV(pl_link_send(a.link, NULL, 2000), PL_ERR_TOO_BIG);
  CHECK_RV(pl_link_send(a.link, (const uint8_t *)"x", PL_CHANNEL_MAX_DATAGRAM + 1), PL_ERR_TOO_BIG);

  /* Frames for no link are counted, not acted on. */
  uint8_t junk[60] = {0x22, 0x01};
  pl_links_recv_udp(&a.links, (const struct sockaddr *)&b.t.local, junk, sizeof junk);
  CHECK_U64(a.links.dropped, ==, 1);

  test_reliable(&a, &b);

  /* Closing fails what is pending (saying so) and sends CLOSE: B hears of it at once, not
   * after its dead-path timeout. */
  uint64_t id;
  a.black_hole = 1; /* so the message stays pending */
  CHECK_RV(pl_link_send_reliable(a.link, (const uint8_t *)"pending", 7, &id), 0);
  a.black_hole = 0;
  a.failed = 0;
  pl_link_close(a.link, "test over");
  CHECK(a.closed_here);
  CHECK_U64(a.failed, ==, 1);
  CHECK_RV(a.last_err, PL_ERR_CLOSED);
  CHECK_STR_CONTAINS(a.last_why, "path to " KAT_ID_B " closed (test over)");
  CHECK_U64(pl_links_count(&a.links), ==, 0);
  WAIT_FOR(b.closed_by_peer, "B told that A closed the link", 10000);
  CHECK_U64(pl_links_count(&b.links), ==, 0);

  /* The same secret again: a new instance whose sequence numbers start above the old ones, so
   * nonces do not repeat and the peer's replay window takes them. */
  a.direct = b.direct = 0;
  a.links.reliable_give_up_us = 1000000; /* a vanished peer fails a message within a second */
  connect_pair(&a, &b);
  b.got_data = 0;
  CHECK_RV(pl_link_send(a.link, (const uint8_t *)"again", 5), 0);
  WAIT_FOR(b.got_data, "a datagram on the new link", 5000);
  test_vanished_peer(&a, &b);

  pl_transport_close(&a.t, NULL, NULL);
  pl_transport_close(&b.t, NULL, NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  printf("link_test: ok\n");
  return 0;
}
