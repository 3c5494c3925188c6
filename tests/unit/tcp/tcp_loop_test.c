/* agent/tcp's libuv glue on 127.0.0.1 with a real loop: two nodes punch to each other (both
 * connect from their listening ports at once), authenticate and select one connection;
 * messages both ways are acknowledged; bulk data meets back-pressure and drains; a CLOSE
 * reaches the peer; a wrong secret reports "auth failed"; a closed port reports "refused"; no
 * candidates reports so; STUN over TCP against the rendezvous's responder learns the port's
 * mapping from that same port. Everything is closed and freed at the end (ASan's leak check). */
#include <stdlib.h>
#include <string.h>

#include "agent/tcp/tcp.h"
#include "control/common/clock.h"
#include "control/rendezvous/stun_tcp.h"
#include "tests/unit/common/check.h"
#include "tests/unit/common/test_addr.h"

typedef struct peer {
  pl_tcp_node node;
  pl_tcp_link *link;
  int changes;
  uint64_t messages;
  uint8_t last[64];
  size_t last_len;
  uint64_t bulk_bytes;
  int writable;
  int publics;
  int closed;
} peer;

static uv_loop_t *loop;

static void on_link(void *arg, pl_tcp_link *t) {
  peer *p = arg;
  (void)t;
  p->changes++;
}

static void on_message(void *arg, pl_tcp_link *t, const uint8_t *data, size_t len) {
  peer *p = arg;
  (void)t;
  p->messages++;
  p->last_len = len < sizeof p->last ? len : sizeof p->last;
  memcpy(p->last, data, p->last_len);
}

static void on_public(void *arg) {
  ((peer *)arg)->publics++;
}

static void on_bulk(void *arg, pl_tcp_link *t, const uint8_t *data, size_t len, size_t offset,
                    size_t total) {
  peer *p = arg;
  (void)t;
  (void)data;
  CHECK(offset + len <= total);
  p->bulk_bytes += len;
}

static void on_writable(void *arg, pl_tcp_link *t) {
  (void)t;
  ((peer *)arg)->writable++;
}

static void node_closed(void *arg) {
  ((peer *)arg)->closed = 1;
}

static void peer_open(peer *p, uint8_t id) {
  memset(p, 0, sizeof *p);
  p->node.loop = loop;
  memset(p->node.self_id, id, sizeof p->node.self_id);
  p->node.keepalive_us = 200000;
  p->node.dead_after_us = 2000000;
  p->node.punch_timeout_us = 1500000;
  p->node.obs = (pl_tcp_observer){on_link, on_message, on_public, p};
  p->node.bulk = (pl_tcp_bulk_handler){on_bulk, on_writable, p};
  struct sockaddr_storage any = pl_test_addr("127.0.0.1", 0);
  CHECK_RV(pl_tcp_node_open(&p->node, (const struct sockaddr *)&any), 0);
  CHECK(pl_tcp_node_port(&p->node) > 0);
}

/* The link from p to `to` (or to a port nobody listens on, or to nothing). */
static void link_to(peer *p, uint8_t peer_id, int port, const uint8_t *secret, int controlling) {
  pl_tcp_link_config cfg;
  memset(&cfg, 0, sizeof cfg);
  memset(cfg.pairing, 0x42, sizeof cfg.pairing);
  memset(cfg.peer_id, peer_id, sizeof cfg.peer_id);
  cfg.secret = secret;
  cfg.secretlen = 32;
  cfg.controlling = controlling;
  cfg.start_us = pl_clock_now_us();
  if (port > 0) {
    cfg.remote[0] = pl_test_addr("127.0.0.1", (uint16_t)port);
    cfg.n_remote = 1;
  }
  CHECK_RV(pl_tcp_link_new(&p->node, &cfg, &p->link), 0);
}

static void on_deadline(uv_timer_t *t) {
  CHECK_MSG(0, "deadline passed waiting for %s", (const char *)t->data);
}

static uv_timer_t *deadline_start(const char *what) {
  uv_timer_t *t = malloc(sizeof *t);
  CHECK(t != NULL);
  uv_timer_init(loop, t);
  t->data = (void *)what;
  uv_timer_start(t, on_deadline, 10000, 0);
  return t;
}

