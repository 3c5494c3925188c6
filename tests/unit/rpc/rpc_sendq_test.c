/* The bounded send queue, over real gRPC on loopback: a server call and a client call refuse a
 * send at their limit with PL_ERR_FULL and queue nothing, the limit comes from the server
 * config or the call, a client that stops reading backs the server's queue up to the limit, and
 * health Watch replaces stale statuses instead of queueing them. */

#include <string.h>

#include "control/common/err.h"
#include "control/rpc/rpc_testing.h"
#include "grpc/health/v1/health.pb-c.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define GSR &peerlink__v1__get_status_response__descriptor
#define EV &peerlink__v1__event__descriptor

static int calls_left;

static void stop_after_last(recorder *r) {
  if (--calls_left == 0)
    harness_stop(r->h, 0);
}

static void count(harness *h, recorder *r, const char *name, uint64_t n) {
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  req.name = (char *)name;
  req.uptime_seconds = n;
  recorder_init(r, h, stop_after_last);
  CHECK(pl_rpc_unary(NULL, h->channel, "/peerlink.test.Echo/Count", &req.base, EV,
                     &recorder_callbacks, r, 0) == 0);
}

/* Count queues all its messages in one handler, before any send can complete: the server's
 * limit (8) stops it, a call's own limit (3) stops it sooner, and what was accepted arrives. */
static void test_server_limit(void) {
  harness h;
  recorder r_cfg, r_call, r_under;
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0", .send_queue_limit = 8};
  harness_init(&h, "server call at its send-queue limit", 30000);
  harness_start_server(&h, &cfg);
  harness_open_channel(&h, NULL);
  calls_left = 3;
  count(&h, &r_cfg, "", 20);
  count(&h, &r_call, "limit=3", 20);
  count(&h, &r_under, "", 8);
  harness_run(&h);
  CHECK(r_cfg.code == PL_RPC_OK && strcmp(r_cfg.message, "counted 8") == 0);
  CHECK(r_cfg.n_messages == 8 && r_cfg.in_order);
  CHECK(r_call.code == PL_RPC_OK && strcmp(r_call.message, "counted 3") == 0);
  CHECK(r_call.n_messages == 3 && r_call.in_order);
  CHECK(r_under.code == PL_RPC_OK && strcmp(r_under.message, "counted 8") == 0);
  CHECK(h.echo.count_full == 2 && h.echo.done == 3 && h.echo.done_cancelled == 0);
}

static void send_event(pl_rpc_client_call *call, int64_t v, int want) {
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  ev.unix_ms = v;
  CHECK(pl_rpc_client_call_send(call, &ev.base) == want);
}

