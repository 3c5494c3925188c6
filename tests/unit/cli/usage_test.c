/* peerlinkctl without an agent: usage errors (exit 2, naming the culprit), help (exit 0),
 * and a call to a port nobody listens on (exit 1, UNAVAILABLE). */

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

  run(&p, (char *[]){"--help", NULL});
  CHECK_PROC(p.status == 0 && strstr(p.out, "usage: peerlinkctl") && strstr(p.out, "watch"), &p);
  CHECK_PROC(p.err_len == 0, &p);

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
    CHECK_PROC(p.status == 1 && !strncmp(p.err, want, strlen(want)), &p);
    CHECK_PROC(p.out_len == 0, &p);
  }
  /* the same through the environment, with --json */
  char env_agent[80];
  snprintf(env_agent, sizeof(env_agent), "PEERLINK_AGENT=%s", agent);
  char *argv2[] = {(char *)ctl, "--json", "status", NULL};
  char *env2[] = {env_agent, "PEERLINK_TOKEN=", NULL};
  tproc_run(&p, argv2, env2, TIMEOUT_MS);
  CHECK_PROC(p.status == 1 && strstr(p.err, "status failed: UNAVAILABLE") && strstr(p.err, agent),
             &p);
  /* a bad address in the environment names its variable */
  char *env3[] = {"PEERLINK_AGENT=nowhere", "PEERLINK_TOKEN=", NULL};
  tproc_run(&p, argv2, env3, TIMEOUT_MS);
  CHECK_PROC(p.status == 2 && strstr(p.err, "nowhere") && strstr(p.err, "$PEERLINK_AGENT"), &p);

  /* flags after the command, a duration, and "--" before text that starts with '-' */
  run(&p, (char *[]){"send", "b0b0", "--timeout", "2s", "--agent", agent, "--", "-hi", NULL});
  CHECK_PROC(p.status == 1 && strstr(p.err, "send failed: UNAVAILABLE"), &p);

  printf("usage_test: ok\n");
  return 0;
}
