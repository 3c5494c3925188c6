#ifndef PEERLINK_TESTS_TEST_ADDR_H
#define PEERLINK_TESTS_TEST_ADDR_H

/* Socket addresses in tests, through control/common/addr (the product's own parser and
 * comparison), so every test builds and compares them one way. */

#include <stdint.h>
#include <sys/socket.h>

#include "control/common/addr.h"
#include "tests/unit/common/check.h"

/* ip:port, IPv4 or IPv6 by the text; a literal that does not parse stops the test. */
static inline struct sockaddr_storage pl_test_addr(const char *ip, uint16_t port) {
  struct sockaddr_storage ss;
  CHECK_MSG(pl_addr_parse(&ss, ip, port) == 0, "not a numeric address: %s", ip);
  return ss;
}

/* 1 when ss is ip:port (same family, address and port), else 0. */
static inline int pl_test_addr_is(const struct sockaddr_storage *ss, const char *ip,
                                  uint16_t port) {
  struct sockaddr_storage want = pl_test_addr(ip, port);
  return pl_addr_equal((const struct sockaddr *)ss, (const struct sockaddr *)&want);
}

/* 1 when a and b are the same address and port, else 0. */
static inline int pl_test_addr_same(const struct sockaddr_storage *a,
                                    const struct sockaddr_storage *b) {
  return pl_addr_equal((const struct sockaddr *)a, (const struct sockaddr *)b);
}

/* The port of ss, or -1 when it is neither IPv4 nor IPv6. */
static inline int pl_test_addr_port(const struct sockaddr_storage *ss) {
  char ip[64];
  return pl_addr_ip_port((const struct sockaddr *)ss, ip);
}

#endif
