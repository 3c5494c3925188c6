#include "tests/unit/redis/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "tests/unit/common/check.h"

#define REDIS_SERVER "/usr/bin/redis-server"
#define REDIS_CLI "/usr/bin/redis-cli"

static pid_t server_pid = -1;
static char server_log[512];

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void dump_log(void) {
  FILE *f = fopen(server_log, "r");
  char line[512];
  fprintf(stderr, "--- %s ---\n", server_log);
  while (f && fgets(line, sizeof line, f))
    fputs(line, stderr);
  if (f)
    fclose(f);
}

int rt_free_port(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* 1 when `redis-cli -p port ping` prints PONG. */
static int cli_ping(int port) {
  char cmd[128], out[64] = "";
  snprintf(cmd, sizeof cmd, REDIS_CLI " -h 127.0.0.1 -p %d ping 2>/dev/null", port);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  if (fgets(out, sizeof out, p) == NULL)
    out[0] = '\0';
  pclose(p);
  return strncmp(out, "PONG", 4) == 0;
}

void rt_redis_start(int port) {
  const char *tmp = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  snprintf(server_log, sizeof server_log, "%s/redis-%d.log", tmp, port);
  const char *argv[] = {REDIS_SERVER,   "--port", portstr, "--bind", "127.0.0.1",   "--save", "",
                        "--appendonly", "no",     "--dir", tmp,      "--daemonize", "no",     NULL};
  CHECK(access(REDIS_SERVER, X_OK) == 0); /* a test dependency (bazel/packages.txt) */
  CHECK(access(REDIS_CLI, X_OK) == 0);
  fflush(NULL);
  server_pid = fork();
  CHECK(server_pid >= 0);
  if (server_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
    int fd = open(server_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(REDIS_SERVER, (char *const *)argv);
    _exit(127);
  }
  /* Wait for PING, waking early when the server exits. */
  int pidfd = (int)syscall(SYS_pidfd_open, server_pid, 0);
  CHECK(pidfd >= 0);
  uint64_t deadline = now_ms() + 10000;
  while (!cli_ping(port)) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int dead = poll(&p, 1, 20) > 0;
    if (dead || now_ms() > deadline) {
      dump_log();
      CHECK_MSG(0, "redis-server on port %d %s", port, dead ? "exited" : "did not answer in 10 s");
    }
  }
  close(pidfd);
}

void rt_redis_kill(void) {
  CHECK(server_pid > 0);
  CHECK(kill(server_pid, SIGKILL) == 0);
  CHECK(waitpid(server_pid, NULL, 0) == server_pid);
  server_pid = -1;
}

static void wake_cb(uv_timer_t *t) {
  (void)t;
}

int rt_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, uint64_t ms) {
  uv_timer_t deadline;
  CHECK(uv_timer_init(loop, &deadline) == 0);
  CHECK(uv_timer_start(&deadline, wake_cb, ms, 0) == 0);
  uint64_t end = now_ms() + ms;
  while (!cond(arg) && now_ms() < end)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&deadline, NULL);
  uv_run(loop, UV_RUN_NOWAIT); /* its close callback: the handle lives on our stack */
  return cond(arg);
}

static int no_handles(void *arg) {
  return !uv_loop_alive(arg);
}

void rt_drain(uv_loop_t *loop) {
  uint64_t end = now_ms() + 5000;
  while (uv_loop_alive(loop) && now_ms() < end)
    uv_run(loop, UV_RUN_ONCE);
  CHECK(no_handles(loop));
}

void rt_on_state(void *arg, int up, const char *why) {
  rt_events *e = arg;
  CHECK_MSG(e->last != up, "on_state(%d) twice in a row", up);
  e->last = up;
  if (up)
    e->ups++;
  else
    e->downs++;
  snprintf(e->why, sizeof e->why, "%s", why);
}

void rt_on_message(void *arg, const char *channel, const uint8_t *data, size_t len) {
  rt_events *e = arg;
  CHECK(len <= sizeof e->data);
  e->messages++;
  snprintf(e->channel, sizeof e->channel, "%s", channel);
  memcpy(e->data, data, len);
  e->len = len;
}

void rt_reply_cb(void *arg, const struct redisReply *reply, const char *err) {
  rt_reply *o = arg;
  CHECK_MSG(!o->done, "reply callback called twice");
  o->done = 1;
  if (reply == NULL) {
    CHECK(err != NULL && err[0] != '\0');
    o->type = -1;
    snprintf(o->err, sizeof o->err, "%s", err);
    return;
  }
  CHECK(err == NULL);
  o->type = reply->type;
  o->integer = reply->integer;
  /* [name, count] of PUBSUB NUMSUB */
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
      reply->element[1]->type == REDIS_REPLY_INTEGER)
    o->integer = reply->element[1]->integer;
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS ||
      reply->type == REDIS_REPLY_ERROR) {
    CHECK(reply->len <= sizeof o->str);
    memcpy(o->str, reply->str, reply->len);
    o->len = reply->len;
  }
}

int rt_reply_done(void *arg) {
  return ((rt_reply *)arg)->done;
}

void rt_command(uv_loop_t *loop, pl_redis *r, rt_reply *out, int argc, const char *const *argv) {
  memset(out, 0, sizeof *out);
  CHECK_RV(pl_redis_command(r, rt_reply_cb, out, argc, argv, NULL), 0);
  CHECK_MSG(rt_run_until(loop, rt_reply_done, out, 5000), "no reply to %s", argv[0]);
}