/* Client streaming, all sends in one go: the default limit and a call's own. */
static void test_client_limit(void) {
  harness h;
  recorder r_default, r_small;
  pl_rpc_client_call *c_default, *c_small;
  harness_init(&h, "client call at its send-queue limit", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  calls_left = 2;
  recorder_init(&r_default, &h, stop_after_last);
  recorder_init(&r_small, &h, stop_after_last);
  CHECK(pl_rpc_client_call_start(&c_default, h.channel, "/peerlink.test.Echo/Sum", EV,
                                 &recorder_callbacks, &r_default, 0) == 0);
  CHECK(pl_rpc_client_call_start(&c_small, h.channel, "/peerlink.test.Echo/Sum", EV,
                                 &recorder_callbacks, &r_small, 0) == 0);
  CHECK(pl_rpc_client_call_send_limit(c_default) == PL_RPC_SEND_QUEUE_DEFAULT);
  for (int i = 0; i < PL_RPC_SEND_QUEUE_DEFAULT; i++)
    send_event(c_default, i, 0);
  send_event(c_default, 1, PL_ERR_FULL);
  CHECK(pl_rpc_client_call_pending(c_default) == PL_RPC_SEND_QUEUE_DEFAULT);

  pl_rpc_client_call_set_send_limit(c_small, 5);
  CHECK(pl_rpc_client_call_send_limit(c_small) == 5);
  for (int i = 0; i < 5; i++)
    send_event(c_small, i, 0);
  send_event(c_small, 100, PL_ERR_FULL);
  CHECK(pl_rpc__client_call_send_raw(c_small, "\x08\x01", 2) == PL_ERR_FULL);
  CHECK(pl_rpc_client_call_pending(c_small) == 5);
  /* Refusing a message does not end the call: it still half-closes and gets its answer. */
  CHECK(pl_rpc_client_call_close_send(c_default) == 0);
  CHECK(pl_rpc_client_call_close_send(c_small) == 0);
  harness_run(&h);
  CHECK(r_default.code == PL_RPC_OK && r_default.n_messages == 1);
  CHECK(r_default.last_unix_ms ==
        (int64_t)PL_RPC_SEND_QUEUE_DEFAULT * (PL_RPC_SEND_QUEUE_DEFAULT - 1) / 2);
  CHECK(r_small.code == PL_RPC_OK && r_small.n_messages == 1 && r_small.last_unix_ms == 10);
  CHECK(h.echo.requests == PL_RPC_SEND_QUEUE_DEFAULT + 5 && h.echo.half_closes == 2);
}

/* A client that stops reading: the server offers one 16 KiB message per loop turn. While HTTP/2
 * flow control takes them the queue stays short; once the window of the stream nobody reads is
 * used up (about 4 MiB here), the queue fills to its limit and every further send is refused,
 * turn after turn, with the call still open. When the client reads again, every accepted
 * message arrives, in order. Nothing here depends on time: the stall is counted in loop turns,
 * and a slow machine that stops early still checks the same things. */
#define FLOOD_LIMIT 4
#define FLOOD_MSG (16 * 1024)
#define FLOOD_MAX 4096         /* 64 MiB: far past any window gRPC opens for a stream */
#define FLOOD_FULL_TURNS 10000 /* refused this many turns in a row: the queue is stuck full */

typedef struct flood {
  harness *h;
  recorder rec;
  pl_rpc_client_call *client;
  pl_rpc_call *call;
  uv_idle_t idle;
  char payload[FLOOD_MSG + 1];
  int accepted;
  int full_turns; /* consecutive refused sends */
} flood;

static void flood_tick(uv_idle_t *idle) {
  flood *f = idle->data;
  Peerlink__V1__GetStatusResponse m = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  m.name = f->payload;
  m.uptime_seconds = (uint64_t)f->accepted;
  int rv = pl_rpc_call_send(f->call, &m.base);
  if (rv == 0) {
    /* Were the client's reads not holding the server back, this would go on forever. */
    CHECK(++f->accepted < FLOOD_MAX);
    f->full_turns = 0;
    return;
  }
  CHECK(rv == PL_ERR_FULL);
  CHECK(pl_rpc_call_pending(f->call) == FLOOD_LIMIT);
  if (++f->full_turns < FLOOD_FULL_TURNS)
    return;
  uv_close((uv_handle_t *)idle, NULL);
  fprintf(stderr, "  queue full after %d messages accepted\n", f->accepted);
  /* Only the first message reached the paused client. */
  CHECK(f->rec.n_messages <= 1);
  CHECK(pl_rpc_call_finish(f->call, PL_RPC_OK, "flooded %d", f->accepted) == 0);
  pl_rpc__client_call_pause_recv(f->client, 0);
}

static void on_flood(echo_state *st, pl_rpc_call *call, void *arg) {
  flood *f = arg;
  (void)st;
  f->call = call;
  CHECK(uv_idle_init(&f->h->loop, &f->idle) == 0);
  f->idle.data = f;
  CHECK(uv_idle_start(&f->idle, flood_tick) == 0);
}

static void flood_stop(recorder *r) {
  harness_stop(r->h, 0);
}

static void test_slow_reader(void) {
  harness h;
  static flood f;
  memset(&f, 0, sizeof f);
  f.h = &h;
  memset(f.payload, 'x', FLOOD_MSG);
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0", .send_queue_limit = FLOOD_LIMIT};
  harness_init(&h, "a client that stops reading fills the server's queue", 60000);
  h.echo.on_flood = on_flood;
  h.echo.hook_arg = &f;
  harness_start_server(&h, &cfg);
  harness_open_channel(&h, NULL);
  recorder_init(&f.rec, &h, flood_stop);
  f.rec.in_order = 0;
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  CHECK(pl_rpc_unary(&f.client, h.channel, "/peerlink.test.Echo/Flood", &req.base, GSR,
                     &recorder_callbacks, &f.rec, 0) == 0);
  pl_rpc__client_call_pause_recv(f.client, 1);
  harness_run(&h);
  CHECK(f.full_turns == FLOOD_FULL_TURNS && f.accepted >= FLOOD_LIMIT);
  CHECK(f.rec.code == PL_RPC_OK && f.rec.n_messages == f.accepted);
  CHECK(f.rec.last_uptime == (uint64_t)f.accepted - 1);
  char want[64];
  snprintf(want, sizeof want, "flooded %d", f.accepted);
  CHECK(strcmp(f.rec.message, want) == 0);
}

/* Health Watch against a client that is not reading while the status flaps 5000 times in one
 * turn: stale statuses are replaced, so the client reads exactly one more message, the newest
 * status, and the stream stays open until the server goes. */
typedef struct watch {
  harness *h;
  pl_rpc_client_call *call;
  uv_timer_t resume;
  int statuses[8];
  int n;
  int ended_early;
  int got_status;
  pl_rpc_status code;
} watch;

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING

static void on_resume(uv_timer_t *t) {
  watch *w = t->data;
  uv_close((uv_handle_t *)t, NULL);
  pl_rpc__client_call_pause_recv(w->call, 0);
}

static void watch_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  watch *w = arg;
  (void)call;
  CHECK(w->n < 8);
  w->statuses[w->n++] = ((const Grpc__Health__V1__HealthCheckResponse *)msg)->status;
  if (w->n == 1) {
    /* The watcher is registered (it sent the current status). */
    for (int i = 1; i <= 5000; i++)
      pl_rpc_server_set_health(w->h->server, "", i % 2);
    CHECK(uv_timer_init(&w->h->loop, &w->resume) == 0);
    w->resume.data = w;
    CHECK(uv_timer_start(&w->resume, on_resume, 0, 0) == 0);
  } else if (w->n == 2) {
    w->ended_early = w->got_status;
    harness_stop(w->h, 0);
  }
}

static void watch_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                         void *arg) {
  watch *w = arg;
  (void)call;
  fprintf(stderr, "  watch status %s \"%s\" after %d messages\n", pl_rpc_status_name(code), message,
          w->n);
  w->got_status = 1;
  w->code = code;
  if (w->n < 2)
    harness_stop(w->h, 0);
}

static void test_health_coalesces(void) {
  harness h;
  watch w = {.h = &h};
  static const pl_rpc_client_callbacks cb = {watch_message, watch_status};
  harness_init(&h, "health Watch replaces stale statuses for a slow reader", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  CHECK(pl_rpc_unary(&w.call, h.channel, "/grpc.health.v1.Health/Watch", &req.base,
                     &grpc__health__v1__health_check_response__descriptor, &cb, &w, 0) == 0);
  pl_rpc__client_call_pause_recv(w.call, 1);
  harness_run(&h);
  CHECK(w.n == 2 && w.statuses[0] == SERVING && w.statuses[1] == NOT_SERVING);
  CHECK(!w.ended_early && w.got_status);
}

int main(void) {
  test_server_limit();
  test_client_limit();
  test_slow_reader();
  test_health_coalesces();
  printf("ok\n");
  return 0;
}
