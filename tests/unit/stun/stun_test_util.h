#ifndef PEERLINK_TESTS_STUN_TEST_UTIL_H
#define PEERLINK_TESTS_STUN_TEST_UTIL_H

/* Small helpers shared by the STUN tests: addresses and hex. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

static inline struct sockaddr_storage st_addr(const char *ip, uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
  }
  return ss;
}

/* 1 when `ss` is exactly ip:port (same family). */
static inline int st_is(const struct sockaddr_storage *ss, const char *ip, uint16_t port) {
  struct sockaddr_storage want = st_addr(ip, port);
  if (ss->ss_family != want.ss_family)
    return 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss, *b = (const void *)&want;
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss, *b = (const void *)&want;
  return a->sin6_port == b->sin6_port && !memcmp(&a->sin6_addr, &b->sin6_addr, 16);
}

static inline uint16_t st_port(const struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
                                  : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Decodes hex (whitespace ignored) into buf; returns the byte count. */
static inline size_t st_hex(uint8_t *buf, size_t cap, const char *hex) {
  size_t n = 0;
  int hi = -1;
  for (; *hex && n < cap; hex++) {
    int v;
    if (*hex >= '0' && *hex <= '9')
      v = *hex - '0';
    else if (*hex >= 'a' && *hex <= 'f')
      v = *hex - 'a' + 10;
    else if (*hex >= 'A' && *hex <= 'F')
      v = *hex - 'A' + 10;
    else
      continue;
    if (hi < 0) {
      hi = v;
    } else {
      buf[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  return n;
}

#endif
