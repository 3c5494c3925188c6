#include "tests/unit/rpc/harness.h"

#include <string.h>
#include <unistd.h>

#include "control/common/err.h"
#include "peerlink/v1/agent.pb-c.h"

static void on_deadline(uv_timer_t *timer) {
  harness *h = timer->data;
  fprintf(stderr, "FAIL: scenario '%s' did not finish before its deadline\n", h->scenario);
  fflush(stderr);
  _exit(1);
}

void harness_init(harness *h, const char *scenario, uint64_t deadline_ms) {
  memset(h, 0, sizeof(*h));
  h->scenario = scenario;
  CHECK(uv_loop_init(&h->loop) == 0);
  CHECK(uv_timer_init(&h->loop, &h->deadline) == 0);
  h->deadline.data = h;
  CHECK(uv_timer_start(&h->deadline, on_deadline, deadline_ms, 0) == 0);
  /* The loop ends when the rpc objects are gone; the deadline only catches hangs. */
  uv_unref((uv_handle_t *)&h->deadline);
  echo_state_init(&h->echo);
  fprintf(stderr, "scenario: %s\n", scenario);
}

void harness_start_server(harness *h, const pl_rpc_server_config *cfg) {
  pl_rpc_server_config def = {.listen = "127.0.0.1:0"};
  int port = 0;
  CHECK(pl_rpc_server_new(&h->server, &h->loop, cfg ? cfg : &def) == 0);
  CHECK(pl_rpc_server_add_service(h->server, echo_service(&h->echo)) == 0);
  CHECK(pl_rpc_server_start(h->server, &port) == 0);
  CHECK(port > 0);
  /* Adding after start is refused. */
  CHECK(pl_rpc_server_add_service(h->server, echo_service(&h->echo)) == PL_ERR_STATE);
  snprintf(h->target, sizeof(h->target), "127.0.0.1:%d", port);
}

void harness_open_channel(harness *h, const char *token) {
  CHECK(pl_rpc_channel_new(&h->channel, &h->loop, h->target, token) == 0);
}

static void on_server_done(void *arg) {
  harness *h = arg;
  h->server_done = 1;
}

void harness_stop(harness *h, uint64_t grace_ms) {
  if (h->channel) {
    pl_rpc_channel_free(h->channel);
    h->channel = NULL;
  }
  if (h->server) {
    pl_rpc_server_shutdown(h->server, grace_ms, on_server_done, h);
    h->server = NULL;
  }
}

void harness_run(harness *h) {
  uv_run(&h->loop, UV_RUN_DEFAULT);
  CHECK(h->server_done);
  uv_close((uv_handle_t *)&h->deadline, NULL);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  /* UV_EBUSY here means some handle of the rpc layer was left open. */
  CHECK(uv_loop_close(&h->loop) == 0);
  echo_state_check_empty(&h->echo);
}

static void rec_on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  recorder *r = arg;
  (void)call;
  if (msg->descriptor == &peerlink__v1__event__descriptor) {
    const Peerlink__V1__Event *ev = (const Peerlink__V1__Event *)msg;
    if (ev->unix_ms != r->n_messages)
      r->in_order = 0;
    r->last_unix_ms = ev->unix_ms;
  } else if (msg->descriptor == &peerlink__v1__get_status_response__descriptor) {
    const Peerlink__V1__GetStatusResponse *resp = (const Peerlink__V1__GetStatusResponse *)msg;
    snprintf(r->name, sizeof(r->name), "%s", resp->name);
    r->last_uptime = resp->uptime_seconds;
  }
  r->n_messages++;
}

static void rec_on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                          void *arg) {
  recorder *r = arg;
  (void)call;
  CHECK(!r->got_status); /* exactly once */
  r->got_status = 1;
  r->code = code;
  snprintf(r->message, sizeof(r->message), "%s", message);
  if (!r->quiet)
    fprintf(stderr, "  status %s \"%s\" after %d messages\n", pl_rpc_status_name(code), message,
            r->n_messages);
  if (r->then)
    r->then(r);
}

const pl_rpc_client_callbacks recorder_callbacks = {rec_on_message, rec_on_status};

void recorder_init(recorder *r, harness *h, void (*then)(recorder *r)) {
  memset(r, 0, sizeof(*r));
  r->h = h;
  r->in_order = 1;
  r->then = then;
}
