/* peerlinkctl without an agent: usage errors (exit 2, naming the culprit), help (exit 0),
 * command-specific flags, and a call to a port nobody listens on (exit 3, UNAVAILABLE). */

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc.h"
#include "tests/unit/common/test_addr.h"

#define TIMEOUT_MS 30000

static const char *ctl;
/* Keep the environment of whoever runs the test out of it. */
static char *const clean_env[] = {"PEERLINK_AGENT=", "PEERLINK_TOKEN=", NULL};

static void run(tproc *p, char *const *args) {
  char *argv[16] = {(char *)ctl};
  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  CHECK_MSG(tproc_run(p, argv, clean_env, TIMEOUT_MS) >= 0, "%s %s: did not finish", ctl,
            args[0] ? args[0] : "");
}

/* A port that was free a moment ago: bound, then closed, so nothing listens there. */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_storage a = pl_test_addr("127.0.0.1", 0);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
      getsockname(fd, (struct sockaddr *)&a, &len))
    return -1;
  close(fd);
  return pl_test_addr_port(&a);
}

int main(int argc, char **argv) {
  tproc p;
  if (argc < 2)
    return 2;
  ctl = argv[1];

  run(&p, (char *[]){NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "usage: peerlinkctl"), &p);

  run(&p, (char *[]){"frobnicate", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "unknown command 'frobnicate'"), &p);
  CHECK_PROC(p.out_len == 0, &p);

  run(&p, (char *[]){"--frobnicate", "status", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "unknown flag --frobnicate"), &p);

  run(&p, (char *[]){"-x", "status", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "unknown flag -x"), &p);

  run(&p, (char *[]){"status", "--jsn", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "unknown flag --jsn"), &p);

  run(&p, (char *[]){"status", "extra", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "extra"), &p);

  run(&p, (char *[]){"--timeout", "soon", "status", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--timeout") && strstr(p.err, "soon"), &p);

  run(&p, (char *[]){"status", "--agent", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--agent needs a value"), &p);

  run(&p, (char *[]){"--agent", "no-port", "status", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--agent: expected HOST:PORT") &&
                 strstr(p.err, "no-port"),
             &p);

  run(&p, (char *[]){"--current", "peers", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--current"), &p);

  /* command-specific flags: named when they do not apply, and their values checked */
  run(&p, (char *[]){"status", "--delivery", "tcp", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "flag --delivery does not apply to status"), &p);
  run(&p, (char *[]){"send", "b0b0", "hi", "--transport", "udp", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "flag --transport does not apply to send"), &p);
  run(&p, (char *[]){"bench", "b0b0", "--page-size", "3", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--page-size does not apply to bench"), &p);
  run(&p, (char *[]){"send", "b0b0", "hi", "--delivery", "pigeon", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--delivery: want datagram, reliable, quic or tcp") &&
                 strstr(p.err, "pigeon"),
             &p);
  run(&p, (char *[]){"bench", "b0b0", "--transport", "sctp", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--transport: want udp, quic or tcp"), &p);
  run(&p, (char *[]){"bench", "b0b0", "--duration", "2h", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--duration"), &p);
  run(&p, (char *[]){"peers", "--page-size", "0", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--page-size"), &p);
  run(&p, (char *[]){"send-file", "b0b0", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "usage: peerlinkctl send-file PEER_ID PATH"), &p);
  run(&p, (char *[]){"health", "--overwrite", NULL});
  CHECK_PROC(p.status == 2 && strstr(p.err, "--overwrite does not apply to health"), &p);

  run(&p, (char *[]){"--help", NULL});
  CHECK_PROC(p.status == 0 && strstr(p.out, "usage: peerlinkctl") && strstr(p.out, "watch"), &p);
  CHECK_PROC(p.err_len == 0, &p);
  /* the exit codes are documented where people look */
  CHECK_PROC(strstr(p.out, "  3  unreachable") && strstr(p.out, "  4  deadline exceeded") &&
                 strstr(p.out, "  5  refused") && strstr(p.out, "  2  bad usage"),
             &p);
  static const char *const all[] = {"status", "watch", "peers",     "connect", "disconnect",
                                    "send",   "bench", "send-file", "health"};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    CHECK_PROC(strstr(p.out, all[i]), &p);

  run(&p, (char *[]){"help", "watch", NULL});
  CHECK_PROC(p.status == 0 && strstr(p.out, "--agent HOST:PORT"), &p);

  run(&p, (char *[]){"watch", "-h", NULL});
  CHECK_PROC(p.status == 0 && strstr(p.out, "usage: peerlinkctl"), &p);

  int port = closed_port();
  CHECK_MSG(port > 0, "cannot find a closed port");
  char agent[64];
  snprintf(agent, sizeof(agent), "127.0.0.1:%d", port);
  static const char *const cmds[] = {"status", "peers", "watch"};
  for (int i = 0; i < 3; i++) {
    char want[64];
    run(&p, (char *[]){"--agent", agent, (char *)cmds[i], NULL});
    snprintf(want, sizeof(want), "peerlinkctl: %s failed: UNAVAILABLE: ", cmds[i]);
    CHECK_PROC(p.status == 3 && !strncmp(p.err, want, strlen(want)), &p);
    CHECK_PROC(p.out_len == 0, &p);
  }
  /* the same through the environment, with --json */
  char env_agent[80];
  snprintf(env_agent, sizeof(env_agent), "PEERLINK_AGENT=%s", agent);
  char *argv2[] = {(char *)ctl, "--json", "status", NULL};
  char *env2[] = {env_agent, "PEERLINK_TOKEN=", NULL};
  tproc_run(&p, argv2, env2, TIMEOUT_MS);
  CHECK_PROC(p.status == 3 && strstr(p.err, "status failed: UNAVAILABLE") && strstr(p.err, agent),
             &p);
  /* a bad address in the environment names its variable */
  char *env3[] = {"PEERLINK_AGENT=nowhere", "PEERLINK_TOKEN=", NULL};
  tproc_run(&p, argv2, env3, TIMEOUT_MS);
  CHECK_PROC(p.status == 2 && strstr(p.err, "nowhere") && strstr(p.err, "$PEERLINK_AGENT"), &p);

  /* flags after the command, a duration, and "--" before text that starts with '-' */
  run(&p, (char *[]){"send", "b0b0", "--timeout", "2s", "--agent", agent, "--", "-hi", NULL});
  CHECK_PROC(p.status == 3 && strstr(p.err, "send failed: UNAVAILABLE"), &p);

  /* every command that talks to the agent says "unreachable" the same way */
  static const char *const more[][4] = {{"bench", "b0b0", NULL},
                                        {"send-file", "b0b0", "/etc/hostname", NULL},
                                        {"health", NULL},
                                        {"connect", "b0b0", NULL},
                                        {"disconnect", "b0b0", NULL}};
  for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
    char want[64];
    run(&p, (char *[]){"--agent", agent, (char *)more[i][0], (char *)more[i][1], (char *)more[i][2],
                       NULL});
    snprintf(want, sizeof(want), "peerlinkctl: %s failed: UNAVAILABLE", more[i][0]);
    CHECK_PROC(p.status == 3 && !strncmp(p.err, want, strlen(want)), &p);
  }

  printf("usage_test: ok\n");
  return 0;
}
