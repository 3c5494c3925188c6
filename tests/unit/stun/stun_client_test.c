/* The I/O-free STUN client with synthetic time and no sockets: the retransmission schedule,
 * answers, timeouts, NAT behaviour verdicts, re-checks, and responses it must ignore.
 * Addresses are only data here (nothing is sent): loopback-range values stand in for servers
 * and NAT mappings. */
#include <stdio.h>

#include "agent/stun_client.h"
#include "agent/wire/stun.h"
#include "control/common/err.h"
#include "peerlink/v1/common.pb-c.h"
#include "tests/unit/common/check.h"
#include "tests/unit/common/test_addr.h"

#define MS 1000ull
#define S 1000000ull
#define UNKNOWN PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN
#define OPEN PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_OPEN
#define EIM PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT
#define EDM PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_DEPENDENT
#define BLOCKED PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UDP_BLOCKED

/* One datagram the client sent. */
typedef struct sent {
  uint8_t b[PL_STUN_BUF_LEN];
  size_t len;
  struct sockaddr_storage dst;
  pl_stun_txid txid;
} sent;

static pl_stun_client *client(const char *const *servers, size_t n, uint64_t recheck) {
  struct sockaddr_storage ss[8];
  for (size_t i = 0; i < n; i++)
    ss[i] = pl_test_addr(servers[i], 3478);
  pl_stun_client *c = NULL;
  CHECK(pl_stun_client_new(&c, ss, n, recheck) == 0 && c);
  return c;
}

/* Polls at `now`; returns how many datagrams came out (up to `cap` kept in `out`). */
static size_t poll_all(pl_stun_client *c, uint64_t now, sent *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    sent s;
    int rv = pl_stun_client_poll(c, now, s.b, sizeof s.b, &s.len, &s.dst);
    CHECK(rv == 0 || rv == 1);
    if (rv == 0)
      return n;
    pl_stun_msg m;
    CHECK(pl_stun_parse(&m, s.b, s.len) == 0 && m.type == PL_STUN_BINDING_REQUEST);
    CHECK(m.has_fingerprint);
    s.txid = m.txid;
    if (n < cap)
      out[n] = s;
    n++;
    CHECK(n < 100);
  }
}

/* The server at `srv` answers `req` with `mapped`. Returns what recv returned. */
static int answer(pl_stun_client *c, const sent *req, const char *srv, const char *mapped_ip,
                  uint16_t mapped_port, uint64_t now) {
  uint8_t b[PL_STUN_BUF_LEN];
  size_t n;
  struct sockaddr_storage mapped = pl_test_addr(mapped_ip, mapped_port),
                          from = pl_test_addr(srv, 3478);
  CHECK(pl_stun_encode_success(b, sizeof b, &n, &req->txid, (struct sockaddr *)&mapped) == 0);
  return pl_stun_client_recv(c, (struct sockaddr *)&from, b, n, now);
}

static int mapped_is(pl_stun_client *c, const char *ip, uint16_t port) {
  struct sockaddr_storage m;
  return pl_stun_client_mapped(c, &m) == 0 && pl_test_addr_is(&m, ip, port);
}

