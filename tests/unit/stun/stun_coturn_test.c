/* Interop with an independent STUN server: Debian's coturn (`turnserver`), started here on
 * loopback with a free port. Our Binding request must be accepted, its answer must parse with
 * a verified FINGERPRINT and report this socket's own address, and coturn and our responder
 * must agree (EIM) when the client asks both. IPv4, and IPv6 where the host has ::1. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/stun_client.h"
#include "agent/wire/stun.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "peerlink/v1/common.pb-c.h"
#include "tests/unit/common/check.h"
#include "tests/unit/stun/stun_net.h"
#include "tests/unit/common/test_addr.h"

#define TURNSERVER "/usr/bin/turnserver"

static pid_t turn_pid;
static char turn_log[512];

static void dump_log(void) {
  FILE *f = fopen(turn_log, "r");
  char line[512];
  fprintf(stderr, "--- %s ---\n", turn_log);
  while (f && fgets(line, sizeof line, f))
    fputs(line, stderr);
  if (f)
    fclose(f);
}

/* A port free for UDP on 127.0.0.1 (and ::1 when `v6`). Another process could take it before
 * coturn binds; the test then fails with coturn's log saying so. */
static uint16_t free_port(int v6) {
  for (int tries = 0; tries < 20; tries++) {
    struct sockaddr_storage a;
    int fd = st_udp_bind("127.0.0.1", &a);
    CHECK(fd >= 0);
    uint16_t port = pl_test_addr_port(&a);
    close(fd);
    if (!v6)
      return port;
    struct sockaddr_storage b = pl_test_addr("::1", port);
    int fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
    int ok = fd6 >= 0 && bind(fd6, (struct sockaddr *)&b, sizeof b) == 0;
    if (fd6 >= 0)
      close(fd6);
    if (ok)
      return port;
  }
  CHECK(!"no free port");
  return 0;
}

static void start_turnserver(uint16_t port, int v6) {
  const char *tmp = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  char portstr[8], db[512], pidfile[512];
  snprintf(portstr, sizeof portstr, "%u", port);
  snprintf(db, sizeof db, "%s/turndb-%u", tmp, port);
  snprintf(pidfile, sizeof pidfile, "%s/turnserver-%u.pid", tmp, port);
  snprintf(turn_log, sizeof turn_log, "%s/turnserver-%u.log", tmp, port);
  /* 4.6.1: -n reads no config file; --userdb keeps it off the system database. */
  const char *argv[] = {TURNSERVER,
                        "-n",
                        "--listening-ip",
                        "127.0.0.1",
                        "--listening-port",
                        portstr,
                        "--stun-only",
                        "--no-tls",
                        "--no-dtls",
                        "--no-tcp",
                        "--no-cli",
                        "--no-auth",
                        "--no-rfc5780",
                        "--log-file",
                        "stdout",
                        "--simple-log",
                        "--pidfile",
                        pidfile,
                        "--userdb",
                        db,
                        v6 ? "--listening-ip" : NULL,
                        "::1",
                        NULL};
  CHECK(access(TURNSERVER, X_OK) == 0); /* coturn is a test dependency (bazel/packages.txt) */
  fflush(NULL);
  turn_pid = fork();
  CHECK(turn_pid >= 0);
  if (turn_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
    int fd = open(turn_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(TURNSERVER, (char *const *)argv);
    _exit(127);
  }
}

static int turnserver_alive(void) {
  int status;
  return waitpid(turn_pid, &status, WNOHANG) == 0;
}

static void stop_turnserver(void) {
  int pidfd = (int)syscall(SYS_pidfd_open, turn_pid, 0);
  kill(turn_pid, SIGTERM);
  if (pidfd >= 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    if (poll(&p, 1, 5000) == 0)
      kill(turn_pid, SIGKILL);
    close(pidfd);
  } else {
    kill(turn_pid, SIGKILL);
  }
  waitpid(turn_pid, NULL, 0);
}

static int mapped_known(pl_stun_client *c) {
  CHECK(turnserver_alive() || (dump_log(), 0));
  return pl_stun_client_mapped(c, NULL) == 0;
}

static int behavior_known(pl_stun_client *c) {
  CHECK(turnserver_alive() || (dump_log(), 0));
  return pl_stun_client_behavior(c) != PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN;
}

static void print_hex(const char *what, const uint8_t *b, size_t n) {
  char hex[2 * sizeof(((st_net *)0)->last) + 1];
  pl_hex_encode(hex, b, n);
  printf("%s: %s\n", what, hex);
}

static void check_family(const char *ip, uint16_t port) {
  struct sockaddr_storage self, server = pl_test_addr(ip, port);
  int cfd = st_udp_bind(ip, &self);
  CHECK(cfd >= 0);

  /* Alone: coturn answers our request, with a FINGERPRINT we verify and our own address. */
  pl_stun_client *c;
  CHECK(pl_stun_client_new(&c, &server, 1, 0) == 0);
  st_net n = {.client_fd = cfd};
  pl_stun_client_start(c, st_now_us());
  if (!st_drive(&n, c, mapped_known, 20000000)) {
    dump_log();
    CHECK(!"coturn did not answer within 20 s");
  }
  pl_stun_msg m;
  CHECK(pl_stun_parse(&m, n.last, n.last_len) == 0);
  CHECK(m.type == PL_STUN_BINDING_SUCCESS && m.has_fingerprint && m.has_mapped);
  CHECK(pl_test_addr_is(&m.mapped, ip, pl_test_addr_port(&self)));
  struct sockaddr_storage mapped;
  CHECK(pl_stun_client_mapped(c, &mapped) == 0 &&
        pl_test_addr_is(&mapped, ip, pl_test_addr_port(&self)));
  print_hex("coturn answer", n.last, n.last_len); /* seeds tests/fuzz/corpus/stun */
  pl_stun_client_del(c);

  /* With our responder as the second server: both report the same mapping. */
  struct sockaddr_storage servers[2] = {server};
  int ours = st_udp_bind(ip, &servers[1]);
  CHECK(ours >= 0);
  CHECK(pl_stun_client_new(&c, servers, 2, 0) == 0);
  st_net n2 = {.client_fd = cfd, .server_fds = &ours, .nservers = 1};
  pl_stun_client_start(c, st_now_us());
  CHECK(st_drive(&n2, c, behavior_known, 20000000));
  CHECK(pl_stun_client_behavior(c) ==
        PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT);
  CHECK(n2.accepted == 2);
  pl_stun_client_del(c);
  close(ours);
  close(cfd);
  printf("coturn %s: ok\n", ip);
}

int main(void) {
  struct sockaddr_storage probe;
  int fd6 = st_udp_bind("::1", &probe);
  int v6 = fd6 >= 0;
  if (v6)
    close(fd6);
  uint16_t port = free_port(v6);
  start_turnserver(port, v6);
  check_family("127.0.0.1", port);
  if (v6)
    check_family("::1", port);
  stop_turnserver();
  return 0;
}