/* Runs the loop until cond holds (an expression over the test's state), or fails at 10 s. */
#define RUN_UNTIL(cond, what)                                                                      \
  do {                                                                                             \
    uv_timer_t *dl_ = deadline_start(what);                                                        \
    while (!(cond))                                                                                \
      uv_run(loop, UV_RUN_ONCE);                                                                   \
    uv_close((uv_handle_t *)dl_, (uv_close_cb)free);                                               \
  } while (0)

static void close_peers(peer *a, peer *b) {
  pl_tcp_node_close(&a->node, node_closed, a);
  if (b)
    pl_tcp_node_close(&b->node, node_closed, b);
  RUN_UNTIL(a->closed && (b == NULL || b->closed), "the nodes to close");
}

typedef struct sent {
  pl_tcp_send_req req;
  int done, rv;
  char why[160];
} sent;

static void on_sent(pl_tcp_send_req *req, int rv, const char *why) {
  sent *s = (sent *)req;
  s->done = 1;
  s->rv = rv;
  snprintf(s->why, sizeof s->why, "%s", why ? why : "");
}

static void test_punch_and_talk(void) {
  static peer a, b;
  uint8_t secret[32];
  memset(secret, 9, sizeof secret);
  peer_open(&a, 0xaa);
  peer_open(&b, 0xbb);
  link_to(&a, 0xbb, pl_tcp_node_port(&b.node), secret, 1);
  link_to(&b, 0xaa, pl_tcp_node_port(&a.node), secret, 0);
  RUN_UNTIL(a.link->state == PL_TCP_LINK_CONNECTED && b.link->state == PL_TCP_LINK_CONNECTED,
            "both links connected");
  CHECK_STR_EQ(a.link->detail, "connected");
  CHECK(a.changes == 1 && b.changes == 1);
  /* The one connection both chose: its ends are the two listening ports. */
  CHECK(pl_test_addr_port(&a.link->local) == pl_tcp_node_port(&a.node));
  CHECK(pl_test_addr_port(&a.link->remote) == pl_tcp_node_port(&b.node));
  CHECK(pl_test_addr_port(&b.link->remote) == pl_tcp_node_port(&a.node));

  /* A message each way; each Send completes when the peer acknowledges. */
  static sent s1, s2;
  s1.req.done = s2.req.done = on_sent;
  CHECK_RV(pl_tcp_link_send(a.link, (const uint8_t *)"to b", 4, &s1.req), 0);
  CHECK_RV(pl_tcp_link_send(b.link, (const uint8_t *)"to a", 4, &s2.req), 0);
  RUN_UNTIL(s1.done && s2.done, "both acknowledgements");
  CHECK(s1.rv == 0 && s2.rv == 0);
  CHECK(b.messages == 1 && b.last_len == 4 && memcmp(b.last, "to b", 4) == 0);
  CHECK(a.messages == 1 && memcmp(a.last, "to a", 4) == 0);
  pl_tcp_counters ca;
  pl_tcp_link_counters(a.link, &ca);
  CHECK(ca.messages_sent == 1 && ca.messages_acked == 1 && ca.messages_received == 1);

  /* Bulk until refused, then it drains and says so; the receiver counts every byte. */
  static uint8_t chunk[256 * 1024];
  memset(chunk, 0x77, sizeof chunk);
  uint64_t sent_bytes = 0;
  int rv;
  while ((rv = pl_tcp_link_bulk(a.link, chunk, sizeof chunk)) == 0)
    sent_bytes += sizeof chunk;
  CHECK_RV(rv, PL_ERR_FULL);
  pl_tcp_link_counters(a.link, &ca);
  CHECK(ca.queued >= PL_TCP_QUEUE_HIGH);
  RUN_UNTIL(a.writable == 1, "the bulk queue to drain");
  RUN_UNTIL(b.bulk_bytes == sent_bytes, "every bulk byte at b");
  pl_tcp_counters cb;
  pl_tcp_link_counters(b.link, &cb);
  CHECK(cb.bulk_received == sent_bytes / sizeof chunk);
  CHECK(cb.bytes_received == sent_bytes + 4);

  /* A message pending when the link closes fails, saying why; the peer hears CLOSE. */
  static sent s3;
  s3.req.done = on_sent;
  b.changes = 0;
  CHECK_RV(pl_tcp_link_send(a.link, (const uint8_t *)"late", 4, &s3.req), 0);
  pl_tcp_link_close(a.link, "disconnected by request");
  CHECK(s3.done && s3.rv == PL_ERR_CLOSED);
  CHECK_STR_EQ(s3.why, "disconnected by request");
  RUN_UNTIL(b.changes == 1, "b told the link is lost");
  CHECK(b.link->state == PL_TCP_LINK_LOST);
  CHECK_STR_EQ(b.link->detail, "closed by the peer: disconnected by request");
  CHECK_RV(pl_tcp_link_send(b.link, (const uint8_t *)"x", 1, &s3.req), PL_ERR_STATE);
  close_peers(&a, &b);
}

