/* Streaming calls over real gRPC on loopback: server streaming keeps order over many messages,
 * client streaming sums what it read, bidi answers each message as it comes (ping-pong). */

#include <string.h>

#include "control/common/err.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define GSR &peerlink__v1__get_status_response__descriptor
#define EV &peerlink__v1__event__descriptor

static void stop(recorder *r) {
  harness_stop(r->h, 0);
}

static void test_server_streaming(void) {
  harness h;
  recorder r;
  /* 5000 messages queued in one go: exactly as many as this server's send queue takes. */
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0", .send_queue_limit = 5000};
  harness_init(&h, "server streaming", 60000);
  harness_start_server(&h, &cfg);
  harness_open_channel(&h, NULL);
  recorder_init(&r, &h, stop);
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  req.uptime_seconds = 5000;
  CHECK(pl_rpc_unary(NULL, h.channel, "/peerlink.test.Echo/Count", &req.base, EV,
                     &recorder_callbacks, &r, 0) == 0);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_OK && strcmp(r.message, "counted 5000") == 0);
  CHECK(r.n_messages == 5000 && r.in_order && r.last_unix_ms == 4999);
  CHECK(h.echo.done == 1 && h.echo.done_cancelled == 0 && h.echo.count_full == 0);
}

static void send_event(pl_rpc_client_call *call, int64_t v) {
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  ev.unix_ms = v;
  CHECK(pl_rpc_client_call_send(call, &ev.base) == 0);
}

static void test_client_streaming(int n) {
  harness h;
  recorder r;
  pl_rpc_client_call *call;
  harness_init(&h, n ? "client streaming" : "client streaming, no messages", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  recorder_init(&r, &h, stop);
  CHECK(pl_rpc_client_call_start(&call, h.channel, "/peerlink.test.Echo/Sum", EV,
                                 &recorder_callbacks, &r, 0) == 0);
  for (int i = 0; i < n; i++)
    send_event(call, i);
  CHECK(pl_rpc_client_call_close_send(call) == 0);
  CHECK(pl_rpc_client_call_close_send(call) == PL_ERR_CLOSED);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_OK);
  CHECK(r.n_messages == 1 && r.last_unix_ms == (int64_t)n * (n - 1) / 2);
  CHECK(h.echo.requests == n && h.echo.half_closes == 1);
  CHECK(h.echo.done == 1 && h.echo.done_cancelled == 0);
}

/* Bidi as ping-pong: each answer triggers the next request, so both directions interleave. */
typedef struct pingpong {
  harness *h;
  pl_rpc_client_call *call;
  int64_t sent, answered;
  int ok_order;
  int got_status;
  pl_rpc_status code;
} pingpong;

#define ROUNDS 50

static void pp_on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  pingpong *pp = arg;
  const Peerlink__V1__Event *ev = (const Peerlink__V1__Event *)msg;
  if (ev->unix_ms != 2 * pp->answered)
    pp->ok_order = 0;
  pp->answered++;
  if (pp->sent < ROUNDS)
    send_event(call, pp->sent++);
  else
    CHECK(pl_rpc_client_call_close_send(call) == 0);
}

static void pp_on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                         void *arg) {
  pingpong *pp = arg;
  (void)call;
  (void)message;
  CHECK(!pp->got_status);
  pp->got_status = 1;
  pp->code = code;
  harness_stop(pp->h, 0);
}

static void test_bidi(void) {
  harness h;
  pingpong pp = {.h = &h, .ok_order = 1};
  static const pl_rpc_client_callbacks cb = {pp_on_message, pp_on_status};
  harness_init(&h, "bidi ping-pong", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  CHECK(pl_rpc_client_call_start(&pp.call, h.channel, "/peerlink.test.Echo/Chat", EV, &cb, &pp,
                                 0) == 0);
  send_event(pp.call, pp.sent++);
  harness_run(&h);
  CHECK(pp.got_status && pp.code == PL_RPC_OK);
  CHECK(pp.answered == ROUNDS && pp.ok_order);
  CHECK(h.echo.requests == ROUNDS && h.echo.half_closes == 1 && h.echo.done == 1);
}

int main(void) {
  test_server_streaming();
  test_client_streaming(100);
  test_client_streaming(0);
  test_bidi();
  printf("ok\n");
  return 0;
}
