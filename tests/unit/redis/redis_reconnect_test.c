/* Losing Redis and getting it back, against a real redis-server: SIGKILL brings on_state(0)
 * and fails the commands in flight, commands are refused while down, a restart on the same
 * port brings the link up again with its subscriptions; a command with no answer in time
 * counts as a loss; nothing listening means retrying with backoff, never up; closing while
 * connecting is clean under ASan. */
#include <string.h>

#include <hiredis/hiredis.h>

#include "control/common/err.h"
#include "control/redis/redis.h"
#include "tests/unit/common/check.h"
#include "tests/unit/redis/harness.h"

static uv_loop_t loop;

static int ups_2(void *arg) {
  return ((rt_events *)arg)->ups >= 2;
}

static int is_up(void *arg) {
  return ((rt_events *)arg)->ups >= 1 && ((rt_events *)arg)->last == 1;
}

static int is_down(void *arg) {
  return ((rt_events *)arg)->downs >= 1;
}

static int has_message(void *arg) {
  return ((rt_events *)arg)->messages > 0;
}

static rt_reply blocked[2];

static int blocked_done(void *arg) {
  (void)arg;
  return blocked[0].done && blocked[1].done;
}

static void check_kill_and_restart(int port) {
  rt_events ev = {.last = -1};
  pl_redis_config cfg = {.host = "127.0.0.1",
                         .port = port,
                         .backoff_min_ms = 20,
                         .backoff_max_ms = 100,
                         .command_timeout_ms = 10000,
                         .on_state = rt_on_state,
                         .on_message = rt_on_message,
                         .arg = &ev};
  pl_redis *r;
  CHECK_RV(pl_redis_open(&loop, &cfg, &r), 0);
  CHECK_RV(pl_redis_subscribe(r, "pl:events"), 0);
  CHECK(rt_run_until(&loop, is_up, &ev, 10000));

  /* Two commands Redis holds (BLPOP with no timeout), then the server dies. */
  const char *blpop[] = {"BLPOP", "pl:nothing", "0"};
  CHECK_RV(pl_redis_command(r, rt_reply_cb, &blocked[0], 3, blpop, NULL), 0);
  CHECK_RV(pl_redis_command(r, rt_reply_cb, &blocked[1], 3, blpop, NULL), 0);
  uv_run(&loop, UV_RUN_NOWAIT); /* written */
  rt_redis_kill();
  CHECK(rt_run_until(&loop, is_down, &ev, 5000));
  CHECK(rt_run_until(&loop, blocked_done, NULL, 5000));
  CHECK(blocked[0].type == -1 && blocked[1].type == -1);
  printf("down: why=\"%s\" command error=\"%s\"\n", ev.why, blocked[0].err);
  CHECK(!pl_redis_is_up(r));
  const char *ping[] = {"PING"};
  rt_reply o = {0};
  CHECK_RV(pl_redis_command(r, rt_reply_cb, &o, 1, ping, NULL), PL_ERR_CLOSED);
  CHECK(!o.done);
  printf("status while down: %s\n", pl_redis_status(r));
  CHECK(strcmp(pl_redis_status(r), "up") != 0);

  /* Back on the same port: up again, and the subscription with it. */
  uint64_t before = pl_redis_attempts(r);
  rt_redis_start(port);
  CHECK(rt_run_until(&loop, ups_2, &ev, 10000));
  CHECK(ev.ups == 2 && ev.downs == 1 && ev.last == 1);
  CHECK_U64(pl_redis_attempts(r), >, before);
  const char *pub[] = {"PUBLISH", "pl:events", "again"};
  rt_command(&loop, r, &o, 3, pub);
  CHECK(o.type == REDIS_REPLY_INTEGER && o.integer == 1);
  CHECK(rt_run_until(&loop, has_message, &ev, 5000));
  CHECK_STR_EQ(ev.channel, "pl:events");
  CHECK(ev.len == 5 && memcmp(ev.data, "again", 5) == 0);
  pl_redis_close(r);
}

