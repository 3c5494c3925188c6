/* Raw client calls (the bridge's mode: protobuf bytes forwarded unparsed) over real gRPC on
 * loopback: a unary round trip, bidi streaming message by message, bytes the server cannot
 * parse, an unknown method, paused reading, and the argument checks. */

#include <string.h>

#include "control/common/err.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

typedef struct raw_rec {
  harness *h;
  int n_messages;
  int64_t sum; /* of Event.unix_ms in the responses */
  char name[64];
  int got_status;
  pl_rpc_status code;
  char message[256];
  pl_rpc_client_call *call;
  int paused_seen; /* messages that arrived while paused (must stay at most 1) */
  int paused;
} raw_rec;

static void raw_message(pl_rpc_client_call *call, const uint8_t *data, size_t len, void *arg) {
  raw_rec *r = arg;
  (void)call;
  if (r->paused)
    r->paused_seen++;
  /* The test knows the type; the library does not look. */
  Peerlink__V1__Event *ev = peerlink__v1__event__unpack(NULL, len, data);
  if (ev) {
    r->sum += ev->unix_ms;
    peerlink__v1__event__free_unpacked(ev, NULL);
  }
  Peerlink__V1__GetStatusResponse *gs = peerlink__v1__get_status_response__unpack(NULL, len, data);
  if (gs) {
    snprintf(r->name, sizeof r->name, "%s", gs->name);
    peerlink__v1__get_status_response__free_unpacked(gs, NULL);
  }
  r->n_messages++;
}

static void raw_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                       void *arg) {
  raw_rec *r = arg;
  (void)call;
  CHECK(!r->got_status);
  r->got_status = 1;
  r->code = code;
  snprintf(r->message, sizeof r->message, "%s", message);
  harness_stop(r->h, 0);
}

static const pl_rpc_client_raw_callbacks raw_cb = {raw_message, raw_status};

static void send_packed(pl_rpc_client_call *call, const ProtobufCMessage *msg) {
  uint8_t buf[256];
  size_t len = protobuf_c_message_pack(msg, buf);
  CHECK_RV(pl_rpc_client_call_send_raw(call, buf, len), 0);
}

static void start(harness *h, raw_rec *r, const char *scenario, const char *path) {
  harness_init(h, scenario, 30000);
  harness_start_server(h, NULL);
  harness_open_channel(h, NULL);
  memset(r, 0, sizeof *r);
  r->h = h;
  CHECK_RV(pl_rpc_client_call_start_raw(&r->call, h->channel, path, &raw_cb, r, 10000), 0);
}

static void test_unary(void) {
  harness h;
  raw_rec r;
  start(&h, &r, "raw unary", "/peerlink.test.Echo/Echo");
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  req.name = "raw bytes";
  send_packed(r.call, &req.base);
  CHECK_RV(pl_rpc_client_call_close_send(r.call), 0);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_OK);
  CHECK(r.n_messages == 1);
  CHECK_STR_EQ(r.name, "raw bytes");
}

static void test_bidi(void) {
  harness h;
  raw_rec r;
  start(&h, &r, "raw bidi", "/peerlink.test.Echo/Chat");
  for (int i = 1; i <= 10; i++) {
    Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
    ev.unix_ms = i;
    send_packed(r.call, &ev.base);
  }
  CHECK_RV(pl_rpc_client_call_close_send(r.call), 0);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_OK);
  CHECK(r.n_messages == 10 && r.sum == 2 * 55); /* Chat doubles each */
}

/* The server, not the raw client, judges the bytes. */
static void test_garbage(void) {
  harness h;
  raw_rec r;
  start(&h, &r, "raw garbage", "/peerlink.test.Echo/Echo");
  static const uint8_t garbage[] = {0xff, 0xff, 0xff};
  CHECK_RV(pl_rpc_client_call_send_raw(r.call, garbage, sizeof garbage), 0);
  CHECK_RV(pl_rpc_client_call_close_send(r.call), 0);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_INTERNAL);
  CHECK_STR_CONTAINS(r.message, "error parsing request proto");
}

static void test_unknown(void) {
  harness h;
  raw_rec r;
  start(&h, &r, "raw unknown method", "/no.Such/Thing");
  CHECK_RV(pl_rpc_client_call_close_send(r.call), 0);
  harness_run(&h);
  CHECK(r.got_status && r.code == PL_RPC_UNIMPLEMENTED);
  CHECK_STR_EQ(r.message, "unknown method /no.Such/Thing");
  CHECK(r.n_messages == 0);
}

/* Paused: the stream stops after the message awaited; resuming delivers the rest, in full. */
static harness pause_h;
static raw_rec pause_r;
static uv_timer_t resume_timer;

static void on_resume(uv_timer_t *t) {
  (void)t;
  /* Paused before the first message arrived: at most the one awaited got through. */
  CHECK(pause_r.n_messages <= 1);
  pause_r.paused = 0;
  pl_rpc_client_call_pause_recv(pause_r.call, 0);
  uv_close((uv_handle_t *)&resume_timer, NULL);
}

static void test_pause(void) {
  start(&pause_h, &pause_r, "raw paused reading", "/peerlink.test.Echo/Count");
  pause_r.paused = 1;
  pl_rpc_client_call_pause_recv(pause_r.call, 1);
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  req.uptime_seconds = 100;
  send_packed(pause_r.call, &req.base);
  CHECK_RV(pl_rpc_client_call_close_send(pause_r.call), 0);
  /* Resuming from a timer is not a timing assertion: any moment works, 200 ms lets the server
   * finish sending into flow control first. */
  uv_timer_init(&pause_h.loop, &resume_timer);
  uv_timer_start(&resume_timer, on_resume, 200, 0);
  harness_run(&pause_h);
  CHECK(pause_r.got_status && pause_r.code == PL_RPC_OK);
  CHECK(pause_r.n_messages == 100 && pause_r.sum == 99 * 100 / 2);
  CHECK(pause_r.paused_seen <= 1);
}

static void test_arguments(void) {
  harness h;
  harness_init(&h, "raw arguments", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  static const pl_rpc_client_raw_callbacks no_status = {raw_message, NULL};
  CHECK_RV(pl_rpc_client_call_start_raw(NULL, h.channel, "/x/y", &no_status, NULL, 0),
           PL_ERR_INVALID);
  /* A typed call still needs its response type; NULL never silently means raw. */
  CHECK_RV(pl_rpc_client_call_start(NULL, h.channel, "/x/y", NULL, &recorder_callbacks, NULL, 0),
           PL_ERR_INVALID);
  harness_stop(&h, 0);
  harness_run(&h);
}

int main(void) {
  test_unary();
  test_bidi();
  test_garbage();
  test_unknown();
  test_pause();
  test_arguments();
  printf("rpc_raw_test: ok\n");
  return 0;
}
