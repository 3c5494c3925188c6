/* Against a real redis-server: the link comes up with its subscriptions, a binary-safe
 * SET/GET round trip, PUBLISH reaching on_message byte for byte, subscribing while up and
 * unsubscribing, the bound on commands in flight, and closing (while up with commands in
 * flight, and from inside a reply callback) clean under ASan. */
#include <string.h>

#include <hiredis/hiredis.h>

#include "control/common/err.h"
#include "control/redis/redis.h"
#include "tests/unit/common/check.h"
#include "tests/unit/redis/harness.h"

static uv_loop_t loop;

static int is_up(void *arg) {
  return ((rt_events *)arg)->ups > 0;
}

static int has_message(void *arg) {
  return ((rt_events *)arg)->messages > 0;
}

/* Until PUBSUB NUMSUB says `channel` has `want` subscribers (the subscriber connection's
 * SUBSCRIBE and the command connection's PUBLISH are not ordered with each other). */
static void wait_numsub(pl_redis *r, const char *channel, long long want) {
  for (int i = 0; i < 1000; i++) {
    rt_reply o;
    const char *argv[] = {"PUBSUB", "NUMSUB", channel};
    rt_command(&loop, r, &o, 3, argv);
    CHECK(o.type == REDIS_REPLY_ARRAY);
    if (o.integer == want)
      return;
  }
  CHECK_MSG(0, "channel %s never had %lld subscribers", channel, want);
}

static void check_round_trip(pl_redis *r, rt_events *ev) {
  static const uint8_t value[] = {'a', 0, 'b', 0xff, 0, 'c'};
  const char *set[] = {"SET", "pl:key", (const char *)value};
  const size_t setlen[] = {3, 6, sizeof value};
  rt_reply o = {0};
  CHECK_RV(pl_redis_command(r, rt_reply_cb, &o, 3, set, setlen), 0);
  CHECK(rt_run_until(&loop, rt_reply_done, &o, 5000));
  CHECK(o.type == REDIS_REPLY_STATUS && o.len == 2 && memcmp(o.str, "OK", 2) == 0);

  const char *get[] = {"GET", "pl:key"};
  rt_command(&loop, r, &o, 2, get);
  CHECK(o.type == REDIS_REPLY_STRING);
  CHECK_U64(o.len, ==, sizeof value);
  CHECK_MEM_EQ(o.str, value, sizeof value);

  /* An error reply is a reply. */
  const char *bad[] = {"NO-SUCH-COMMAND"};
  rt_command(&loop, r, &o, 1, bad);
  CHECK(o.type == REDIS_REPLY_ERROR);

  static const uint8_t msg[] = {0, 1, 2, 'x', 0, 0xfe};
  const char *pub[] = {"PUBLISH", "pl:chan", (const char *)msg};
  const size_t publen[] = {7, 7, sizeof msg};
  CHECK_RV(pl_redis_command(r, rt_reply_cb, &o, 3, pub, publen), 0);
  memset(&o, 0, sizeof o);
  CHECK(rt_run_until(&loop, has_message, ev, 5000));
  CHECK_STR_EQ(ev->channel, "pl:chan");
  CHECK_U64(ev->len, ==, sizeof msg);
  CHECK_MEM_EQ(ev->data, msg, sizeof msg);
  CHECK(rt_run_until(&loop, rt_reply_done, &o, 5000));
  CHECK(o.type == REDIS_REPLY_INTEGER && o.integer == 1);
}

static void check_subscribe_while_up(pl_redis *r, rt_events *ev) {
  CHECK_RV(pl_redis_subscribe(r, "pl:late"), 0);
  CHECK_RV(pl_redis_subscribe(r, "pl:late"), 0); /* once */
  wait_numsub(r, "pl:late", 1);
  ev->messages = 0;
  rt_reply o;
  const char *pub[] = {"PUBLISH", "pl:late", "hello"};
  rt_command(&loop, r, &o, 3, pub);
  CHECK(o.integer == 1);
  CHECK(rt_run_until(&loop, has_message, ev, 5000));
  CHECK_STR_EQ(ev->channel, "pl:late");
  CHECK(ev->len == 5 && memcmp(ev->data, "hello", 5) == 0);

  CHECK_RV(pl_redis_unsubscribe(r, "pl:late"), 0);
  CHECK_RV(pl_redis_unsubscribe(r, "pl:late"), PL_ERR_NOT_FOUND);
  wait_numsub(r, "pl:late", 0);
  CHECK(pl_redis_is_up(r));
}

