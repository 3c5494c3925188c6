/* peerlinkctl without an agent: usage errors (exit 2, naming the culprit), help (exit 0),
 * and a call to a port nobody listens on (exit 1, UNAVAILABLE). */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc.h"

#define TIMEOUT_MS 30000

static const char *ctl;
static int failures;
/* Keep the environment of whoever runs the test out of it. */
static char *const clean_env[] = {"PEERLINK_AGENT=", "PEERLINK_TOKEN=", NULL};

static void expect(int line, int ok, const char *what, const tproc *p) {
  if (ok)
    return;
  fprintf(stderr, "line %d: %s\n  exit=%d\n  stdout: %s\n  stderr: %s\n", line, what, p->status,
          p->out, p->err);
  failures++;
}
#define EXPECT(cond, p) expect(__LINE__, (cond) != 0, #cond, (p))

static void run(tproc *p, char *const *args) {
  char *argv[16] = {(char *)ctl};
  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  if (tproc_run(p, argv, clean_env, TIMEOUT_MS) < 0) {
    fprintf(stderr, "%s %s: did not finish\n", ctl, args[0] ? args[0] : "");
    failures++;
  }
}

/* A port that was free a moment ago: bound, then closed, so nothing listens there. */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
      getsockname(fd, (struct sockaddr *)&a, &len))
    return -1;
  close(fd);
  return ntohs(a.sin_port);
}

int main(int argc, char **argv) {
  tproc p;
  if (argc < 2)
    return 2;
  ctl = argv[1];

  run(&p, (char *[]){NULL});
  EXPECT(p.status == 2 && strstr(p.err, "usage: peerlinkctl"), &p);

  run(&p, (char *[]){"frobnicate", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "unknown command 'frobnicate'"), &p);
  EXPECT(p.out_len == 0, &p);

  run(&p, (char *[]){"--frobnicate", "status", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "unknown flag --frobnicate"), &p);

  run(&p, (char *[]){"status", "--jsn", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "unknown flag --jsn"), &p);

  run(&p, (char *[]){"status", "extra", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "extra"), &p);

  run(&p, (char *[]){"--timeout", "soon", "status", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "--timeout") && strstr(p.err, "soon"), &p);

  run(&p, (char *[]){"status", "--agent", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "--agent needs a value"), &p);

  run(&p, (char *[]){"--agent", "no-port", "status", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "--agent 'no-port'"), &p);

  run(&p, (char *[]){"--current", "peers", NULL});
  EXPECT(p.status == 2 && strstr(p.err, "--current"), &p);

  run(&p, (char *[]){"--help", NULL});
  EXPECT(p.status == 0 && strstr(p.out, "usage: peerlinkctl") && strstr(p.out, "watch"), &p);
  EXPECT(p.err_len == 0, &p);

  run(&p, (char *[]){"help", "watch", NULL});
  EXPECT(p.status == 0 && strstr(p.out, "--agent HOST:PORT"), &p);

  run(&p, (char *[]){"watch", "-h", NULL});
  EXPECT(p.status == 0 && strstr(p.out, "usage: peerlinkctl"), &p);

  int port = closed_port();
  if (port <= 0) {
    fprintf(stderr, "cannot find a closed port\n");
    return 1;
  }
  char agent[64];
  snprintf(agent, sizeof(agent), "127.0.0.1:%d", port);
  static const char *const cmds[] = {"status", "peers", "watch"};
  for (int i = 0; i < 3; i++) {
    char want[64];
    run(&p, (char *[]){"--agent", agent, (char *)cmds[i], NULL});
    snprintf(want, sizeof(want), "peerlinkctl: %s failed: UNAVAILABLE: ", cmds[i]);
    EXPECT(p.status == 1 && !strncmp(p.err, want, strlen(want)), &p);
    EXPECT(p.out_len == 0, &p);
  }
  /* the same through the environment, with --json */
  char env_agent[80];
  snprintf(env_agent, sizeof(env_agent), "PEERLINK_AGENT=%s", agent);
  char *argv2[] = {(char *)ctl, "--json", "status", NULL};
  char *env2[] = {env_agent, "PEERLINK_TOKEN=", NULL};
  tproc_run(&p, argv2, env2, TIMEOUT_MS);
  EXPECT(p.status == 1 && strstr(p.err, "status failed: UNAVAILABLE") && strstr(p.err, agent), &p);

  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("usage_test: ok\n");
  return 0;
}
