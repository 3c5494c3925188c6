/* STUN from the network: the parser, the responder (the rendezvous answers anyone), and the
 * client's receive path. The input is also fed to a client as the answer to its own request
 * (the txid spliced in), so the fuzzer reaches the code behind the txid check. Invariants
 * that must hold for any input abort() when broken. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/stun_client.h"
#include "agent/wire/stun.h"
#include "control/common/err.h"
#include "peerlink/v1/common.pb-c.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      abort();                                                                                     \
  } while (0)

static struct sockaddr_storage addr4(uint32_t ip, uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(ip);
  sin->sin_port = htons(port);
  return ss;
}

static void parse_and_respond(const uint8_t *data, size_t size) {
  pl_stun_msg m;
  if (pl_stun_parse(&m, data, size) == 0) {
    REQUIRE(pl_stun_is_stun(data, size));
    REQUIRE(!m.has_mapped || m.mapped.ss_family == AF_INET || m.mapped.ss_family == AF_INET6);
    REQUIRE(m.error_code == 0 || (m.error_code >= 300 && m.error_code <= 699));
  }

  struct sockaddr_storage from = addr4(0x7f000001, 40000);
  uint8_t out[PL_STUN_BUF_LEN];
  size_t n;
  if (pl_stun_respond(out, sizeof out, &n, data, size, (struct sockaddr *)&from) == 0) {
    pl_stun_msg r;
    REQUIRE(pl_stun_parse(&r, out, n) == 0 && r.has_fingerprint);
    REQUIRE(!memcmp(r.txid.b, data + 8, 12));
    REQUIRE((r.type == PL_STUN_BINDING_SUCCESS && r.has_mapped) ||
            (r.type == PL_STUN_BINDING_ERROR && r.error_code == 420));
  }
}

static void client_recv(const uint8_t *data, size_t size) {
  struct sockaddr_storage servers[2] = {addr4(0x7f000002, 3478), addr4(0x7f000003, 3478)};
  pl_stun_client *c;
  if (pl_stun_client_new(&c, servers, 2, 1000000) != 0)
    return;
  pl_stun_client_start(c, 0);
  uint8_t req[2][PL_STUN_BUF_LEN];
  size_t len;
  struct sockaddr_storage dst;
  for (int i = 0; i < 2; i++)
    REQUIRE(pl_stun_client_poll(c, 0, req[i], sizeof req[i], &len, &dst) == 1);

  /* As is (a stranger's txid), then as the answer to request 0 or 1. */
  uint8_t *copy = malloc(size ? size : 1);
  if (copy) {
    if (size)
      memcpy(copy, data, size);
    int rv = pl_stun_client_recv(c, (struct sockaddr *)&servers[0], copy, size, 1);
    REQUIRE(rv == PL_ERR_NOT_FOUND || rv == PL_ERR_PARSE);
    if (size >= PL_STUN_HEADER_LEN) {
      int which = data[size - 1] & 1;
      memcpy(copy + 8, req[which] + 8, 12);
      rv = pl_stun_client_recv(c, (struct sockaddr *)&servers[which], copy, size, 2);
      REQUIRE(rv == 0 || rv == PL_ERR_NOT_FOUND || rv == PL_ERR_PARSE);
    }
    free(copy);
  }
  int b = pl_stun_client_behavior(c);
  REQUIRE(b >= PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN &&
          b <= PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UDP_BLOCKED);
  /* Run the rest of the round out: timers must stay sane. */
  uint64_t now = 2, steps = 0;
  while (pl_stun_client_deadline(c) < 2000000) {
    now = pl_stun_client_deadline(c);
    while (pl_stun_client_poll(c, now, req[0], sizeof req[0], &len, &dst) == 1)
      ;
    REQUIRE(++steps < 100);
  }
  pl_stun_client_del(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  parse_and_respond(data, size);
  client_recv(data, size);
  return 0;
}
