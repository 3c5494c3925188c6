/* agent/quic: the handshake with pinned certificates. Both sides pin the other and connect; a
 * server presenting another certificate is refused by the client; a server pinning another
 * client certificate refuses the client; each side's detail says what happened, and nothing
 * is established on either side. Also: the handshake gives up after its timeout, an idle
 * connection ends, and a second client Initial is recognised as a new connection. */
#include "tests/unit/quic/harness.h"

static void test_pinned_ok(void) {
  h_pair p;
  pl_quic_info ci, si;
  h_pair_init(&p, 1, 0);
  h_start(&p);
  CHECK(h_run(&p, h_both_established, 5000000));
  h_info(p.c.q, &ci);
  h_info(p.s.q, &si);
  CHECK(ci.established && si.established);
  CHECK(ci.client && !si.client);
  CHECK_STR_EQ(ci.detail, "");
  CHECK_U64(ci.rtt_us, >=, 2 * H_LATENCY_US);
  CHECK_U64(p.c.established, ==, 1);
  CHECK_U64(p.c.closed + p.s.closed, ==, 0);
  h_pair_free(&p);
}

static int either_closed(h_pair *p) {
  return p->c.closed && p->s.closed;
}

/* The client pins identity 1 but the server shows identity 2's certificate. */
static void test_impostor_server(void) {
  h_pair p;
  pl_quic_info ci, si;
  h_pair_init(&p, 2, 0);
  h_start(&p);
  CHECK(h_run(&p, either_closed, 20000000));
  h_info(p.c.q, &ci);
  h_info(p.s.q, &si);
  CHECK(!ci.established && !si.established && p.c.established == 0 && p.s.established == 0);
  CHECK(ci.closed && si.closed);
  CHECK_STR_CONTAINS(ci.detail, "peer certificate does not match the pinned fingerprint");
  CHECK_STR_CONTAINS(si.detail, "the peer refused this agent's certificate (TLS alert 42");
  CHECK(ci.auth_failed && si.auth_failed);
  printf("  client: %s\n  server: %s\n", ci.detail, si.detail);
  h_pair_free(&p);
}

/* The server pins identity 2, the client is identity 0. */
static void test_server_refuses_client(void) {
  h_pair p;
  pl_quic_info ci, si;
  h_pair_init(&p, 1, 2);
  h_start(&p);
  CHECK(h_run(&p, either_closed, 20000000));
  h_info(p.c.q, &ci);
  h_info(p.s.q, &si);
  CHECK(p.s.established == 0);
  CHECK(ci.closed && si.closed);
  CHECK_STR_CONTAINS(si.detail, "peer certificate does not match the pinned fingerprint");
  CHECK_STR_CONTAINS(ci.detail, "the peer refused this agent's certificate");
  printf("  client: %s\n  server: %s\n", ci.detail, si.detail);
  /* The client may have seen its own handshake complete before the refusal arrived: then it
   * was told established once, and closed after. It must end closed either way. */
  CHECK(!ci.established);
  h_pair_free(&p);
}

static void test_handshake_timeout(void) {
  h_pair p;
  pl_quic_info ci;
  h_pair_init(&p, 1, 0);
  p.c2s.down = 1;
  p.c.cfg.handshake_timeout_us = 3000000;
  h_start(&p);
  CHECK(!h_run(&p, h_both_established, 10000000));
  h_info(p.c.q, &ci);
  CHECK(ci.closed && ci.drained);
  CHECK_STR_CONTAINS(ci.detail, "did not complete within 3000 ms");
  CHECK_U64(p.c.closed, ==, 1);
  h_pair_free(&p);
}

static int client_drained(h_pair *p) {
  pl_quic_info i;
  pl_quic_get_info(p->c.q, &i);
  return i.drained;
}

static void test_idle_and_keepalive(void) {
  h_pair p;
  pl_quic_info ci, si;
  /* With keep-alives both ways the connection outlives its idle timeout many times over. */
  h_pair_init(&p, 1, 0);
  p.c.cfg.idle_timeout_us = p.s.cfg.idle_timeout_us = 4000000;
  p.c.cfg.keepalive_us = p.s.cfg.keepalive_us = 1000000;
  h_start(&p);
  CHECK(h_run(&p, h_both_established, 5000000));
  CHECK(!h_run(&p, client_drained, 30000000));
  h_info(p.c.q, &ci);
  CHECK(ci.established);
  /* The peer goes silent: the idle timeout ends it, with a detail. */
  p.s2c.down = 1;
  p.c2s.down = 1;
  CHECK(h_run(&p, client_drained, 10000000));
  h_info(p.c.q, &ci);
  h_info(p.s.q, &si);
  CHECK(ci.closed && si.closed);
  CHECK_STR_CONTAINS(ci.detail, "idle timeout");
  h_pair_free(&p);
}

static void test_new_initial(void) {
  h_pair p, p2;
  h_pair_init(&p, 1, 0);
  h_start(&p);
  CHECK(h_run(&p, h_both_established, 5000000));
  /* A second client (a restart on the peer's side) sends its Initial. */
  h_pair_init(&p2, 1, 0);
  h_start(&p2);
  uint8_t buf[PL_QUIC_MAX_PACKET];
  size_t len;
  CHECK(pl_quic_write(p2.c.q, p2.now, buf, sizeof buf, &len) == 1);
  CHECK(pl_quic_is_new_initial(p.s.q, buf, len));
  CHECK(!pl_quic_owns(p.s.q, buf, len));
  /* The first client's own packets belong to the server's connection and are not new. */
  CHECK(pl_quic_stream_open(p.c.q, PL_QUIC_STREAM_MESSAGE, 0, &p.c.scb, NULL, &(int64_t){0}) == 0);
  CHECK(pl_quic_write(p.c.q, p.now, buf, sizeof buf, &len) == 1);
  CHECK(pl_quic_owns(p.s.q, buf, len));
  CHECK(!pl_quic_is_new_initial(p.s.q, buf, len));
  CHECK(!pl_quic_is_new_initial(p.c.q, buf, len)); /* a client never replaces */
  h_pair_free(&p);
  h_pair_free(&p2);
}

int main(void) {
  test_pinned_ok();
  test_impostor_server();
  test_server_refuses_client();
  test_handshake_timeout();
  test_idle_and_keepalive();
  test_new_initial();
  printf("quic_handshake_test: ok\n");
  return 0;
}
