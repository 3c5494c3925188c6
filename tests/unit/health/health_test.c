/* grpc.health.v1.Health: the status table, Check, and Watch streams, driven through a fake call
 * (tests/unit/health/fake_rpc.h): no sockets. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/health.h"
#include "grpc/health/v1/health.pb-c.h"
#include "tests/unit/health/fake_rpc.h"

#include "tests/unit/common/check.h"

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

static const pl_rpc_method *method(const pl_rpc_service *svc, const char *name) {
  for (size_t i = 0; i < svc->n_methods; i++) {
    if (strcmp(svc->methods[i].name, name) == 0)
      return &svc->methods[i];
  }
  return NULL;
}

/* The status carried by the i-th message sent on `call`. */
static int sent_status(const pl_rpc_call *call, size_t i) {
  CHECK(i < call->n_sent);
  Grpc__Health__V1__HealthCheckResponse *resp =
      grpc__health__v1__health_check_response__unpack(NULL, call->sent_len[i], call->sent[i]);
  CHECK(resp != NULL);
  int status = resp->status;
  grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
  return status;
}

static void start(pl_health *h, const char *method_name, pl_rpc_call *call, char *service) {
  const pl_rpc_service *svc = pl_health_service(h);
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = service;
  fake_call_init(call);
  method(svc, method_name)->on_request(call, &req.base, svc->data);
}

static void end(pl_health *h, const char *method_name, pl_rpc_call *call, int cancelled) {
  const pl_rpc_service *svc = pl_health_service(h);
  const pl_rpc_method *m = method(svc, method_name);
  if (m->on_done != NULL)
    m->on_done(call, cancelled, svc->data);
  fake_call_clear(call);
}

static void test_table(void) {
  pl_health *h;
  CHECK(pl_health_new(&h) == 0);
  int status = -1;
  CHECK(pl_health_check(h, "", &status) == 0 && status == SERVING);
  CHECK(pl_health_check(h, NULL, &status) == 0 && status == SERVING);
  CHECK(pl_health_check(h, "peerlink.v1.Agent", &status) == PL_ERR_NOT_FOUND);
  pl_health_set(h, "peerlink.v1.Agent", 1);
  CHECK(pl_health_check(h, "peerlink.v1.Agent", &status) == 0 && status == SERVING);
  pl_health_set(h, "peerlink.v1.Agent", 0);
  CHECK(pl_health_check(h, "peerlink.v1.Agent", &status) == 0 && status == NOT_SERVING);
  pl_health_set(h, NULL, 0);
  CHECK(pl_health_check(h, "", &status) == 0 && status == NOT_SERVING);
  /* Enough names to grow the table past its first allocation. */
  char name[32];
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof(name), "svc%d", i);
    pl_health_set(h, name, i % 2);
  }
  CHECK(pl_health_check(h, "svc39", &status) == 0 && status == SERVING);
  CHECK(pl_health_check(h, "svc38", &status) == 0 && status == NOT_SERVING);

  const pl_rpc_service *svc = pl_health_service(h);
  CHECK(strcmp(svc->full_name, "grpc.health.v1.Health") == 0);
  CHECK(svc->n_methods == 2 && svc->data == h);
  CHECK(method(svc, "Check")->kind == PL_RPC_UNARY);
  CHECK(method(svc, "Watch")->kind == PL_RPC_SERVER_STREAMING);
  pl_health_free(h);
  pl_health_free(NULL);
}

static void test_check(void) {
  pl_health *h;
  CHECK(pl_health_new(&h) == 0);
  pl_health_set(h, "a.B", 0);
  pl_rpc_call call;

  start(h, "Check", &call, "");
  CHECK(call.finished && call.code == PL_RPC_OK && call.n_sent == 1);
  CHECK(sent_status(&call, 0) == SERVING);
  end(h, "Check", &call, 0);

  start(h, "Check", &call, "a.B");
  CHECK(call.finished && call.code == PL_RPC_OK && sent_status(&call, 0) == NOT_SERVING);
  end(h, "Check", &call, 0);

  start(h, "Check", &call, "no.Such");
  CHECK(call.finished && call.code == PL_RPC_NOT_FOUND && call.n_sent == 0);
  CHECK(strcmp(call.message, "unknown service no.Such") == 0);
  end(h, "Check", &call, 0);
  pl_health_free(h);
}

