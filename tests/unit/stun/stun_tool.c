/* Command-line face of the codec for crosscheck.py (an independent Python implementation):
 *   stun_tool request TXID            encoded Binding request, hex
 *   stun_tool success TXID IP PORT    encoded success response, hex
 *   stun_tool error TXID CODE         encoded error response, hex
 *   stun_tool respond IP PORT HEX     pl_stun_respond's answer to HEX from IP:PORT, or "drop"
 *   stun_tool parse HEX               "type=… mapped=IP:PORT|- fp=… error=… unknown=…", or
 *                                     "error" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/stun.h"
#include "control/common/addr.h"
#include "control/common/hex.h"
#include "tests/unit/common/test_addr.h"

static void print_hex(const uint8_t *b, size_t n) {
  char hex[2 * PL_STUN_BUF_LEN + 1];
  pl_hex_encode(hex, b, n);
  printf("%s\n", hex);
}

static pl_stun_txid txid_arg(const char *hex) {
  pl_stun_txid t;
  if (pl_hex_decode(t.b, sizeof t.b, hex) != 0) {
    fprintf(stderr, "txid must be 24 hex digits\n");
    exit(2);
  }
  return t;
}

int main(int argc, char **argv) {
  uint8_t in[2048], out[PL_STUN_BUF_LEN];
  size_t n = 0;
  int rv = -1;
  if (argc == 3 && !strcmp(argv[1], "request")) {
    pl_stun_txid t = txid_arg(argv[2]);
    rv = pl_stun_encode_request(out, sizeof out, &n, &t);
  } else if (argc == 5 && !strcmp(argv[1], "success")) {
    pl_stun_txid t = txid_arg(argv[2]);
    struct sockaddr_storage a = pl_test_addr(argv[3], (uint16_t)atoi(argv[4]));
    rv = pl_stun_encode_success(out, sizeof out, &n, &t, (struct sockaddr *)&a);
  } else if (argc == 4 && !strcmp(argv[1], "error")) {
    pl_stun_txid t = txid_arg(argv[2]);
    rv = pl_stun_encode_error(out, sizeof out, &n, &t, atoi(argv[3]), NULL);
  } else if (argc == 5 && !strcmp(argv[1], "respond")) {
    struct sockaddr_storage a = pl_test_addr(argv[2], (uint16_t)atoi(argv[3]));
    size_t len = pl_test_unhex(in, sizeof in, argv[4]);
    if (pl_stun_respond(out, sizeof out, &n, in, len, (struct sockaddr *)&a) != 0) {
      printf("drop\n");
      return 0;
    }
    rv = 0;
  } else if (argc == 3 && !strcmp(argv[1], "parse")) {
    size_t len = pl_test_unhex(in, sizeof in, argv[2]);
    pl_stun_msg m;
    if (pl_stun_parse(&m, in, len) != 0) {
      printf("error\n");
      return 0;
    }
    char ip[64] = "-";
    int port = 0;
    if (m.has_mapped)
      port = pl_addr_ip_port((const struct sockaddr *)&m.mapped, ip);
    printf("type=0x%04x mapped=%s:%d fp=%d error=%d unknown=%d\n", m.type, ip, port,
           m.has_fingerprint, m.error_code, m.unknown_required);
    return 0;
  } else {
    fprintf(stderr, "usage: see the comment at the top of stun_tool.c\n");
    return 2;
  }
  if (rv != 0) {
    printf("fail %d\n", rv);
    return 0;
  }
  print_hex(out, n);
  return 0;
}
