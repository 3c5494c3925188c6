#ifndef PEERLINK_AGENT_ADDR_H
#define PEERLINK_AGENT_ADDR_H

/* Conversions between socket addresses, protobuf Endpoints and hex IDs. */

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

/* Lowercase hex of `len` bytes into out (2*len+1 bytes). */
void pl_hex_encode(char *out, const uint8_t *in, size_t len);
/* Exactly 2*len hex characters → bytes. Returns 0 or PL_ERR_INVALID. */
int pl_hex_decode(uint8_t *out, size_t len, const char *hex);

#endif
