/* rdv_scale's UDP phases, with the crowd still connected: STUN Binding requests answered per
 * second, and RELAY_DATA forwarded per second between the two sides of one pairing. Both run
 * with the loop stopped (the agents' connections idle meanwhile) and use sendmmsg/recvmmsg so
 * the generator keeps up with the rendezvous. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/wire/frame.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "tests/bench/scale.h"

#define BATCH 64
#define STUN_WINDOW 512
#define RELAY_BODY 1216 /* a 1200-byte payload and its tag: 1302-byte RELAY_DATA datagrams */

static int udp_socket(void) {
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int big = 8 << 20;
  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Receives what is waiting (up to BATCH datagrams); returns how many. */
static int drain(int fd, uint8_t (*bufs)[1500]) {
  struct mmsghdr m[BATCH];
  struct iovec iov[BATCH];
  memset(m, 0, sizeof m);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = 1500;
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
  return n < 0 ? 0 : n;
}

static int send_batch(int fd, const struct sockaddr_storage *to, uint8_t (*bufs)[1500],
                      const size_t *lens, int n) {
  struct mmsghdr m[BATCH];
  struct iovec iov[BATCH];
  memset(m, 0, sizeof m);
  for (int i = 0; i < n; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = lens[i];
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
    m[i].msg_hdr.msg_name = (void *)to;
    m[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
  }
  int k = sendmmsg(fd, m, (unsigned)n, 0);
  return k < 0 ? 0 : k;
}

static uint8_t out_bufs[BATCH][1500], in_bufs[BATCH][1500];

/* The rendezvous's CPU, both instances' with --rendezvous2 (either may own the UDP socket). */
static double rdv_cpu_s(const scale *s) {
  double a = pl_bench_proc_cpu_s(s->pid), b = s->pid2 ? pl_bench_proc_cpu_s(s->pid2) : 0;
  return a < 0 || b < 0 ? a : a + b;
}

int pl_scale_stun(scale *s, scale_udp_result *res) {
  size_t lens[BATCH];
  uint64_t outstanding = 0, last_answer;
  int fd = udp_socket();
  memset(res, 0, sizeof *res);
  if (fd < 0 || !s->has_udp)
    return PL_ERR_IO;
  for (int i = 0; i < BATCH; i++) {
    const uint8_t head[8] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    memcpy(out_bufs[i], head, 8);
    lens[i] = 20;
  }
  double cpu0 = rdv_cpu_s(s);
  uint64_t t0 = pl_bench_now_ns(), end = t0 + (uint64_t)(s->udp_seconds * 1e9), now = t0;
  last_answer = t0;
  while ((now = pl_bench_now_ns()) < end) {
    int room = (int)(STUN_WINDOW - outstanding);
    if (room > BATCH)
      room = BATCH;
    for (int i = 0; i < room; i++) {
      uint64_t tx = res->sent + (uint64_t)i;
      memcpy(out_bufs[i] + 8, &tx, 8);
      memset(out_bufs[i] + 16, 0, 4);
    }
    int k = room > 0 ? send_batch(fd, &s->udp_addr, out_bufs, lens, room) : 0;
    res->sent += (uint64_t)k;
    outstanding += (uint64_t)k;
    int got = drain(fd, in_bufs);
    res->answered += (uint64_t)got;
    outstanding -= (uint64_t)got < outstanding ? (uint64_t)got : outstanding;
    if (got > 0)
      last_answer = now;
    else if (now - last_answer > 50000000u) /* lost ones: the window opens again */
      outstanding = 0, last_answer = now;
    if (got == 0 && room <= 0) {
      struct pollfd pfd = {.fd = fd, .events = POLLIN};
      poll(&pfd, 1, 10);
    }
  }
  res->seconds = (double)(now - t0) / 1e9;
  res->per_s = (double)res->answered / res->seconds;
  double cpu = rdv_cpu_s(s) - cpu0;
  res->cpu_us_each = res->answered ? cpu * 1e6 / (double)res->answered : 0;
  close(fd);
  return 0;
}

/* RELAY_BIND from `fd` as `sender` until the rendezvous acknowledges it. */
static int bind_side(int fd, const struct sockaddr_storage *to, const pl_frame_keys *keys,
                     const uint8_t *pairing, const uint8_t *sender) {
  pl_frame f;
  size_t len;
  memset(&f, 0, sizeof f);
  f.type = PL_FRAME_RELAY_BIND;
  memcpy(f.pairing, pairing, PL_FRAME_PAIRING_LEN);
  memcpy(f.sender, sender, PL_FRAME_ID_LEN);
  for (int attempt = 1; attempt <= 5; attempt++) {
    f.seq = (uint64_t)attempt;
    f.txid = 0x5ca1e000u + (uint64_t)attempt;
    if (pl_frame_encode(out_bufs[0], sizeof out_bufs[0], &len, &f, keys) != 0)
      return PL_ERR_INVALID;
    send_batch(fd, to, out_bufs, &len, 1);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, 500) == 1 && drain(fd, in_bufs) > 0 &&
        in_bufs[0][0] == PL_FRAME_RELAY_BIND_ACK)
      return 0;
  }
  return PL_ERR_TIMEOUT;
}

