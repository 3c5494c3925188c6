/* The client against our responder (pl_stun_respond) behind real UDP sockets on loopback:
 * two server ports see the same mapping (EIM), which is the socket's own address (OPEN once
 * the client knows it). IPv4 and, where the host has it, IPv6. */
#include <stdio.h>
#include <unistd.h>

#include "agent/stun_client.h"
#include "control/common/err.h"
#include "peerlink/v1/common.pb-c.h"
#include "tests/unit/common/check.h"
#include "tests/unit/stun/stun_net.h"
#include "tests/unit/common/test_addr.h"

static int behavior_known(pl_stun_client *c) {
  return pl_stun_client_behavior(c) != PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN;
}

static int run(const char *ip) {
  struct sockaddr_storage self, srv[2];
  int fds[2];
  int cfd = st_udp_bind(ip, &self);
  if (cfd < 0) {
    printf("%s: cannot bind, skipped\n", ip);
    return 0;
  }
  for (int i = 0; i < 2; i++)
    CHECK((fds[i] = st_udp_bind(ip, &srv[i])) >= 0);

  pl_stun_client *c;
  CHECK(pl_stun_client_new(&c, srv, 2, 0) == 0);
  st_net n = {.client_fd = cfd, .server_fds = fds, .nservers = 2};
  pl_stun_client_start(c, st_now_us());
  CHECK(st_drive(&n, c, behavior_known, 10000000));
  CHECK(pl_stun_client_behavior(c) ==
        PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT);
  struct sockaddr_storage mapped;
  CHECK(pl_stun_client_mapped(c, &mapped) == 0);
  CHECK(pl_test_addr_is(&mapped, ip, pl_test_addr_port(&self)));
  CHECK(n.accepted == 2);
  CHECK(pl_stun_client_changed(c) == 1);

  /* Told its own address, the client sees there is no NAT. */
  CHECK(pl_stun_client_set_local(c, (struct sockaddr *)&self) == 0);
  CHECK(pl_stun_client_behavior(c) == PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_OPEN);
  CHECK(pl_stun_client_changed(c) == 1);
  pl_stun_client_del(c);
  close(cfd);
  close(fds[0]);
  close(fds[1]);
  printf("%s: ok\n", ip);
  return 1;
}

int main(void) {
  CHECK(run("127.0.0.1"));
  run("::1");
  return 0;
}
