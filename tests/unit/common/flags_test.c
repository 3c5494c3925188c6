#include "control/common/err.h"
#include "control/common/flags.h"
#include "tests/unit/common/check.h"

static char *s_addr, *s_name;
static uint64_t u_ms, u_n;
static int b_on;

static const pl_flag flags[] = {
    {"addr", "PLT_ADDR", PL_FLAG_HOSTPORT, &s_addr, "127.0.0.1:1", "an address", 0, 0, 0},
    {"name", NULL, PL_FLAG_STRING, &s_name, "def", "a name", 0, 0, 0},
    {"interval", "PLT_INTERVAL", PL_FLAG_MILLIS, &u_ms, "5s", "a duration", 10, 60000, 1},
    {"count", NULL, PL_FLAG_UINT, &u_n, "3", "a count", 1, 10, 0},
    {"on", NULL, PL_FLAG_BOOL, &b_on, NULL, "a switch", 0, 0, 0},
};
#define N (sizeof flags / sizeof flags[0])

static int parse(int argc, char **argv, char *err) {
  int first;
  return pl_flags_parse(flags, N, argc, argv, &first, err, 256, "usage: t");
}

int main(void) {
  char err[256];
  char *a1[] = {"t", NULL};
  CHECK(parse(1, a1, err) == 0);
  CHECK(strcmp(s_addr, "127.0.0.1:1") == 0 && u_ms == 5000 && u_n == 3 && b_on == 0);

  char *a2[] = {"t", "--addr", "[::1]:0", "--interval=250ms", "--on", "--count", "10"};
  CHECK(parse(7, a2, err) == 0);
  CHECK(strcmp(s_addr, "[::1]:0") == 0 && u_ms == 250 && b_on == 1 && u_n == 10);

  char *a3[] = {"t", "--addr", "nohost"};
  CHECK(parse(3, a3, err) == PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--addr");

  char *a4[] = {"t", "--count", "11"};
  CHECK(parse(3, a4, err) == PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--count");
  CHECK_STR_CONTAINS(err, "out of range");

  char *a5[] = {"t", "--bogus"};
  CHECK(parse(2, a5, err) == PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--bogus");

  char *a6[] = {"t", "--addr"};
  CHECK(parse(2, a6, err) == PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "needs a value");

  /* The environment fills in when the command line is silent; seconds for prototype names. */
  setenv("PLT_INTERVAL", "2", 1);
  setenv("PLT_ADDR", "grpc://10.0.0.1:7800", 1);
  CHECK(parse(1, a1, err) == 0);
  CHECK(u_ms == 2000);
  CHECK(strcmp(s_addr, "10.0.0.1:7800") == 0);
  setenv("PLT_INTERVAL", "soon", 1);
  CHECK(parse(1, a1, err) == PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "PLT_INTERVAL");
  unsetenv("PLT_INTERVAL");
  unsetenv("PLT_ADDR");

  /* Flags before, between and after positional arguments; "--" ends them. */
  char *a7[] = {"t", "--on", "cmd", "--count", "5", "-", "arg", "--", "--count", "x"};
  int first = 0;
  CHECK_RV(pl_flags_parse_anywhere(flags, N, 10, a7, &first, err, 256, "usage: t"), 0);
  CHECK(b_on == 1 && u_n == 5);
  CHECK(first == 5);
  static const char *const a7_sorted[] = {"t",   "--on", "--count", "5",       "--",
                                          "cmd", "-",    "arg",     "--count", "x"};
  for (int i = 0; i < 10; i++)
    CHECK_STR_EQ(a7[i], a7_sorted[i]);
  char *a8[] = {"t", "cmd", "-x"};
  CHECK_RV(pl_flags_parse_anywhere(flags, N, 3, a8, &first, err, 256, "usage: t"), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "unknown flag -x");
  char *a9[] = {"t", "cmd", "--count"};
  CHECK_RV(pl_flags_parse_anywhere(flags, N, 3, a9, &first, err, 256, "usage: t"), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(err, "--count needs a value");
  char *a10[] = {"t", "cmd", "-h"};
  CHECK_RV(pl_flags_parse_anywhere(flags, N, 3, a10, &first, err, 256, "usage: t"), 1);
  char *a11[] = {"t"};
  CHECK_RV(pl_flags_parse_anywhere(flags, N, 1, a11, &first, err, 256, "usage: t"), 0);
  CHECK(first == 1);
  /* The plain parser stops at the first positional argument, a single-dash one included. */
  char *a12[] = {"t", "--on", "-x", "--count", "7"};
  CHECK_RV(pl_flags_parse(flags, N, 5, a12, &first, err, 256, "usage: t"), 0);
  CHECK(first == 2 && u_n == 3);
  char *a13[] = {"t", "-h"};
  CHECK_RV(pl_flags_parse(flags, N, 2, a13, &first, err, 256, "usage: t"), 1);

  char host[64];
  int port;
  CHECK(pl_hostport_split("127.0.0.1:80", host, &port) == 0 && port == 80);
  CHECK(pl_hostport_split("::1:80", host, &port) == PL_ERR_INVALID);
  CHECK(pl_hostport_split("h:65536", host, &port) == PL_ERR_INVALID);
  CHECK(pl_hostport_split("h:", host, &port) == PL_ERR_INVALID);
  CHECK(pl_host_is_loopback("127.8.0.1") && pl_host_is_loopback("::1") &&
        pl_host_is_loopback("localhost"));
  CHECK(!pl_host_is_loopback("0.0.0.0") && !pl_host_is_loopback("10.1.1.1") &&
        !pl_host_is_loopback("::"));
  printf("flags_test: ok\n");
  return 0;
}
