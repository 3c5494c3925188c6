/* Two links on one loop, each behind a real transport on 127.0.0.1, with the io seam between
 * link and transport under the test's control: the path comes up, DATA arrives, a datagram the
 * io refuses fails the send with the io's error (not a silent OK), and closing a link tells the
 * peer at once. */

#include <stdio.h>
#include <string.h>

#include "agent/link.h"
#include "agent/transport.h"
#include "control/common/addr.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

typedef struct side {
  pl_transport t;
  pl_links links;
  pl_link *link;
  int fail_udp; /* the io refuses UDP sends as the kernel would (firewall, full buffer) */
  int direct, closed_by_peer, closed_here, got_data;
  char data[64];
  char last_detail[128];
} side;

static uv_loop_t loop;

static int send_udp(void *arg, const struct sockaddr *dst, const uint8_t *data, size_t len) {
  side *s = arg;
  return s->fail_udp ? PL_ERR_IO : pl_transport_send(&s->t, dst, data, len);
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
  if (l->path.kind == PL_PATH_NONE && strcmp(detail, "test over") == 0)
    s->closed_here = 1;
}

static void on_data(void *arg, pl_link *l, const uint8_t *data, size_t len) {
  side *s = arg;
  (void)l;
  CHECK(len < sizeof s->data);
  memcpy(s->data, data, len);
  s->data[len] = '\0';
  s->got_data = 1;
}

static void side_init(side *s, uint8_t id_byte, const char *fingerprint) {
  struct sockaddr_storage lo;
  memset(s, 0, sizeof *s);
  CHECK(pl_addr_parse(&lo, "127.0.0.1", 0) == 0);
  CHECK_RV(pl_transport_open(&s->t, &loop, (const struct sockaddr *)&lo), 0);
  pl_links *ls = &s->links;
  ls->loop = &loop;
  memset(ls->self_id, id_byte, sizeof ls->self_id);
  ls->self_fingerprint = fingerprint;
  ls->keepalive_us = 200000;
  ls->io = (pl_link_io){.send_udp = send_udp, .send_stream = send_stream, .arg = s};
  ls->obs = (pl_link_observer){.on_path = on_path, .on_data = on_data, .arg = s};
  pl_links_init(ls);
  pl_links_set_local(ls, (const struct sockaddr *)&s->t.local);
  pl_transport_set_receiver(&s->t, PL_DEMUX_FRAME, pl_links_recv_udp, NULL, ls);
}

static void link_to(side *s, const side *peer, const char *peer_fp) {
  static const uint8_t secret[] = "the secret both sides were given";
  Peerlink__V1__Candidate c = PEERLINK__V1__CANDIDATE__INIT, *cands[] = {&c};
  Peerlink__V1__Endpoint ep = PEERLINK__V1__ENDPOINT__INIT;
  char ip[64];
  ep.port = (uint32_t)pl_addr_ip_port((const struct sockaddr *)&peer->t.local, ip);
  ep.ip = ip;
  c.endpoint = &ep;
  CHECK_RV(
      pl_link_from_candidates(&s->links, cands, 1, secret, sizeof secret - 1, peer_fp, &s->link),
      0);
}

static void on_deadline(uv_timer_t *t) {
  CHECK_MSG(0, "deadline passed waiting for %s", (const char *)t->data);
}

static uv_timer_t deadline;

static void run_until(const int *flag, const char *what) {
  deadline.data = (void *)what;
  uv_timer_start(&deadline, on_deadline, 10000, 0);
  while (!*flag)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&deadline);
}

int main(void) {
  side a, b;
  CHECK(uv_loop_init(&loop) == 0);
  uv_timer_init(&loop, &deadline);
  side_init(&a, 0x0a, "aa");
  side_init(&b, 0x0b, "bb");
  link_to(&a, &b, "bb");
  link_to(&b, &a, "aa");
  CHECK_U64(pl_links_count(&a.links), ==, 1);
  run_until(&a.direct, "A's direct path");
  run_until(&b.direct, "B's direct path");
  CHECK_STR_EQ(a.last_detail, "none -> direct");

  /* A description carries both ends. */
  Peerlink__V1__PeerPath path;
  Peerlink__V1__Endpoint remote, local;
  char ip[128];
  pl_link_describe(a.link, &path, &remote, &local, ip, sizeof ip);
  CHECK_U64(path.kind, ==, PEERLINK__V1__PATH_KIND__PATH_KIND_DIRECT);
  CHECK(path.remote != NULL && path.local != NULL);
  CHECK_U64(path.remote->port, ==, ntohs(((struct sockaddr_in *)&b.t.local)->sin_port));
  CHECK_STR_EQ(path.peer_id, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");

  CHECK_RV(pl_link_send(a.link, (const uint8_t *)"hello", 5), 0);
  run_until(&b.got_data, "the datagram at B");
  CHECK_STR_EQ(b.data, "hello");

  /* Dropped here, before it left: the sender must be told. */
  a.fail_udp = 1;
  uint64_t failed = a.link->send_failed;
  CHECK_RV(pl_link_send(a.link, (const uint8_t *)"lost", 4), PL_ERR_IO);
  CHECK_U64(a.link->send_failed, ==, failed + 1);
  CHECK_RV(a.link->last_send_error, PL_ERR_IO);
  a.fail_udp = 0;
  CHECK_RV(pl_link_send(a.link, NULL, 2000), PL_ERR_TOO_BIG);

  /* Frames for no link are counted, not acted on. */
  uint8_t junk[60] = {0x22, 0x01};
  pl_links_recv_udp(&a.links, (const struct sockaddr *)&b.t.local, junk, sizeof junk);
  CHECK_U64(a.links.dropped, ==, 1);

  /* Closing sends CLOSE: B hears of it at once, not after its dead-path timeout. */
  pl_link_close(a.link, "test over");
  CHECK(a.closed_here);
  CHECK_U64(pl_links_count(&a.links), ==, 0);
  run_until(&b.closed_by_peer, "B told that A closed the link");
  CHECK_U64(pl_links_count(&b.links), ==, 0);

  pl_transport_close(&a.t, NULL, NULL);
  pl_transport_close(&b.t, NULL, NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  printf("link_test: ok\n");
  return 0;
}
