#ifndef PEERLINK_TESTS_STUN_NET_H
#define PEERLINK_TESTS_STUN_NET_H

/* Drives the I/O-free STUN client over real loopback UDP sockets, optionally with our own
 * responder (pl_stun_respond) behind server sockets. Waits with poll() and a deadline. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent/stun_client.h"

uint64_t st_now_us(void);

/* A UDP socket bound to ip:0; its address in *bound. Returns the fd or -1. */
int st_udp_bind(const char *ip, struct sockaddr_storage *bound);

typedef struct st_net {
  int client_fd;
  const int *server_fds; /* our responders; may be NULL */
  size_t nservers;
  /* The last datagram the client accepted (0 from pl_stun_client_recv). */
  uint8_t last[1500];
  size_t last_len;
  size_t accepted, ignored; /* counts of client recv results */
} st_net;

/* Runs until done(c) is true or `timeout_us` passes. Returns 1 when done, 0 on timeout. */
int st_drive(st_net *n, pl_stun_client *c, int (*done)(pl_stun_client *), uint64_t timeout_us);

#endif
