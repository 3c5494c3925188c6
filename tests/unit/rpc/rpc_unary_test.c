/* Unary calls over real gRPC on loopback: round trip, unknown method, a request that does not
 * parse, a request over the size limit, a deadline. */

#include <string.h>

#include "control/common/err.h"
#include "control/rpc/rpc_testing.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define ECHO_PATH "/peerlink.test.Echo/Echo"
#define GSR &peerlink__v1__get_status_response__descriptor

static void stop(recorder *r) {
  harness_stop(r->h, 0);
}

static void echo_call(harness *h, recorder *r, const char *name, uint64_t timeout_ms) {
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  req.name = (char *)name;
  req.uptime_seconds = 41;
  CHECK(pl_rpc_unary(NULL, h->channel, ECHO_PATH, &req.base, GSR, &recorder_callbacks, r,
                     timeout_ms) == 0);
}

static void test_round_trip(void) {
  harness h;
  recorder r;
  harness_init(&h, "unary round trip", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  recorder_init(&r, &h, stop);
  echo_call(&h, &r, "hello", 10000);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_OK);
  CHECK(r.n_messages == 1 && strcmp(r.name, "hello") == 0);
  CHECK(h.echo.requests == 1 && h.echo.done == 1 && h.echo.done_cancelled == 0);
}

static int unknown_left;
static void unknown_then(recorder *r) {
  if (--unknown_left == 0)
    stop(r);
}

static void test_unknown_method(void) {
  harness h;
  recorder r1, r2;
  harness_init(&h, "unknown method", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  unknown_left = 2;
  recorder_init(&r1, &h, unknown_then);
  recorder_init(&r2, &h, unknown_then);
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  CHECK(pl_rpc_unary(NULL, h.channel, "/peerlink.test.Echo/Nope", &req.base, GSR,
                     &recorder_callbacks, &r1, 10000) == 0);
  CHECK(pl_rpc_unary(NULL, h.channel, "/no.Such/Thing", &req.base, GSR, &recorder_callbacks, &r2,
                     10000) == 0);
  harness_run(&h);
  CHECK(r1.got_status && r1.code == PL_RPC_UNIMPLEMENTED);
  CHECK(strcmp(r1.message, "unknown method /peerlink.test.Echo/Nope") == 0);
  CHECK(r2.got_status && r2.code == PL_RPC_UNIMPLEMENTED);
  CHECK(strcmp(r2.message, "unknown method /no.Such/Thing") == 0);
  CHECK(h.echo.requests == 0 && h.echo.done == 0);
}

/* After a bad request the server must keep serving: the next call goes through. */
static recorder next_ok;
static void then_next(recorder *r) {
  recorder_init(&next_ok, r->h, stop);
  echo_call(r->h, &next_ok, "after", 10000);
}

static void test_garbage_request(const uint8_t *garbage, size_t len) {
  harness h;
  recorder r;
  pl_rpc_client_call *call;
  harness_init(&h, "garbage request", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  recorder_init(&r, &h, then_next);
  CHECK(pl_rpc_client_call_start(&call, h.channel, ECHO_PATH, GSR, &recorder_callbacks, &r,
                                 10000) == 0);
  CHECK(pl_rpc__client_call_send_raw(call, garbage, len) == 0);
  CHECK(pl_rpc_client_call_close_send(call) == 0);
  CHECK(pl_rpc_client_call_send(call, NULL) == PL_ERR_CLOSED); /* closed for sending */
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_INTERNAL);
  CHECK(strcmp(r.message, "error parsing request proto: peerlink.v1.GetStatusResponse") == 0);
  CHECK(r.n_messages == 0);
  CHECK(next_ok.got_status && next_ok.code == PL_RPC_OK && strcmp(next_ok.name, "after") == 0);
  /* The bad call never reached on_request, but its on_done ran (cancelled: the library, not
   * the handler, ended it). */
  CHECK(h.echo.requests == 1 && h.echo.done == 2 && h.echo.done_cancelled == 1);
}

static void test_oversized_request(void) {
  harness h;
  recorder r;
  char big[2048];
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0", .max_message_bytes = 1024};
  harness_init(&h, "oversized request", 30000);
  harness_start_server(&h, &cfg);
  harness_open_channel(&h, NULL);
  recorder_init(&r, &h, then_next);
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  echo_call(&h, &r, big, 10000);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_RESOURCE_EXHAUSTED);
  CHECK(next_ok.got_status && next_ok.code == PL_RPC_OK);
  /* The core refused the message: the handler never saw it, and the call ended cancelled. */
  CHECK(h.echo.requests == 1 && h.echo.done == 2 && h.echo.done_cancelled == 1);
}

static void test_deadline(void) {
  harness h;
  recorder r;
  harness_init(&h, "deadline", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  recorder_init(&r, &h, stop);
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  CHECK(pl_rpc_unary(NULL, h.channel, "/peerlink.test.Echo/Hang", &req.base,
                     &peerlink__v1__event__descriptor, &recorder_callbacks, &r, 200) == 0);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_DEADLINE_EXCEEDED);
  /* The server saw the call end without the handler finishing it. */
  CHECK(h.echo.requests == 1 && h.echo.done == 1 && h.echo.done_cancelled == 1);
}

static void test_status_names(void) {
  CHECK(strcmp(pl_rpc_status_name(PL_RPC_OK), "OK") == 0);
  CHECK(strcmp(pl_rpc_status_name(PL_RPC_INVALID_ARGUMENT), "INVALID_ARGUMENT") == 0);
  CHECK(strcmp(pl_rpc_status_name(PL_RPC_UNAUTHENTICATED), "UNAUTHENTICATED") == 0);
  CHECK(strcmp(pl_rpc_status_name((pl_rpc_status)99), "UNKNOWN") == 0);
}

int main(void) {
  test_status_names();
  test_round_trip();
  test_unknown_method();
  /* A field key whose varint never ends. */
  static const uint8_t endless[] = {0xff, 0xff, 0xff};
  test_garbage_request(endless, sizeof(endless));
  /* Well-formed protobuf of another schema: uptime_seconds (4) as a string. */
  static const uint8_t wrong_type[] = {0x22, 0x03, 'a', 'b', 'c'};
  test_garbage_request(wrong_type, sizeof(wrong_type));
  test_oversized_request();
  test_deadline();
  printf("ok\n");
  return 0;
}
