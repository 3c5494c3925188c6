/* 1,000 server-streaming calls at once on one server, over two channels: every call gets all
 * its messages in order and finishes OK, and everything is freed afterwards. */

#include <string.h>

#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define NCALLS 1000
#define NMSGS 20

static recorder recs[NCALLS];
static int finished;
static pl_rpc_channel *second;

static void then(recorder *r) {
  if (++finished < NCALLS)
    return;
  pl_rpc_channel_free(second);
  harness_stop(r->h, 0);
}

int main(void) {
  harness h;
  harness_init(&h, "1000 concurrent server streams", 120000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  CHECK(pl_rpc_channel_new(&second, &h.loop, h.target, NULL) == 0);
  for (int i = 0; i < NCALLS; i++) {
    Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
    req.uptime_seconds = NMSGS;
    recorder_init(&recs[i], &h, then);
    recs[i].quiet = 1;
    CHECK(pl_rpc_unary(NULL, i % 2 ? second : h.channel, "/peerlink.test.Echo/Count", &req.base,
                       &peerlink__v1__event__descriptor, &recorder_callbacks, &recs[i], 0) == 0);
  }
  harness_run(&h);
  for (int i = 0; i < NCALLS; i++) {
    CHECK(recs[i].got_status && recs[i].code == PL_RPC_OK);
    CHECK(recs[i].n_messages == NMSGS && recs[i].in_order);
  }
  CHECK(h.echo.requests == NCALLS && h.echo.done == NCALLS && h.echo.done_cancelled == 0);
  printf("ok\n");
  return 0;
}
