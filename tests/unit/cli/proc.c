#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tproc_spawn(tproc *p, char *const argv[], char *const env[]) {
  int out[2], err[2];
  memset(p, 0, sizeof(*p));
  if (pipe(out) || pipe(err))
    return -1;
  fflush(NULL);
  p->pid = fork();
  if (p->pid < 0)
    return -1;
  if (p->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]), close(out[1]), close(err[0]), close(err[1]), close(devnull);
    for (size_t i = 0; env && env[i]; i++) {
      char name[128];
      const char *eq = strchr(env[i], '=');
      snprintf(name, sizeof(name), "%.*s", (int)(eq - env[i]), env[i]);
      if (eq[1])
        setenv(name, eq + 1, 1);
      else
        unsetenv(name);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  p->out_fd = out[0];
  p->err_fd = err[0];
  return 0;
}

/* One poll round over the open pipes. Returns 0, or -1 when the deadline passed. */
static int pump(tproc *p, long long deadline) {
  struct pollfd fds[2];
  int n = 0;
  if (p->out_fd >= 0)
    fds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
  if (p->err_fd >= 0)
    fds[n++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
  if (n == 0)
    return 0;
  long long left = deadline - now_ms();
  if (left <= 0)
    return -1;
  int r = poll(fds, n, (int)left);
  if (r < 0 && errno == EINTR)
    return 0;
  if (r <= 0)
    return r == 0 ? -1 : 0;
  for (int i = 0; i < n; i++) {
    if (!fds[i].revents)
      continue;
    int is_out = fds[i].fd == p->out_fd;
    char *buf = is_out ? p->out : p->err;
    size_t *len = is_out ? &p->out_len : &p->err_len;
    size_t room = sizeof(p->out) - 1 - *len;
    ssize_t got = read(fds[i].fd, buf + *len, room ? room : 1);
    if (got <= 0 || !room) { /* EOF, error, or full: stop reading this one */
      close(fds[i].fd);
      *(is_out ? &p->out_fd : &p->err_fd) = -1;
      continue;
    }
    *len += (size_t)got;
    buf[*len] = '\0';
  }
  return 0;
}

int tproc_wait_stdout(tproc *p, const char *needle, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (!strstr(p->out, needle)) {
    if (p->out_fd < 0 || pump(p, deadline) != 0)
      return -1;
  }
  return 0;
}

int tproc_finish(tproc *p, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (p->out_fd >= 0 || p->err_fd >= 0) {
    if (pump(p, deadline) != 0) {
      kill(p->pid, SIGKILL);
      waitpid(p->pid, NULL, 0);
      if (p->out_fd >= 0)
        close(p->out_fd);
      if (p->err_fd >= 0)
        close(p->err_fd);
      p->out_fd = p->err_fd = -1;
      return -1;
    }
  }
  /* Both pipes at EOF: the child has exited or closed them, reap it. */
  int st;
  if (waitpid(p->pid, &st, 0) != p->pid)
    return -1;
  p->exited = 1;
  p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return 0;
}

int tproc_run(tproc *p, char *const argv[], char *const env[], int timeout_ms) {
  if (tproc_spawn(p, argv, env) != 0 || tproc_finish(p, timeout_ms) != 0)
    return -1;
  return p->status;
}
