/* The services every server carries, over real gRPC: health (Check, set_health, Watch through
 * a shutdown) and reflection (list_services on v1 and v1alpha). */

#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "peerlink/descriptor_set.h"
#include "tests/unit/rpc/harness.h"

#define HC_RESP &grpc__health__v1__health_check_response__descriptor
#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING

typedef struct t {
  harness h;
  int step;
  int statuses[8]; /* health status per step, -1 if no message */
  pl_rpc_status codes[8];
  int watch_msgs[4];
  int n_watch;
  int listed_echo, listed_health, list_responses;
} t;

static void next_step(t *x);

static void on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  t *x = arg;
  (void)call;
  if (msg->descriptor == HC_RESP) {
    int st = ((const Grpc__Health__V1__HealthCheckResponse *)msg)->status;
    if (x->step == 3) {
      if (x->n_watch < 4)
        x->watch_msgs[x->n_watch] = st;
      x->n_watch++;
      if (x->n_watch == 1) {
        /* The server goes away while a Watch is open: the stream hears NOT_SERVING, then is
         * cancelled after the grace period. */
        pl_rpc_server_shutdown(x->h.server, 100, NULL, NULL);
        x->h.server = NULL;
        x->h.server_done = 1;
      }
    } else {
      x->statuses[x->step] = st;
    }
    return;
  }
  const Grpc__Reflection__V1__ServerReflectionResponse *resp =
      (const Grpc__Reflection__V1__ServerReflectionResponse *)msg;
  CHECK(resp->message_response_case ==
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
  x->list_responses++;
  for (size_t i = 0; i < resp->list_services_response->n_service; i++) {
    const char *name = resp->list_services_response->service[i]->name;
    x->listed_echo += strcmp(name, "peerlink.test.Echo") == 0;
    x->listed_health += strcmp(name, "grpc.health.v1.Health") == 0;
  }
}

static void on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                      void *arg) {
  t *x = arg;
  (void)call;
  fprintf(stderr, "  step %d: %s \"%s\"\n", x->step, pl_rpc_status_name(code), message);
  x->codes[x->step] = code;
  x->step++;
  next_step(x);
}

static const pl_rpc_client_callbacks cb = {on_message, on_status};

static void check(t *x, const char *service) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = (char *)service;
  CHECK(pl_rpc_unary(NULL, x->h.channel, "/grpc.health.v1.Health/Check", &req.base, HC_RESP, &cb, x,
                     10000) == 0);
}

static const pl_rpc_client_callbacks refl_cb;

static void list_services(t *x, const char *path) {
  pl_rpc_client_call *call;
  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
  req.list_services = "";
  CHECK(pl_rpc_client_call_start(&call, x->h.channel, path,
                                 &grpc__reflection__v1__server_reflection_response__descriptor,
                                 &refl_cb, x, 10000) == 0);
  CHECK(pl_rpc_client_call_send(call, &req.base) == 0);
  CHECK(pl_rpc_client_call_close_send(call) == 0);
}

static void next_step(t *x) {
  switch (x->step) {
  case 0: check(x, "peerlink.test.Echo"); break;
  case 1:
    pl_rpc_server_set_health(x->h.server, "peerlink.test.Echo", 0);
    check(x, "peerlink.test.Echo");
    break;
  case 2: check(x, "no.such.Service"); break;
  case 3: {
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    CHECK(pl_rpc_unary(NULL, x->h.channel, "/grpc.health.v1.Health/Watch", &req.base, HC_RESP, &cb,
                       x, 0) == 0);
    break;
  }
  default: pl_rpc_channel_free(x->h.channel); x->h.channel = NULL;
  }
}

static void test_health(void) {
  static t x;
  memset(&x, 0, sizeof(x));
  for (int i = 0; i < 8; i++)
    x.statuses[i] = -1;
  harness_init(&x.h, "health", 30000);
  harness_start_server(&x.h, NULL);
  harness_open_channel(&x.h, NULL);
  next_step(&x);
  harness_run(&x.h);
  CHECK(x.codes[0] == PL_RPC_OK && x.statuses[0] == SERVING);
  CHECK(x.codes[1] == PL_RPC_OK && x.statuses[1] == NOT_SERVING);
  CHECK(x.codes[2] == PL_RPC_NOT_FOUND && x.statuses[2] == -1);
  CHECK(x.n_watch == 2 && x.watch_msgs[0] == SERVING && x.watch_msgs[1] == NOT_SERVING);
  CHECK(x.codes[3] != PL_RPC_OK);
}

/* Reflection: list_services on v1, then on v1alpha (same messages on the wire). */
static void refl_on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                           void *arg) {
  t *x = arg;
  (void)call;
  fprintf(stderr, "  reflection %d: %s \"%s\"\n", x->step, pl_rpc_status_name(code), message);
  x->codes[x->step++] = code;
  if (x->step == 1)
    list_services(x, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  else
    harness_stop(&x->h, 0);
}

static const pl_rpc_client_callbacks refl_cb = {on_message, refl_on_status};

static void test_reflection(void) {
  static t x;
  memset(&x, 0, sizeof(x));
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0",
                              .descriptor_set = pl_descriptor_set,
                              .descriptor_set_len = pl_descriptor_set_len};
  harness_init(&x.h, "reflection", 30000);
  harness_start_server(&x.h, &cfg);
  harness_open_channel(&x.h, NULL);
  list_services(&x, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
  harness_run(&x.h);
  CHECK(x.codes[0] == PL_RPC_OK && x.codes[1] == PL_RPC_OK);
  CHECK(x.list_responses == 2 && x.listed_echo == 2 && x.listed_health == 2);
}

int main(void) {
  test_health();
  test_reflection();
  printf("ok\n");
  return 0;
}
