/* Bearer-token checks on real gRPC, and the rule that a server without a token listens on
 * loopback only. */

#include <string.h>

#include "control/common/err.h"
#include "control/rpc/rpc_testing.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define GSR &peerlink__v1__get_status_response__descriptor

static void test_hostport(void) {
  static const struct {
    const char *s;
    int rv, loopback;
  } cases[] = {
      {"127.0.0.1:0", 0, 1},
      {"127.4.5.6:50051", 0, 1},
      {"[::1]:1", 0, 1},
      {"[::ffff:127.0.0.1]:1", 0, 1},
      {"localhost:8080", 0, 1},
      {"LocalHost:8080", 0, 1},
      {"0.0.0.0:0", 0, 0},
      {"[::]:0", 0, 0},
      {"10.1.2.3:443", 0, 0},
      {"128.0.0.1:1", 0, 0},
      {"example.com:1", 0, 0},
      {"localhost.example.com:1", 0, 0},
      {"127.0.0.1", PL_ERR_INVALID, 0},
      {"127.0.0.1:", PL_ERR_INVALID, 0},
      {"127.0.0.1:65536", PL_ERR_INVALID, 0},
      {"127.0.0.1:-1", PL_ERR_INVALID, 0},
      {":50051", PL_ERR_INVALID, 0},
      {"::1:50051", PL_ERR_INVALID, 0},
      {"[::1:50051", PL_ERR_INVALID, 0},
      {"[nope]:1", PL_ERR_INVALID, 0},
      {"bad host:1", PL_ERR_INVALID, 0},
      {"", PL_ERR_INVALID, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int loopback = -1;
    int rv = pl_rpc__parse_hostport(cases[i].s, &loopback);
    if (rv != cases[i].rv || (rv == 0 && loopback != cases[i].loopback)) {
      fprintf(stderr, "hostport '%s': rv %d loopback %d\n", cases[i].s, rv, loopback);
      CHECK(0);
    }
  }
  CHECK(pl_rpc__parse_hostport(NULL, &(int){0}) == PL_ERR_INVALID);
}

static void on_done_flag(void *arg) {
  *(int *)arg = 1;
}

static void test_listen_rules(void) {
  uv_loop_t loop;
  pl_rpc_server *s = NULL;
  CHECK(uv_loop_init(&loop) == 0);
  /* No token: only loopback. */
  const char *refused[] = {"0.0.0.0:0", "[::]:0", "10.1.2.3:5000", "example.com:1", "nope"};
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    pl_rpc_server_config cfg = {.listen = refused[i]};
    CHECK(pl_rpc_server_new(&s, &loop, &cfg) == PL_ERR_INVALID);
  }
  pl_rpc_server_config empty_token = {.listen = "127.0.0.1:0", .token = ""};
  CHECK(pl_rpc_server_new(&s, &loop, &empty_token) == PL_ERR_INVALID);
  pl_rpc_server_config bad_set = {.listen = "127.0.0.1:0",
                                  .descriptor_set = (const uint8_t *)"\xff\xff",
                                  .descriptor_set_len = 2};
  CHECK(pl_rpc_server_new(&s, &loop, &bad_set) == PL_ERR_PARSE);

  /* With a token any address is allowed. Never started here: the test binds nothing
   * outside loopback. Shutting down a server that never started still calls back. */
  pl_rpc_server_config tok = {.listen = "0.0.0.0:0", .token = "s3cret"};
  int done = 0;
  CHECK(pl_rpc_server_new(&s, &loop, &tok) == 0);
  pl_rpc_server_shutdown(s, 1000, on_done_flag, &done);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(done);

  pl_rpc_channel *ch;
  CHECK(pl_rpc_channel_new(&ch, &loop, "no port", NULL) == PL_ERR_INVALID);
  CHECK(uv_loop_close(&loop) == 0);
}

/* Three channels: no token, a wrong one, the right one. */
typedef struct auth_case {
  recorder r;
  pl_rpc_channel *ch;
  int *remaining;
} auth_case;

static void auth_then(recorder *r) {
  auth_case *ac = (auth_case *)r;
  pl_rpc_channel_free(ac->ch);
  if (--*ac->remaining == 0)
    harness_stop(r->h, 0);
}

static void test_tokens(void) {
  harness h;
  auth_case cases[3];
  const char *tokens[3] = {NULL, "wrong", "s3cret"};
  int remaining = 3;
  pl_rpc_server_config cfg = {.listen = "127.0.0.1:0", .token = "s3cret"};
  harness_init(&h, "bearer tokens", 30000);
  harness_start_server(&h, &cfg);
  for (int i = 0; i < 3; i++) {
    recorder_init(&cases[i].r, &h, auth_then);
    cases[i].remaining = &remaining;
    CHECK(pl_rpc_channel_new(&cases[i].ch, &h.loop, h.target, tokens[i]) == 0);
    Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
    req.name = "tok";
    CHECK(pl_rpc_unary(NULL, cases[i].ch, "/peerlink.test.Echo/Echo", &req.base, GSR,
                       &recorder_callbacks, &cases[i].r, 10000) == 0);
  }
  harness_run(&h);
  for (int i = 0; i < 2; i++) {
    CHECK(cases[i].r.got_status && cases[i].r.code == PL_RPC_UNAUTHENTICATED);
    CHECK(strcmp(cases[i].r.message, "missing or wrong bearer token") == 0);
    CHECK(cases[i].r.n_messages == 0);
  }
  CHECK(cases[2].r.got_status && cases[2].r.code == PL_RPC_OK);
  CHECK(strcmp(cases[2].r.name, "tok") == 0);
  /* Refused calls never reach the service. */
  CHECK(h.echo.requests == 1 && h.echo.done == 1);
}

/* A port another server holds is an error, not a second listener sharing it. */
static void test_port_in_use(void) {
  harness h;
  pl_rpc_server *other;
  int port = 0;
  harness_init(&h, "port in use", 30000);
  harness_start_server(&h, NULL);
  CHECK(pl_rpc_server_start(h.server, &port) == PL_ERR_STATE);
  pl_rpc_server_config cfg = {.listen = h.target};
  CHECK(pl_rpc_server_new(&other, &h.loop, &cfg) == 0);
  CHECK(pl_rpc_server_start(other, &port) == PL_ERR_IO);
  pl_rpc_server_shutdown(other, 0, NULL, NULL);
  /* "localhost" is loopback and binds. */
  pl_rpc_server_config local = {.listen = "localhost:0"};
  CHECK(pl_rpc_server_new(&other, &h.loop, &local) == 0);
  CHECK(pl_rpc_server_start(other, &port) == 0 && port > 0);
  pl_rpc_server_shutdown(other, 0, NULL, NULL);
  harness_stop(&h, 0);
  harness_run(&h);
}

int main(void) {
  test_hostport();
  test_port_in_use();
  test_listen_rules();
  test_tokens();
  printf("ok\n");
  return 0;
}
