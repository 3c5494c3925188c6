/* Socket addresses: parsing, formatting and conversion to and from protobuf Endpoints. */
#include "control/common/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "control/common/err.h"

int pl_addr_parse(struct sockaddr_storage *ss, const char *host, int port) {
  memset(ss, 0, sizeof *ss);
  if (port < 0 || port > 65535)
    return PL_ERR_INVALID;
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    return 0;
  }
  if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    return 0;
  }
  return PL_ERR_INVALID;
}

int pl_addr_from_endpoint(struct sockaddr_storage *ss, const Peerlink__V1__Endpoint *ep) {
  if (ep == NULL || ep->port == 0 || ep->port > 65535 || strcmp(ep->ip, "localhost") == 0)
    return PL_ERR_INVALID;
  return pl_addr_parse(ss, ep->ip, (int)ep->port);
}

int pl_addr_ip_port(const struct sockaddr *sa, char ip[64]) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, ip, 64);
    return ntohs(s4->sin_port);
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, ip, 64);
    return ntohs(s6->sin6_port);
  }
  snprintf(ip, 64, "?");
  return -1;
}

void pl_addr_format(const struct sockaddr *sa, char *buf, size_t cap) {
  char ip[64];
  int port = pl_addr_ip_port(sa, ip);
  if (sa->sa_family == AF_INET6)
    snprintf(buf, cap, "[%s]:%d", ip, port);
  else
    snprintf(buf, cap, "%s:%d", ip, port);
}

int pl_addr_equal(const struct sockaddr *a, const struct sockaddr *b) {
  if (a->sa_family != b->sa_family)
    return 0;
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->sa_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return 0;
}
