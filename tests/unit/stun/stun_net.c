/* Loopback driver for the STUN client tests (see stun_net.h). */
#include "tests/unit/stun/stun_net.h"

#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/wire/stun.h"
#include "tests/unit/common/check.h"
#include "tests/unit/common/test_addr.h"

uint64_t st_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int st_udp_bind(const char *ip, struct sockaddr_storage *bound) {
  struct sockaddr_storage a = pl_test_addr(ip, 0);
  int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  socklen_t len = sizeof *bound;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)bound, &len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void serve(int fd) {
  uint8_t in[1500], out[PL_STUN_BUF_LEN];
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  ssize_t r = recvfrom(fd, in, sizeof in, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
  size_t n;
  if (r >= 0 && pl_stun_respond(out, sizeof out, &n, in, (size_t)r, (struct sockaddr *)&from) == 0)
    CHECK(sendto(fd, out, n, 0, (struct sockaddr *)&from, fl) == (ssize_t)n);
}

static void client_read(st_net *n, pl_stun_client *c) {
  uint8_t in[1500];
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  ssize_t r = recvfrom(n->client_fd, in, sizeof in, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
  if (r < 0)
    return;
  if (pl_stun_client_recv(c, (struct sockaddr *)&from, in, (size_t)r, st_now_us()) == 0) {
    memcpy(n->last, in, (size_t)r);
    n->last_len = (size_t)r;
    n->accepted++;
  } else {
    n->ignored++;
  }
}

int st_drive(st_net *n, pl_stun_client *c, int (*done)(pl_stun_client *), uint64_t timeout_us) {
  uint64_t end = st_now_us() + timeout_us;
  for (;;) {
    uint64_t now = st_now_us();
    uint8_t buf[PL_STUN_BUF_LEN];
    size_t len;
    struct sockaddr_storage dst;
    int rv;
    while ((rv = pl_stun_client_poll(c, now, buf, sizeof buf, &len, &dst)) == 1) {
      socklen_t dl =
          dst.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
      /* Loopback to a port nobody listens on yet is fine: the datagram is just lost. */
      (void)sendto(n->client_fd, buf, len, 0, (struct sockaddr *)&dst, dl);
    }
    CHECK(rv == 0);
    if (done(c))
      return 1;
    if (now >= end)
      return 0;
    uint64_t wake = pl_stun_client_deadline(c);
    if (wake > end)
      wake = end;
    int ms = wake > now ? (int)((wake - now + 999) / 1000) : 0;

    struct pollfd p[9];
    size_t np = 0;
    p[np++] = (struct pollfd){.fd = n->client_fd, .events = POLLIN};
    for (size_t i = 0; i < n->nservers && np < 9; i++)
      p[np++] = (struct pollfd){.fd = n->server_fds[i], .events = POLLIN};
    CHECK(poll(p, np, ms) >= 0);
    for (size_t i = 1; i < np; i++)
      if (p[i].revents & POLLIN)
        serve(p[i].fd);
    if (p[0].revents & POLLIN)
      client_read(n, c);
  }
}
