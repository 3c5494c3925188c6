/* Who may use the bridge (I/O-free): Host names, Origins, the token and its cookie, and the
 * exposed services. */

#include <string.h>

#include "control/bridge/access.h"
#include "control/bridge/reasons.h"
#include "control/bridge/services.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

static void test_host(void) {
  pl_bridge_access a = {.loopback = 1, .port = 7880};
  CHECK(pl_bridge_access_host_ok(&a, "127.0.0.1:7880"));
  CHECK(pl_bridge_access_host_ok(&a, "localhost:7880"));
  CHECK(pl_bridge_access_host_ok(&a, "[::1]:7880"));
  CHECK(pl_bridge_access_host_ok(&a, "127.1.2.3:7880"));
  CHECK(!pl_bridge_access_host_ok(&a, "127.0.0.1:7881"));
  CHECK(!pl_bridge_access_host_ok(&a, "rebind.example:7880"));
  CHECK(!pl_bridge_access_host_ok(&a, "localhost")); /* port 80 */
  CHECK(!pl_bridge_access_host_ok(&a, NULL));
  a.loopback = 0; /* off loopback the token guards, and the names are the operator's */
  CHECK(pl_bridge_access_host_ok(&a, "bridge.example:7880"));
}

static void test_origin(void) {
  const char *allow[] = {"http://localhost:5173"};
  pl_bridge_access a = {.loopback = 1, .port = 7880, .allow_origins = allow, .n_allow_origins = 1};
  int cross;
  CHECK(pl_bridge_access_origin_ok(&a, NULL, "127.0.0.1:7880", &cross) && !cross);
  CHECK(pl_bridge_access_origin_ok(&a, "http://127.0.0.1:7880", "127.0.0.1:7880", &cross) &&
        !cross);
  CHECK(pl_bridge_access_origin_ok(&a, "http://localhost:5173", "127.0.0.1:7880", &cross) && cross);
  CHECK(!pl_bridge_access_origin_ok(&a, "http://localhost:5174", "127.0.0.1:7880", &cross));
  CHECK(!pl_bridge_access_origin_ok(&a, "null", "127.0.0.1:7880", &cross));
  CHECK(!pl_bridge_access_origin_ok(&a, "https://127.0.0.1:7880", "127.0.0.1:7880", &cross));
  CHECK(!pl_bridge_access_origin_ok(&a, "http://evil.example", "127.0.0.1:7880", &cross));
  CHECK(!pl_bridge_access_origin_ok(&a, "http://127.0.0.1:7880", NULL, &cross));
}

static void test_token(void) {
  pl_bridge_access none = {0}, a = {.token = "s3cret"};
  CHECK(pl_bridge_access_token_ok(&none, NULL));
  CHECK(pl_bridge_access_token_ok(&a, "s3cret"));
  CHECK(!pl_bridge_access_token_ok(&a, NULL));
  CHECK(!pl_bridge_access_token_ok(&a, ""));
  CHECK(!pl_bridge_access_token_ok(&a, "s3cre"));
  CHECK(!pl_bridge_access_token_ok(&a, "s3crets"));
  CHECK(!pl_bridge_access_token_ok(&a, "S3cret"));
  char v[16];
  CHECK_RV(
      pl_bridge_cookie_value("a=1; peerlink_bridge_token=xyz; b=2", PL_BRIDGE_COOKIE, v, sizeof v),
      0);
  CHECK_STR_EQ(v, "xyz");
  CHECK_RV(pl_bridge_cookie_value("peerlink_bridge_token=last", PL_BRIDGE_COOKIE, v, sizeof v), 0);
  CHECK_STR_EQ(v, "last");
  CHECK_RV(pl_bridge_cookie_value("xpeerlink_bridge_token=no", PL_BRIDGE_COOKIE, v, sizeof v),
           PL_ERR_NOT_FOUND);
  CHECK_RV(pl_bridge_cookie_value("", PL_BRIDGE_COOKIE, v, sizeof v), PL_ERR_NOT_FOUND);
  CHECK_RV(pl_bridge_cookie_value("peerlink_bridge_token=0123456789abcdef", PL_BRIDGE_COOKIE, v,
                                  sizeof v),
           PL_ERR_TOO_BIG);
}

static void test_services(void) {
  pl_bridge_services s;
  CHECK_RV(pl_bridge_services_parse(&s, PL_BRIDGE_SERVICES_DEFAULT), 0);
  CHECK(s.n == 4);
  CHECK(pl_bridge_services_allow(&s, "/peerlink.v1.Agent/GetStatus"));
  CHECK(pl_bridge_services_allow(&s,
                                 "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
  CHECK(!pl_bridge_services_allow(&s, "/peerlink.v1.Rendezvous/Register"));
  CHECK(!pl_bridge_services_allow(&s, "/peerlink.v1.Agent"));
  CHECK(!pl_bridge_services_allow(&s, "/peerlink.v1.Agent/"));
  CHECK(!pl_bridge_services_allow(&s, "/peerlink.v1.Agent/a/b"));
  CHECK(!pl_bridge_services_allow(&s, "peerlink.v1.Agent/GetStatus"));
  CHECK(!pl_bridge_services_allow(&s, "/peerlink.v1.Agen/GetStatus"));
  CHECK(!pl_bridge_services_allow(&s, NULL));
  pl_bridge_services_free(&s);
  CHECK_RV(pl_bridge_services_parse(&s, "a.B,,c.D"), PL_ERR_INVALID);
  CHECK_RV(pl_bridge_services_parse(&s, ""), PL_ERR_INVALID);
  CHECK_RV(pl_bridge_services_parse(&s, "a/b"), PL_ERR_INVALID);
  CHECK_RV(pl_bridge_services_parse(&s, "only.One"), 0);
  CHECK(s.n == 1 && pl_bridge_services_allow(&s, "/only.One/M"));
  pl_bridge_services_free(&s);
}

static void test_counters_json(void) {
  pl_bridge_counters c = {0};
  c.calls_ws = 2;
  c.refused[PL_BRIDGE_R_BAD_TYPE] = 3;
  char buf[2048];
  int n = pl_bridge_counters_json(&c, buf, sizeof buf);
  CHECK(n > 0 && (size_t)n == strlen(buf));
  CHECK_STR_CONTAINS(buf, "\"calls_ws\":2");
  CHECK_STR_CONTAINS(buf, "\"bad_type\":3");
  CHECK_STR_CONTAINS(buf, "\"too_big\":0");
  char small[16];
  CHECK(pl_bridge_counters_json(&c, small, sizeof small) == n); /* the length it needs */
}

int main(void) {
  test_host();
  test_origin();
  test_token();
  test_services();
  test_counters_json();
  printf("access_test: ok\n");
  return 0;
}