static void test_wrong_secret(void) {
  static peer a, b;
  uint8_t s1[32], s2[32];
  memset(s1, 1, sizeof s1);
  memset(s2, 2, sizeof s2);
  peer_open(&a, 0xaa);
  peer_open(&b, 0xbb);
  link_to(&a, 0xbb, pl_tcp_node_port(&b.node), s1, 1);
  link_to(&b, 0xaa, pl_tcp_node_port(&a.node), s2, 0);
  RUN_UNTIL(a.link->state == PL_TCP_LINK_FAILED && b.link->state == PL_TCP_LINK_FAILED,
            "both links failed");
  CHECK_STR_CONTAINS(a.link->detail, "auth failed");
  CHECK_STR_CONTAINS(b.link->detail, "auth failed");
  CHECK(a.messages == 0 && b.messages == 0);
  close_peers(&a, &b);
}

static void test_refused_and_none(void) {
  static peer a, b;
  uint8_t secret[32] = {0};
  peer_open(&a, 0xaa);
  peer_open(&b, 0xbb);
  int port = pl_tcp_node_port(&b.node);
  close_peers(&b, NULL); /* nobody listens on b's port now: connects meet a reset */
  link_to(&a, 0xbb, port, secret, 1);
  RUN_UNTIL(a.link->state == PL_TCP_LINK_FAILED, "the link to a closed port failed");
  CHECK_STR_CONTAINS(a.link->detail, "refused: 127.0.0.1:");
  CHECK_STR_CONTAINS(a.link->detail, "answered with a reset");
  link_to(&a, 0xbb, 0, secret, 1); /* replaces the failed one */
  CHECK(a.link->state == PL_TCP_LINK_FAILED);
  CHECK_STR_EQ(a.link->detail, "no TCP candidates from the peer");
  close_peers(&a, NULL);
}

static void stun_closed(void *arg) {
  *(int *)arg = 1;
}

static void test_stun_over_tcp(void) {
  static peer a;
  static pl_rdv_stun_tcp server;
  int server_closed = 0;
  struct sockaddr_storage any = pl_test_addr("127.0.0.1", 0);
  CHECK_RV(pl_rdv_stun_tcp_start(&server, loop, (const struct sockaddr *)&any), 0);
  peer_open(&a, 0xaa);
  struct sockaddr_storage srv = pl_test_addr("127.0.0.1", (uint16_t)pl_rdv_stun_tcp_port(&server));
  pl_tcp_node_set_stun(&a.node, (const struct sockaddr *)&srv);
  RUN_UNTIL(a.publics == 1, "the TCP mapping");
  /* Asked from the listening port itself: the mapping is that port. */
  CHECK(pl_test_addr_is(&a.node.public_ep, "127.0.0.1", (uint16_t)pl_tcp_node_port(&a.node)));
  CHECK(server.answered == 1 && server.n_conns == 1);           /* the connection stays open */
  pl_tcp_node_set_stun(&a.node, (const struct sockaddr *)&srv); /* the same: nothing new */
  CHECK(server.answered == 1);
  close_peers(&a, NULL);
  pl_rdv_stun_tcp_close(&server, stun_closed, &server_closed);
  RUN_UNTIL(server_closed, "the STUN responder to close");
}

int main(void) {
  loop = uv_default_loop();
  test_punch_and_talk();
  test_wrong_secret();
  test_refused_and_none();
  test_stun_over_tcp();
  CHECK(uv_run(loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(loop) == 0);
  printf("tcp_loop_test: ok\n");
  return 0;
}
