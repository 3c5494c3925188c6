/* The UDP transport on 127.0.0.1: datagrams reach the receiver registered for their first
 * byte, what no receiver takes is counted, a receiver's flush runs after the reads that fed it,
 * a send the kernel refuses says why, and only a closed transport refuses to send. */

#include <stdio.h>
#include <string.h>

#include "agent/transport.h"
#include "control/common/addr.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

typedef struct counts {
  int recv, flush, flush_after_recv, total;
  uint8_t last_first_byte;
} counts;

static counts stun, frames;
static int received_all, closed;

static void on_stun(void *arg, const struct sockaddr *from, const uint8_t *data, size_t len) {
  counts *c = arg;
  (void)from;
  CHECK(len >= 20);
  c->recv++;
  c->last_first_byte = data[0];
}

static void on_stun_flush(void *arg) {
  counts *c = arg;
  c->flush++;
  c->flush_after_recv = c->recv > 0;
}

static void on_frame(void *arg, const struct sockaddr *from, const uint8_t *data, size_t len) {
  counts *c = arg;
  (void)from;
  (void)len;
  c->recv++;
  c->last_first_byte = data[0];
}

static void on_closed(void *arg) {
  *(int *)arg = 1;
}

static uint64_t total_received(const pl_transport *t) {
  uint64_t n = 0;
  for (int k = 0; k < PL_TRANSPORT_KINDS; k++)
    n += t->stats.received[k];
  return n;
}

static void on_deadline(uv_timer_t *t) {
  (void)t;
  CHECK_MSG(0, "the datagrams did not all arrive within 5 s");
}

static void on_poll(uv_idle_t *h) {
  pl_transport *rx = h->data;
  if (total_received(rx) == 5) {
    received_all = 1;
    uv_idle_stop(h);
  }
}

int main(void) {
  uv_loop_t loop;
  pl_transport tx, rx;
  struct sockaddr_storage lo, port0;
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pl_addr_parse(&lo, "127.0.0.1", 0) == 0);
  CHECK_RV(pl_transport_open(&tx, &loop, (const struct sockaddr *)&lo), 0);
  CHECK_RV(pl_transport_open(&rx, &loop, (const struct sockaddr *)&lo), 0);
  pl_transport_set_receiver(&rx, PL_DEMUX_STUN, on_stun, on_stun_flush, &stun);
  pl_transport_set_receiver(&rx, PL_DEMUX_FRAME, on_frame, NULL, &frames);
  char text[80];
  pl_transport_local_text(&rx, text, sizeof text);
  CHECK_STR_CONTAINS(text, "127.0.0.1:");

  uint8_t stun_msg[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  uint8_t frame[40] = {0x22}, quic[30] = {0x41}, noise[10] = {0x10};
  const struct sockaddr *dst = (const struct sockaddr *)&rx.local;
  CHECK_RV(pl_transport_send(&tx, dst, stun_msg, sizeof stun_msg), 0);
  CHECK_RV(pl_transport_send(&tx, dst, frame, sizeof frame), 0);
  CHECK_RV(pl_transport_send(&tx, dst, quic, sizeof quic), 0); /* nobody takes QUIC yet */
  CHECK_RV(pl_transport_send(&tx, dst, noise, sizeof noise), 0);
  CHECK_RV(pl_transport_send(&tx, dst, noise, 0), 0); /* empty */
  CHECK_U64(tx.stats.sent, ==, 5);

  uv_timer_t deadline;
  uv_idle_t poll;
  uv_timer_init(&loop, &deadline);
  uv_timer_start(&deadline, on_deadline, 5000, 0);
  uv_idle_init(&loop, &poll);
  poll.data = &rx;
  uv_idle_start(&poll, on_poll);
  while (!received_all || stun.flush == 0)
    uv_run(&loop, UV_RUN_ONCE);
  CHECK_U64(stun.recv, ==, 1);
  CHECK_U64(stun.flush, ==, 1);
  CHECK(stun.flush_after_recv);
  CHECK_U64(frames.recv, ==, 1);
  CHECK_U64(frames.last_first_byte, ==, 0x22);
  CHECK_U64(rx.stats.received[PL_DEMUX_QUIC], ==, 1);
  CHECK_U64(rx.stats.received[PL_DEMUX_DROP], ==, 2);
  CHECK_U64(rx.stats.unclaimed, ==, 3);

  /* The kernel refuses a datagram to port 0: the caller hears of it, and why. */
  CHECK(pl_addr_parse(&port0, "127.0.0.1", 0) == 0);
  CHECK_STR_EQ(pl_transport_last_error(&tx), "");
  CHECK_RV(pl_transport_send(&tx, (const struct sockaddr *)&port0, frame, sizeof frame), PL_ERR_IO);
  CHECK_U64(tx.stats.send_failed, ==, 1);
  CHECK(pl_transport_last_error(&tx)[0] != '\0');

  /* Closing is the only thing that stops sends. */
  pl_transport_close(&tx, on_closed, &closed);
  pl_transport_close(&tx, NULL, NULL); /* a second close is harmless */
  CHECK_RV(pl_transport_send(&tx, dst, frame, sizeof frame), PL_ERR_CLOSED);
  pl_transport_close(&rx, NULL, NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
  uv_close((uv_handle_t *)&poll, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(closed);
  CHECK(uv_loop_close(&loop) == 0);
  printf("transport_test: ok\n");
  return 0;
}