/* A command Redis does not answer within command_timeout_ms: it fails and the link is lost,
 * then comes back on its own. */
static void check_command_timeout(int port) {
  rt_events ev = {.last = -1};
  pl_redis_config cfg = {.host = "127.0.0.1",
                         .port = port,
                         .backoff_min_ms = 10,
                         .backoff_max_ms = 50,
                         .command_timeout_ms = 200,
                         .on_state = rt_on_state,
                         .arg = &ev};
  pl_redis *r;
  CHECK_RV(pl_redis_open(&loop, &cfg, &r), 0);
  CHECK(rt_run_until(&loop, is_up, &ev, 10000));
  const char *blpop[] = {"BLPOP", "pl:nothing", "0"};
  rt_reply o = {0};
  CHECK_RV(pl_redis_command(r, rt_reply_cb, &o, 3, blpop, NULL), 0);
  CHECK(rt_run_until(&loop, rt_reply_done, &o, 5000));
  CHECK(o.type == -1);
  CHECK_STR_EQ(o.err, "command timeout");
  CHECK(ev.downs == 1);
  CHECK_STR_EQ(ev.why, "command timeout");
  CHECK(rt_run_until(&loop, ups_2, &ev, 5000));
  pl_redis_close(r);
}

static int attempts_3(void *arg) {
  return pl_redis_attempts(arg) >= 3;
}

/* Nothing listening: never up, retried with backoff; closed while retrying, and right after
 * opening (while resolving). */
static void check_nothing_listening(void) {
  rt_events ev = {.last = -1};
  pl_redis_config cfg = {.host = "127.0.0.1",
                         .port = rt_free_port(),
                         .backoff_min_ms = 10,
                         .backoff_max_ms = 40,
                         .command_timeout_ms = 500,
                         .on_state = rt_on_state,
                         .arg = &ev};
  pl_redis *r;
  CHECK_RV(pl_redis_open(&loop, &cfg, &r), 0);
  CHECK(rt_run_until(&loop, attempts_3, r, 5000));
  printf("nothing listening: %s\n", pl_redis_status(r));
  CHECK(!pl_redis_is_up(r));
  CHECK(ev.ups == 0 && ev.downs == 0); /* never up, so never reported down */
  CHECK_STR_CONTAINS(pl_redis_status(r), "attempt");
  CHECK_STR_CONTAINS(pl_redis_status(r), "refused");
  pl_redis_close(r);
  rt_drain(&loop);

  for (int turns = 0; turns < 6; turns++) {
    CHECK_RV(pl_redis_open(&loop, &cfg, &r), 0);
    for (int i = 0; i < turns; i++)
      uv_run(&loop, UV_RUN_NOWAIT);
    pl_redis_close(r);
    rt_drain(&loop);
  }
}

/* Closing with both connections mid-connect (a server that is there, so connect is in
 * progress and not refused). */
static void check_close_connecting(int port) {
  rt_events ev = {.last = -1};
  pl_redis_config cfg = {.host = "127.0.0.1", .port = port, .on_state = rt_on_state, .arg = &ev};
  for (int turns = 0; turns < 8; turns++) {
    pl_redis *r;
    CHECK_RV(pl_redis_open(&loop, &cfg, &r), 0);
    for (int i = 0; i < turns && ev.ups == 0; i++)
      uv_run(&loop, UV_RUN_ONCE);
    pl_redis_close(r);
    rt_drain(&loop);
    ev = (rt_events){.last = -1};
  }
}

int main(void) {
  CHECK(uv_loop_init(&loop) == 0);
  int port = rt_free_port();
  rt_redis_start(port);
  check_kill_and_restart(port);
  rt_drain(&loop);
  check_command_timeout(port);
  rt_drain(&loop);
  check_close_connecting(port);
  check_nothing_listening();
  CHECK(uv_loop_close(&loop) == 0);
  rt_redis_kill();
  printf("redis_reconnect_test: ok\n");
  return 0;
}
