/* pl_rpc_server_config.read_chunk_bytes: a server whose idle connections keep 1 KiB read
 * buffers still takes a request of a megabyte (gRPC grows a busy connection's reads), and the
 * experiment that would ignore the setting is turned off for the process. */

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/rpc_testing.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define ECHO_PATH "/peerlink.test.Echo/Echo"
#define GSR &peerlink__v1__get_status_response__descriptor

static int left;

static void then(recorder *r) {
  if (--left == 0)
    harness_stop(r->h, 0);
}

int main(void) {
  harness h;
  recorder small, big;
  static char name[1 << 20];
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0", .read_chunk_bytes = 1024};
  CHECK(unsetenv("GRPC_EXPERIMENTS") == 0);
  harness_init(&h, "read chunk", 30000);
  harness_start_server(&h, &cfg);
  CHECK(getenv("GRPC_EXPERIMENTS") && strcmp(getenv("GRPC_EXPERIMENTS"), "-tcp_read_chunks") == 0);
  harness_open_channel(&h, NULL);
  left = 2;
  recorder_init(&small, &h, then);
  recorder_init(&big, &h, then);
  memset(name, 'n', sizeof name - 1);
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  req.name = "small";
  CHECK(pl_rpc_unary(NULL, h.channel, ECHO_PATH, &req.base, GSR, &recorder_callbacks, &small,
                     20000) == 0);
  req.name = name;
  CHECK(pl_rpc_unary(NULL, h.channel, ECHO_PATH, &req.base, GSR, &recorder_callbacks, &big,
                     20000) == 0);
  harness_run(&h);
  CHECK(small.got_status && small.code == PL_RPC_OK && strcmp(small.name, "small") == 0);
  CHECK(big.got_status && big.code == PL_RPC_OK && big.n_messages == 1 && big.name[0] == 'n');
  printf("rpc_read_chunk_test: ok\n");
  return 0;
}