int pl_scale_relay(scale *s, scale_udp_result *res) {
  spair *p = s->relay_pair;
  pl_frame_keys keys;
  uint8_t pairing[PL_FRAME_PAIRING_LEN], ida[PL_FRAME_ID_LEN], idb[PL_FRAME_ID_LEN];
  uint8_t inner[PL_FRAME_MAX_LEN], body[RELAY_BODY];
  size_t inner_len, lens[BATCH];
  memset(res, 0, sizeof *res);
  if (p == NULL || p->pairing_id[0] == '\0' || !s->has_udp || p->relay_port == 0)
    return PL_ERR_STATE;
  if (pl_frame_keys_derive(&keys, p->secret, sizeof p->secret) != 0 ||
      pl_hex_decode(pairing, sizeof pairing, p->pairing_id) != 0 ||
      pl_hex_decode(ida, sizeof ida, p->a->ag.ident->id) != 0 ||
      pl_hex_decode(idb, sizeof idb, p->b->ag.ident->id) != 0)
    return PL_ERR_INVALID;
  /* The offer's relay endpoint: its port on the host of --udp (behind one Redis the leader's,
   * which holds the relay table, whichever instance the agents registered with). */
  struct sockaddr_storage to = s->udp_addr;
  if (to.ss_family == AF_INET)
    ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)p->relay_port);
  else if (to.ss_family == AF_INET6)
    ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)p->relay_port);
  int fa = udp_socket(), fb = udp_socket();
  if (fa < 0 || fb < 0)
    return PL_ERR_IO;
  int rv = bind_side(fa, &to, &keys, pairing, ida);
  if (rv == 0)
    rv = bind_side(fb, &to, &keys, pairing, idb);
  if (rv != 0)
    goto out;

  /* The agents' own DATA frame, which the relay forwards without opening. */
  pl_frame d, f;
  memset(&d, 0, sizeof d);
  memset(body, 0xab, sizeof body);
  d.type = PL_FRAME_DATA;
  memcpy(d.pairing, pairing, sizeof d.pairing);
  memcpy(d.sender, ida, sizeof d.sender);
  d.seq = 1;
  d.payload = body;
  d.payloadlen = sizeof body;
  if ((rv = pl_frame_encode(inner, sizeof inner, &inner_len, &d, &keys)) != 0)
    goto out;
  f = d;
  f.type = PL_FRAME_RELAY_DATA;
  f.payload = inner;
  f.payloadlen = inner_len;
  uint64_t seq = 100;
  double cpu0 = rdv_cpu_s(s);
  uint64_t t0 = pl_bench_now_ns(), end = t0 + (uint64_t)(s->udp_seconds * 1e9), now;
  while ((now = pl_bench_now_ns()) < end) {
    for (int i = 0; i < BATCH; i++) {
      f.seq = seq++;
      if ((rv = pl_frame_encode(out_bufs[i], sizeof out_bufs[i], &lens[i], &f, &keys)) != 0)
        goto out;
    }
    res->sent += (uint64_t)send_batch(fa, &to, out_bufs, lens, BATCH);
    int got;
    while ((got = drain(fb, in_bufs)) > 0)
      res->answered += (uint64_t)got;
  }
  /* What is still on its way arrives within a few milliseconds on loopback. */
  for (struct pollfd pfd = {.fd = fb, .events = POLLIN}; poll(&pfd, 1, 100) == 1;)
    res->answered += (uint64_t)drain(fb, in_bufs);
  res->seconds = (double)(now - t0) / 1e9;
  res->per_s = (double)res->answered / res->seconds;
  double cpu = rdv_cpu_s(s) - cpu0;
  res->cpu_us_each = res->answered ? cpu * 1e6 / (double)res->answered : 0;
out:
  close(fa);
  close(fb);
  return rv;
}