static void test_watch(void) {
  pl_health *h;
  CHECK(pl_health_new(&h) == 0);
  pl_rpc_call all, agent, other;

  /* The current status at once; SERVICE_UNKNOWN for a name never set, stream left open. */
  start(h, "Watch", &all, "");
  start(h, "Watch", &agent, "peerlink.v1.Agent");
  start(h, "Watch", &other, "x.Y");
  CHECK(pl_health_watchers(h) == 3);
  CHECK(all.n_sent == 1 && sent_status(&all, 0) == SERVING && !all.finished);
  CHECK(agent.n_sent == 1 && sent_status(&agent, 0) == SERVICE_UNKNOWN && !agent.finished);

  /* A name appearing, changing, and set to what it already is. */
  pl_health_set(h, "peerlink.v1.Agent", 1);
  CHECK(agent.n_sent == 2 && sent_status(&agent, 1) == SERVING);
  pl_health_set(h, "peerlink.v1.Agent", 1);
  CHECK(agent.n_sent == 2);
  pl_health_set(h, "peerlink.v1.Agent", 0);
  CHECK(agent.n_sent == 3 && sent_status(&agent, 2) == NOT_SERVING);
  /* Other services' watchers hear nothing. */
  CHECK(all.n_sent == 1 && other.n_sent == 1);
  pl_health_set(h, "", 0);
  CHECK(all.n_sent == 2 && sent_status(&all, 1) == NOT_SERVING && agent.n_sent == 3);

  /* A cancelled stream: sends fail until on_done unlinks it; nothing else is disturbed. */
  agent.closed = 1;
  pl_health_set(h, "peerlink.v1.Agent", 1);
  CHECK(agent.n_sent == 3 && !agent.finished);
  end(h, "Watch", &agent, 1);
  CHECK(pl_health_watchers(h) == 2);
  pl_health_set(h, "peerlink.v1.Agent", 0);

  /* A client that reads nothing while the status flaps: a status waiting behind the one in
   * flight is replaced by the newer one, so two messages are pending at most, the newest is
   * what the client reads next, and the stream stays open. */
  other.hold = 1;
  other.pending = 1; /* SERVICE_UNKNOWN still in flight */
  for (int i = 0; i < 5000; i++)
    pl_health_set(h, "x.Y", i % 2);
  CHECK(!other.finished && other.pending == 2 && other.n_sent == 2);
  CHECK(sent_status(&other, 1) == SERVING);
  /* SERVING went out and is in flight; NOT_SERVING waits, then SERVING again replaces it
   * with nothing: the client's last status is already SERVING. */
  other.pending = 1;
  pl_health_set(h, "x.Y", 0);
  CHECK(other.n_sent == 3 && sent_status(&other, 2) == NOT_SERVING);
  pl_health_set(h, "x.Y", 1);
  CHECK(other.n_sent == 2 && other.pending == 1 && !other.finished);
  /* Only a queue that cannot hold one message behind the one in flight ends the stream, and
   * says why. */
  other.send_limit = 1;
  pl_health_set(h, "x.Y", 0);
  CHECK(other.finished && other.code == PL_RPC_RESOURCE_EXHAUSTED);
  CHECK_STR_CONTAINS(other.message, "queue full");
  end(h, "Watch", &other, 1);

  /* A send failing for another reason ends the stream with INTERNAL. */
  all.send_error = PL_ERR_NOMEM;
  pl_health_set(h, "", 1);
  CHECK(all.finished && all.code == PL_RPC_INTERNAL);
  end(h, "Watch", &all, 1);
  CHECK(pl_health_watchers(h) == 0);

  /* A call that ended before its request arrived has no watcher. */
  pl_rpc_call early;
  fake_call_init(&early);
  end(h, "Watch", &early, 1);

  /* Freed with streams still registered: forgotten, not leaked (ASan checks). */
  pl_rpc_call left;
  start(h, "Watch", &left, "");
  CHECK(pl_health_watchers(h) == 1);
  pl_health_free(h);
  fake_call_clear(&left);
}

int main(void) {
  test_table();
  test_check();
  test_watch();
  printf("ok\n");
  return 0;
}