static void test_schedule_and_blocked(void) {
  const char *srv[] = {"127.0.0.2"};
  pl_stun_client *c = client(srv, 1, 0);
  sent s[4];
  CHECK(pl_stun_client_deadline(c) == UINT64_MAX);
  CHECK(poll_all(c, 0, s, 4) == 0); /* not started */

  uint64_t t0 = 5 * S;
  pl_stun_client_start(c, t0);
  CHECK(pl_stun_client_deadline(c) == t0);
  /* RFC 8489 6.2.1 with RTO 500 ms, Rc 7: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s,
   * failure at 39.5 s. Every send repeats the same transaction ID. */
  const uint64_t at[] = {0, 500 * MS, 1500 * MS, 3500 * MS, 7500 * MS, 15500 * MS, 31500 * MS};
  pl_stun_txid first;
  for (size_t i = 0; i < 7; i++) {
    CHECK(pl_stun_client_deadline(c) == t0 + at[i]);
    CHECK(poll_all(c, t0 + at[i] - 1, s, 4) == 0);
    CHECK(poll_all(c, t0 + at[i], s, 4) == 1);
    CHECK(pl_test_addr_is(&s[0].dst, "127.0.0.2", 3478));
    if (i == 0)
      first = s[0].txid;
    CHECK(!memcmp(first.b, s[0].txid.b, 12));
  }
  CHECK(pl_stun_client_deadline(c) == t0 + 39500 * MS);
  CHECK(poll_all(c, t0 + 39500 * MS - 1, s, 4) == 0);
  CHECK(pl_stun_client_behavior(c) == UNKNOWN && !pl_stun_client_changed(c));
  CHECK(poll_all(c, t0 + 39500 * MS, s, 4) == 0);
  CHECK(pl_stun_client_behavior(c) == BLOCKED);
  CHECK(pl_stun_client_changed(c) == 1 && pl_stun_client_changed(c) == 0);
  CHECK(pl_stun_client_mapped(c, NULL) == PL_ERR_NOT_FOUND);
  CHECK(pl_stun_client_deadline(c) == UINT64_MAX); /* no re-check */
  /* Too late now. */
  CHECK(answer(c, &s[0], "127.0.0.2", "127.0.0.9", 1000, t0 + 40 * S) == PL_ERR_NOT_FOUND);
  pl_stun_client_del(c);
}

static void test_timing_config(void) {
  const char *srv[] = {"127.0.0.2", "127.0.0.3"};
  pl_stun_client *c = client(srv, 2, 0);
  CHECK(pl_stun_client_set_timing(c, 0, 3, 4) == PL_ERR_INVALID);
  CHECK(pl_stun_client_set_timing(c, 10 * MS, 0, 4) == PL_ERR_INVALID);
  CHECK(pl_stun_client_set_timing(c, 10 * MS, 3, 0) == PL_ERR_INVALID);
  CHECK(pl_stun_client_set_timing(c, 10 * MS, 3, 4) == 0);
  sent s[4];
  pl_stun_client_start(c, 0);
  CHECK(pl_stun_client_set_timing(c, 10 * MS, 3, 4) == PL_ERR_STATE);
  CHECK(poll_all(c, 0, s, 4) == 2); /* one per server */
  CHECK(pl_test_addr_is(&s[0].dst, "127.0.0.2", 3478) &&
        pl_test_addr_is(&s[1].dst, "127.0.0.3", 3478));
  CHECK(memcmp(s[0].txid.b, s[1].txid.b, 12) != 0);
  CHECK(pl_stun_client_deadline(c) == 10 * MS);
  CHECK(poll_all(c, 10 * MS, s, 4) == 2);
  CHECK(pl_stun_client_deadline(c) == 30 * MS);
  CHECK(poll_all(c, 30 * MS, s, 4) == 2);
  CHECK(pl_stun_client_deadline(c) == 70 * MS); /* last wait: Rm x RTO */
  CHECK(poll_all(c, 70 * MS, s, 4) == 0);
  CHECK(pl_stun_client_behavior(c) == BLOCKED);
  pl_stun_client_del(c);
}

static void test_endpoint_independent(void) {
  const char *srv[] = {"127.0.0.2", "127.0.0.3"};
  pl_stun_client *c = client(srv, 2, 0);
  sent s[4];
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 2);
  CHECK(answer(c, &s[1], "127.0.0.3", "127.0.0.77", 40000, 10 * MS) == 0);
  /* Known from the first answer; the behaviour needs a second one. */
  CHECK(mapped_is(c, "127.0.0.77", 40000) && pl_stun_client_behavior(c) == UNKNOWN);
  CHECK(pl_stun_client_changed(c) == 1 && pl_stun_client_changed(c) == 0);
  CHECK(pl_stun_client_deadline(c) == 500 * MS); /* server 0 still waits */
  CHECK(answer(c, &s[0], "127.0.0.2", "127.0.0.77", 40000, 20 * MS) == 0);
  CHECK(pl_stun_client_behavior(c) == EIM && pl_stun_client_changed(c) == 1);
  CHECK(pl_stun_client_deadline(c) == UINT64_MAX);
  /* Retransmitted answers to a finished transaction are not ours any more. */
  CHECK(answer(c, &s[0], "127.0.0.2", "127.0.0.77", 40000, 30 * MS) == PL_ERR_NOT_FOUND);
  CHECK(!pl_stun_client_changed(c));
  pl_stun_client_del(c);
}