/* max_pending 3: the fourth is refused at once; the first reply's callback closes the client,
 * and the other two still get their callback exactly once, with a failure. */
static rt_reply bound[3];
static pl_redis *bound_client;

static void close_on_reply(void *arg, const struct redisReply *reply, const char *err) {
  rt_reply_cb(arg, reply, err);
  pl_redis_close(bound_client);
}

static int all_bound_done(void *arg) {
  (void)arg;
  return bound[0].done && bound[1].done && bound[2].done;
}

static void check_bound(int port) {
  rt_events ev = {.last = -1};
  pl_redis_config cfg = {.host = "localhost", /* a name: resolved off the loop */
                         .port = port,
                         .max_pending = 3,
                         .on_state = rt_on_state,
                         .arg = &ev};
  CHECK_RV(pl_redis_open(&loop, &cfg, &bound_client), 0);
  CHECK(rt_run_until(&loop, is_up, &ev, 10000));
  const char *ping[] = {"PING"};
  CHECK_RV(pl_redis_command(bound_client, close_on_reply, &bound[0], 1, ping, NULL), 0);
  CHECK_RV(pl_redis_command(bound_client, rt_reply_cb, &bound[1], 1, ping, NULL), 0);
  CHECK_RV(pl_redis_command(bound_client, rt_reply_cb, &bound[2], 1, ping, NULL), 0);
  rt_reply extra = {0};
  CHECK_RV(pl_redis_command(bound_client, rt_reply_cb, &extra, 1, ping, NULL), PL_ERR_FULL);
  CHECK(rt_run_until(&loop, all_bound_done, NULL, 5000));
  CHECK(bound[0].type == REDIS_REPLY_STATUS);
  /* Already answered by the time the first callback ran, or failed by the close. */
  for (int i = 1; i < 3; i++)
    CHECK_MSG(bound[i].type == REDIS_REPLY_STATUS || strcmp(bound[i].err, "closed") == 0,
              "reply %d: type %d err %s", i, bound[i].type, bound[i].err);
  CHECK(!extra.done);
  CHECK(ev.downs == 0); /* closing is not a loss */
}

int main(void) {
  CHECK(uv_loop_init(&loop) == 0);
  int port = rt_free_port();
  rt_redis_start(port);

  rt_events ev = {.last = -1};
  pl_redis_config cfg = {.host = "127.0.0.1",
                         .port = port,
                         .on_state = rt_on_state,
                         .on_message = rt_on_message,
                         .arg = &ev};
  pl_redis *r;
  pl_redis_config bad = cfg;
  bad.port = 0;
  CHECK_RV(pl_redis_open(&loop, &bad, &r), PL_ERR_INVALID);
  CHECK_RV(pl_redis_open(&loop, &cfg, &r), 0);
  CHECK(!pl_redis_is_up(r));
  CHECK_RV(pl_redis_subscribe(r, "pl:chan"), 0);
  CHECK_RV(pl_redis_subscribe(r, ""), PL_ERR_INVALID);
  const char *ping[] = {"PING"};
  CHECK_RV(pl_redis_command(r, rt_reply_cb, NULL, 1, ping, NULL), PL_ERR_CLOSED);
  CHECK(rt_run_until(&loop, is_up, &ev, 10000));
  CHECK(ev.ups == 1 && ev.downs == 0);
  CHECK_STR_EQ(pl_redis_status(r), "up");

  check_round_trip(r, &ev);
  check_subscribe_while_up(r, &ev);
  check_bound(port);

  /* Closing while up with a command in flight: its callback fails during the close. */
  rt_reply o = {0};
  const char *blpop[] = {"BLPOP", "pl:nothing", "0"};
  CHECK_RV(pl_redis_command(r, rt_reply_cb, &o, 3, blpop, NULL), 0);
  uv_run(&loop, UV_RUN_NOWAIT);
  pl_redis_close(r);
  CHECK(o.done && o.type == -1);
  CHECK_STR_EQ(o.err, "closed");
  rt_drain(&loop);
  CHECK(uv_loop_close(&loop) == 0);
  rt_redis_kill();
  printf("redis_basic_test: ok\n");
  return 0;
}
