/* peerlinkctl against fake_agent (the real rpc server with canned answers): text and JSON
 * output of status, peers and watch; Ctrl-C during watch; server errors; the token. */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

#define TIMEOUT_MS 30000

static const char *ctl, *fake;
static char agent[64];

/* Local times in the output are UTC, so the expected text is fixed. */
static char *const env[] = {"PEERLINK_AGENT=", "PEERLINK_TOKEN=", "TZ=UTC", NULL};

static void start_fake(tproc *f, char *const *args) {
  char *argv[8] = {(char *)fake};
  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  CHECK(tproc_spawn(f, argv, env) == 0);
  CHECK_PROC(tproc_wait_stdout(f, "\n", TIMEOUT_MS) == 0 &&
                 sscanf(f->out, "fake-agent: control=%63s", agent) == 1,
             f);
}

static void stop_fake(tproc *f) {
  kill(f->pid, SIGTERM);
  CHECK_PROC(tproc_finish(f, TIMEOUT_MS) == 0 && f->status == 0, f); /* stopped cleanly */
}

/* peerlinkctl --agent <fake> args... */
static void ctl_argv(char **argv, char *const *args) {
  int n = 0;
  argv[n++] = (char *)ctl;
  argv[n++] = "--agent";
  argv[n++] = agent;
  for (int i = 0; args[i]; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
}

static void run(tproc *p, char *const *args, char *const *e) {
  char *argv[16];
  ctl_argv(argv, args);
  CHECK_MSG(tproc_run(p, argv, e ? e : env, TIMEOUT_MS) >= 0, "peerlinkctl %s: did not finish",
            args[0]);
}

static const char status_text[] =
    "id:                a11ce\n"
    "name:              alice\n"
    "version:           0.1.0\n"
    "uptime:            1h 2m 3s\n"
    "rendezvous:        registered (127.0.0.1:7800)\n"
    "control address:   127.0.0.1:7700\n"
    "udp address:       0.0.0.0:41000\n"
    "public endpoint:   203.0.113.7:40001\n"
    "nat:               endpoint-independent\n"
    "certificate:       ab12\n"
    "dropped datagrams: 3 unauthenticated\n"
    "paths:             1\n"
    "  b0b0 name=bob kind=direct local=10.0.0.2:5000 remote=[2001:db8::9]:6000 rtt=1.5ms "
    "connected_in=120ms\n";

static const char peers_text[] = "ID     NAME  ADDRESS             REGISTERED SINCE\n"
                                 "b0b0   bob   198.51.100.9:5555   2023-11-14 22:13:20\n"
                                 "c4r01  -     [2001:db8::1]:6666  2023-11-14 22:14:20\n";

static const char status_json_head[] = "{\n"
                                       "  \"id\": \"a11ce\",\n"
                                       "  \"name\": \"alice\",\n"
                                       "  \"version\": \"0.1.0\",\n"
                                       "  \"uptimeSeconds\": \"3723\",\n"
                                       "  \"rendezvousState\": \"RENDEZVOUS_STATE_REGISTERED\",\n";

static const char event_joined[] = "2023-11-14 22:13:21.234 peer-joined id=b0b0 "
                                   "name=\"bob smith\" address=198.51.100.9:5555\n";
static const char event_message[] =
    "2023-11-14 22:13:22.000 message from=b0b0 "
    "delivery=reliable bytes=12 data=\"hi \\\"there\\\"\\n\\x01\"\n";

static void test_unary(void) {
  tproc p;
  run(&p, (char *[]){"status", NULL}, NULL);
  CHECK_PROC(p.status == 0 && !strcmp(p.out, status_text) && p.err_len == 0, &p);

  run(&p, (char *[]){"--json", "status", NULL}, NULL);
  CHECK_PROC(p.status == 0 && !strncmp(p.out, status_json_head, strlen(status_json_head)), &p);
  CHECK_PROC(
      strstr(p.out, "\"remote\": {\n        \"ip\": \"2001:db8::9\",\n        \"port\": 6000\n"),
      &p);
  CHECK_PROC(p.out_len > 2 && !strcmp(p.out + p.out_len - 2, "}\n"), &p);

  run(&p, (char *[]){"peers", NULL}, NULL);
  CHECK_PROC(p.status == 0 && !strcmp(p.out, peers_text), &p);

  run(&p, (char *[]){"peers", "--json", NULL}, NULL);
  CHECK_PROC(p.status == 0 && strstr(p.out, "\"registeredUnixMs\": \"1700000000000\"") &&
                 strstr(p.out, "\"observedAddress\": \"ipv6:[2001:db8::1]:6666\""),
             &p);
  CHECK_PROC(!strstr(p.out, "\"name\": \"\""), &p); /* defaults left out... */

  run(&p, (char *[]){"peers", "--json", "--emit-defaults", NULL}, NULL);
  CHECK_PROC(p.status == 0 && strstr(p.out, "\"name\": \"\""), &p); /* ...unless asked for */
}

static void test_watch(void) {
  tproc p;
  char *argv[16];

  /* Ctrl-C after the events: cancelled, exit 0, nothing on stderr */
  ctl_argv(argv, (char *[]){"watch", "--current", NULL});
  CHECK(tproc_spawn(&p, argv, env) == 0);
  int got = tproc_wait_stdout(&p, "message from=", TIMEOUT_MS);
  kill(p.pid, SIGINT);
  tproc_finish(&p, TIMEOUT_MS);
  CHECK_PROC(got == 0, &p);
  CHECK_PROC(p.exited && p.status == 0 && p.err_len == 0, &p);
  char want[512];
  snprintf(want, sizeof(want), "2023-11-14 22:13:20.000 rendezvous state=registered\n%s%s",
           event_joined, event_message);
  CHECK_PROC(!strcmp(p.out, want), &p);

  /* --json: one object per line */
  ctl_argv(argv, (char *[]){"--json", "watch", NULL});
  CHECK(tproc_spawn(&p, argv, env) == 0);
  got = tproc_wait_stdout(&p, "\"message\"", TIMEOUT_MS);
  kill(p.pid, SIGTERM);
  tproc_finish(&p, TIMEOUT_MS);
  CHECK_PROC(got == 0 && p.status == 0, &p);
  CHECK_PROC(!strcmp(p.out,
                     "{\"event\":{\"unixMs\":\"1700000001234\",\"peerList\":{\"joined\":true,"
                     "\"peer\":{\"id\":\"b0b0\",\"name\":\"bob smith\","
                     "\"observedAddress\":\"ipv4:198.51.100.9:5555\"}}}}\n"
                     "{\"event\":{\"unixMs\":\"1700000002000\",\"message\":{\"peerId\":\"b0b0\","
                     "\"delivery\":\"DELIVERY_RELIABLE\",\"data\":\"aGkgInRoZXJlIgoB\"}}}\n"),
             &p);
}

static void test_failures(void) {
  tproc f, p;
  start_fake(&f, (char *[]){"--fail-peers", "--end-watch", NULL});
  run(&p, (char *[]){"peers", NULL}, NULL);
  CHECK_PROC(p.status == 5 && p.out_len == 0 &&
                 !strcmp(p.err, "peerlinkctl: peers failed: FAILED_PRECONDITION: "
                                "no rendezvous configured\n"),
             &p);
  /* the agent ends the stream: the watch ends with it, successfully */
  run(&p, (char *[]){"watch", NULL}, NULL);
  CHECK_PROC(p.status == 0 && p.err_len == 0, &p);
  CHECK_PROC(strstr(p.out, event_joined) && strstr(p.out, event_message), &p);
  stop_fake(&f);
}

static void test_token(void) {
  tproc f, p;
  start_fake(&f, (char *[]){"--token", "s3cret", NULL});
  run(&p, (char *[]){"status", NULL}, NULL);
  CHECK_PROC(p.status == 5 && !strncmp(p.err, "peerlinkctl: status failed: UNAUTHENTICATED", 43),
             &p);
  run(&p, (char *[]){"--token", "wrong", "status", NULL}, NULL);
  CHECK_PROC(p.status == 5 && strstr(p.err, "UNAUTHENTICATED"), &p);
  run(&p, (char *[]){"--token=s3cret", "status", NULL}, NULL);
  CHECK_PROC(p.status == 0 && !strcmp(p.out, status_text), &p);
  char *const tenv[] = {"PEERLINK_AGENT=", "PEERLINK_TOKEN=s3cret", "TZ=UTC", NULL};
  run(&p, (char *[]){"status", NULL}, tenv);
  CHECK_PROC(p.status == 0 && !strcmp(p.out, status_text), &p);
  stop_fake(&f);
}

int main(int argc, char **argv) {
  tproc f;
  if (argc < 3)
    return 2;
  ctl = argv[1];
  fake = argv[2];
  start_fake(&f, (char *[]){NULL});
  test_unary();
  test_watch();
  stop_fake(&f);
  test_failures();
  test_token();
  printf("agent_test: ok\n");
  return 0;
}
