#ifndef PEERLINK_COMMON_ADDR_H
#define PEERLINK_COMMON_ADDR_H

/* Conversions between socket addresses and protobuf Endpoints (numeric addresses only: no DNS
 * on a loop thread). */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "peerlink/v1/common.pb-c.h"

/* Endpoint → sockaddr (numeric IPv4/IPv6 only). Returns 0 or PL_ERR_INVALID. */
int pl_addr_from_endpoint(struct sockaddr_storage *ss, const Peerlink__V1__Endpoint *ep);
/* "IP" text and port of ss; ip must hold 64 bytes. Returns the port, or -1. */
int pl_addr_ip_port(const struct sockaddr *sa, char ip[64]);
/* "IP:PORT" / "[IP]:PORT". */
void pl_addr_format(const struct sockaddr *sa, char *buf, size_t cap);
/* Numeric host (or "localhost") and port → sockaddr. Returns 0 or PL_ERR_INVALID. */
int pl_addr_parse(struct sockaddr_storage *ss, const char *host, int port);
int pl_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