static void test_endpoint_dependent(void) {
  const char *srv[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};
  pl_stun_client *c = client(srv, 3, 0);
  sent s[4];
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 3);
  CHECK(answer(c, &s[0], "127.0.0.2", "127.0.0.77", 40000, 1 * MS) == 0);
  CHECK(answer(c, &s[1], "127.0.0.3", "127.0.0.77", 40001, 2 * MS) == 0);
  CHECK(pl_stun_client_behavior(c) == EDM);
  /* The mapped address stays with the first server's answer. */
  CHECK(mapped_is(c, "127.0.0.77", 40000));
  CHECK(pl_stun_client_changed(c) == 1);
  CHECK(answer(c, &s[2], "127.0.0.4", "127.0.0.77", 40002, 3 * MS) == 0);
  CHECK(pl_stun_client_behavior(c) == EDM && mapped_is(c, "127.0.0.77", 40000));
  CHECK(!pl_stun_client_changed(c));
  pl_stun_client_del(c);
}

static void test_open(void) {
  const char *srv[] = {"127.0.0.2", "127.0.0.3"};
  pl_stun_client *c = client(srv, 2, 0);
  struct sockaddr_storage local = pl_test_addr("127.0.0.1", 5000);
  struct sockaddr_storage other = pl_test_addr("127.0.0.8", 5000);
  CHECK(pl_stun_client_set_local(c, (struct sockaddr *)&other) == 0);
  CHECK(pl_stun_client_add_local(c, (struct sockaddr *)&local) == 0);
  sent s[4];
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 2);
  CHECK(answer(c, &s[0], "127.0.0.2", "127.0.0.1", 5000, 1 * MS) == 0);
  CHECK(pl_stun_client_behavior(c) == OPEN); /* no translation at all: one answer is enough */
  CHECK(answer(c, &s[1], "127.0.0.3", "127.0.0.1", 5000, 2 * MS) == 0);
  CHECK(pl_stun_client_behavior(c) == OPEN);
  /* Without the local address the same answers only say EIM. */
  CHECK(pl_stun_client_set_local(c, NULL) == 0);
  CHECK(pl_stun_client_behavior(c) == EIM);
  struct sockaddr un = {.sa_family = AF_UNIX};
  CHECK(pl_stun_client_add_local(c, &un) == PL_ERR_INVALID);
  pl_stun_client_del(c);
}

static void test_partial_and_refused(void) {
  const char *srv[] = {"127.0.0.2", "127.0.0.3"};
  pl_stun_client *c = client(srv, 2, 0);
  CHECK(pl_stun_client_set_timing(c, 10 * MS, 2, 2) == 0); /* sends at 0, 10; gives up at 30 */
  sent s[4];
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 2);
  CHECK(answer(c, &s[1], "127.0.0.3", "127.0.0.77", 40000, 1 * MS) == 0);
  CHECK(poll_all(c, 10 * MS, s, 4) == 1 && pl_test_addr_is(&s[0].dst, "127.0.0.2", 3478));
  CHECK(poll_all(c, 30 * MS, s, 4) == 0);
  /* One answer, one timeout: mapped known, behaviour not. */
  CHECK(mapped_is(c, "127.0.0.77", 40000) && pl_stun_client_behavior(c) == UNKNOWN);
  pl_stun_client_del(c);

  /* Error responses: the server is reachable, so not UDP_BLOCKED, but no mapping. */
  c = client(srv, 2, 0);
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 2);
  for (int i = 0; i < 2; i++) {
    uint8_t b[PL_STUN_BUF_LEN];
    size_t n;
    struct sockaddr_storage from = pl_test_addr(srv[i], 3478);
    CHECK(pl_stun_encode_error(b, sizeof b, &n, &s[i].txid, 400, NULL) == 0);
    CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, b, n, 1 * MS) == 0);
  }
  CHECK(pl_stun_client_behavior(c) == UNKNOWN && pl_stun_client_mapped(c, NULL) != 0);
  CHECK(pl_stun_client_deadline(c) == UINT64_MAX);
  pl_stun_client_del(c);
}

