/* The bridge on a real libuv loop: start on port 0, a busy port refused at start naming
 * --listen, bad configurations, and stop: lws_context_destroy leaves handles closing on the
 * loop, which must run until they are gone before the bridge is freed (then nothing is left
 * on the loop). */

#include <string.h>
#include <uv.h>

#include "control/bridge/bridge.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

static pl_bridge_config config(const char *listen) {
  pl_bridge_config c = {.listen = listen, .agent = "127.0.0.1:1"};
  return c;
}

static void test_start_busy_stop(void) {
  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  char err[256] = "", listen[64];
  pl_bridge *first = NULL, *second = NULL;
  pl_bridge_config c = config("127.0.0.1:0");
  CHECK_RV(pl_bridge_start(&first, &loop, &c, err, sizeof err), 0);
  int port = pl_bridge_port(first);
  CHECK(port > 0);

  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  c = config(listen);
  CHECK_RV(pl_bridge_start(&second, &loop, &c, err, sizeof err), PL_ERR_IO);
  char want[96];
  snprintf(want, sizeof want, "--listen %s: cannot bind", listen);
  CHECK_STR_CONTAINS(err, want);
  CHECK(second != NULL); /* lws had started: handles to close on the loop */

  pl_bridge_stop(first);
  pl_bridge_stop(first); /* again: nothing */
  /* Destroying only began: lws's handles are still on the loop, closing. */
  CHECK(uv_loop_alive(&loop));
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_RV(pl_bridge_free(first), 0);
  CHECK_RV(pl_bridge_free(second), 0);
  /* Nothing of lws or of the gRPC channel is left. */
  CHECK(uv_loop_close(&loop) == 0);
}

static void test_bad_config(void) {
  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  char err[256];
  pl_bridge *b = (pl_bridge *)&loop; /* must come back NULL */
  pl_bridge_config c = config("0.0.0.0:0");
  CHECK_RV(pl_bridge_start(&b, &loop, &c, err, sizeof err), PL_ERR_INVALID);
  CHECK(b == NULL);
  CHECK_STR_CONTAINS(err, "needs --token");
  c.token = "t";
  c.services = "not a service";
  CHECK_RV(pl_bridge_start(&b, &loop, &c, err, sizeof err), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--services");
  c = config("nonsense");
  CHECK_RV(pl_bridge_start(&b, &loop, &c, err, sizeof err), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--listen");
  const char *origins[] = {"localhost:5173"};
  c = config("127.0.0.1:0");
  c.allow_origins = origins;
  c.n_allow_origins = 1;
  CHECK_RV(pl_bridge_start(&b, &loop, &c, err, sizeof err), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--allow-origin");
  c = config("127.0.0.1:0");
  c.agent = "no port";
  CHECK_RV(pl_bridge_start(&b, &loop, &c, err, sizeof err), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--agent");
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

int main(void) {
  test_start_busy_stop();
  test_bad_config();
  printf("lifecycle_test: ok\n");
  return 0;
}