static void test_recheck_mapping_change(void) {
  const char *srv[] = {"127.0.0.2", "127.0.0.3"};
  pl_stun_client *c = client(srv, 2, 60 * S);
  sent s[4], r2[4];
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 2);
  CHECK(answer(c, &s[0], "127.0.0.2", "127.0.0.77", 40000, 1 * MS) == 0);
  CHECK(answer(c, &s[1], "127.0.0.3", "127.0.0.77", 40000, 1 * MS) == 0);
  CHECK(pl_stun_client_behavior(c) == EIM && pl_stun_client_changed(c) == 1);
  CHECK(pl_stun_client_deadline(c) == 60 * S);
  CHECK(poll_all(c, 60 * S - 1, r2, 4) == 0);

  /* Round 2: fresh transaction IDs; the NAT has rebound to a new port. */
  CHECK(poll_all(c, 60 * S, r2, 4) == 2);
  CHECK(memcmp(r2[0].txid.b, s[0].txid.b, 12) != 0 && memcmp(r2[1].txid.b, s[1].txid.b, 12) != 0);
  /* A late answer to round 1 is not ours. */
  CHECK(answer(c, &s[0], "127.0.0.2", "127.0.0.77", 40000, 60 * S + 1) == PL_ERR_NOT_FOUND);
  CHECK(mapped_is(c, "127.0.0.77", 40000) && !pl_stun_client_changed(c));
  /* The second server answers first: the address stays with server 0 until it answers. */
  CHECK(answer(c, &r2[1], "127.0.0.3", "127.0.0.77", 41000, 60 * S + 2) == 0);
  CHECK(mapped_is(c, "127.0.0.77", 40000) && pl_stun_client_behavior(c) == EIM);
  CHECK(!pl_stun_client_changed(c));
  CHECK(answer(c, &r2[0], "127.0.0.2", "127.0.0.77", 41000, 60 * S + 3) == 0);
  CHECK(mapped_is(c, "127.0.0.77", 41000) && pl_stun_client_behavior(c) == EIM);
  CHECK(pl_stun_client_changed(c) == 1 && pl_stun_client_changed(c) == 0);
  CHECK(pl_stun_client_deadline(c) == 120 * S);

  /* Round 3: everything times out — mapping gone, UDP blocked. */
  CHECK(poll_all(c, 120 * S, r2, 4) == 2);
  uint64_t t = 120 * S;
  while (pl_stun_client_deadline(c) < 160 * S) {
    t = pl_stun_client_deadline(c);
    poll_all(c, t, r2, 4);
  }
  CHECK(t == 120 * S + 39500 * MS);
  CHECK(pl_stun_client_behavior(c) == BLOCKED && pl_stun_client_mapped(c, NULL) != 0);
  CHECK(pl_stun_client_changed(c) == 1);
  /* The next round starts at 180 s: the interval counts from the start of the last round. */
  CHECK(pl_stun_client_deadline(c) == 180 * S);
  pl_stun_client_del(c);
}

static void test_ignored(void) {
  const char *srv[] = {"127.0.0.2", "127.0.0.3"};
  pl_stun_client *c = client(srv, 2, 0);
  sent s[4];
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 2);

  /* Spoofed: the right txid from a different address (or port) than it was sent to. */
  CHECK(answer(c, &s[0], "127.0.0.3", "127.0.0.66", 1, 1) == PL_ERR_NOT_FOUND);
  CHECK(answer(c, &s[0], "127.0.0.66", "127.0.0.66", 1, 1) == PL_ERR_NOT_FOUND);
  {
    uint8_t b[PL_STUN_BUF_LEN];
    size_t n;
    struct sockaddr_storage m = pl_test_addr("127.0.0.66", 1),
                            from = pl_test_addr("127.0.0.2", 3479);
    CHECK(pl_stun_encode_success(b, sizeof b, &n, &s[0].txid, (struct sockaddr *)&m) == 0);
    CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, b, n, 1) == PL_ERR_NOT_FOUND);
  }
  /* Unknown txid. */
  sent fake = s[0];
  fake.txid.b[0] ^= 1;
  CHECK(answer(c, &fake, "127.0.0.2", "127.0.0.66", 1, 1) == PL_ERR_NOT_FOUND);
  /* Garbage, truncation, a request. */
  struct sockaddr_storage from = pl_test_addr("127.0.0.2", 3478);
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, (const uint8_t *)"garbage!", 8, 1) ==
        PL_ERR_PARSE);
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, NULL, 0, 1) == PL_ERR_PARSE);
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, s[0].b, s[0].len - 4, 1) == PL_ERR_PARSE);
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, s[0].b, s[0].len, 1) == PL_ERR_NOT_FOUND);
  /* Our txid and server, but a success without an address or with an unknown required
   * attribute: discarded, and the transaction goes on. */
  uint8_t b[64] = {0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42};
  memcpy(b + 8, s[0].txid.b, 12);
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, b, 20, 1) == PL_ERR_PARSE);
  const uint8_t xma[] = {0,    0x20, 0, 8,    0, 1, 0x21, 0x13, 0x5e, 0x12,
                         0xa4, 0x43, 0, 0x24, 0, 4, 1,    2,    3,    4};
  memcpy(b + 20, xma, sizeof xma);
  b[3] = sizeof xma;
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, b, 20 + sizeof xma, 1) == PL_ERR_PARSE);
  b[3] = 12; /* without PRIORITY: accepted, 127.0.0.1:1 */
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, b, 32, 1) == 0);
  CHECK(mapped_is(c, "127.0.0.1", 1));
  CHECK(pl_stun_client_recv(c, NULL, b, 32, 1) == PL_ERR_INVALID);

  /* Nothing above touched server 1's transaction or the results beyond that one answer. */
  CHECK(pl_stun_client_behavior(c) == UNKNOWN && pl_stun_client_deadline(c) == 500 * MS);
  pl_stun_client_del(c);
}

static void test_dual_stack_and_args(void) {
  /* A dual-stack socket reports IPv4 servers as ::ffff:a.b.c.d. */
  const char *srv[] = {"127.0.0.2", "127.0.0.2"}; /* the duplicate is ignored */
  pl_stun_client *c = client(srv, 2, 0);
  sent s[4];
  pl_stun_client_start(c, 0);
  CHECK(poll_all(c, 0, s, 4) == 1);
  uint8_t b[PL_STUN_BUF_LEN];
  size_t n;
  struct sockaddr_storage m = pl_test_addr("127.0.0.77", 9),
                          from = pl_test_addr("::ffff:127.0.0.2", 3478);
  CHECK(pl_stun_encode_success(b, sizeof b, &n, &s[0].txid, (struct sockaddr *)&m) == 0);
  CHECK(pl_stun_client_recv(c, (struct sockaddr *)&from, b, n, 1) == 0);
  CHECK(mapped_is(c, "127.0.0.77", 9));
  /* A small buffer loses nothing: the send stays due. */
  pl_stun_client_start(c, 10); /* a new round now */
  struct sockaddr_storage dst;
  CHECK(pl_stun_client_poll(c, 10, b, 39, &n, &dst) == PL_ERR_TOO_BIG);
  CHECK(pl_stun_client_poll(c, 10, b, sizeof b, &n, &dst) == 1);
  CHECK(pl_stun_client_poll(c, 10, b, sizeof b, &n, &dst) == 0);
  pl_stun_client_del(c);

  pl_stun_client *x = NULL;
  struct sockaddr_storage many[9];
  for (int i = 0; i < 9; i++)
    many[i] = pl_test_addr("127.0.0.2", (uint16_t)(3478 + i));
  CHECK(pl_stun_client_new(&x, many, 0, 0) == PL_ERR_INVALID);
  CHECK(pl_stun_client_new(&x, many, 9, 0) == PL_ERR_INVALID);
  many[0].ss_family = AF_UNIX;
  CHECK(pl_stun_client_new(&x, many, 1, 0) == PL_ERR_INVALID);
  CHECK(x == NULL);
}

int main(void) {
  test_schedule_and_blocked();
  test_timing_config();
  test_endpoint_independent();
  test_endpoint_dependent();
  test_open();
  test_partial_and_refused();
  test_recheck_mapping_change();
  test_ignored();
  test_dual_stack_and_args();
  printf("stun_client_test: ok\n");
  return 0;
}
