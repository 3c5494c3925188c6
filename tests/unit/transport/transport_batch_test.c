/* The transport's hot path on 127.0.0.1: a batch goes out in few system calls (GSO, or sendmmsg
 * when GSO is off) and arrives as the same datagrams in order (split from GRO reads); a flood
 * is read a bounded number of system calls per loop wake-up, with other callbacks running in
 * between; a writable waiter is called once; refusals say why. */
#include <stdio.h>
#include <string.h>

#include "agent/transport.h"
#include "control/common/addr.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

typedef struct sink {
  uint64_t n, bytes, bad, iterations_seen;
  uint64_t last_iteration, spread; /* loop iterations that delivered something */
  uint32_t next;                   /* expected index */
} sink;

static uint64_t iteration;

static void on_frame(void *arg, const struct sockaddr *from, const uint8_t *data, size_t len) {
  sink *s = arg;
  uint32_t idx;
  (void)from;
  memcpy(&idx, data + 4, sizeof idx);
  if (data[0] != PL_FRAME_BENCH_DATA || idx != s->next)
    s->bad++;
  s->next = idx + 1;
  s->n++;
  s->bytes += len;
  if (s->last_iteration != iteration) {
    s->last_iteration = iteration;
    s->spread++;
  }
}

static void on_prepare(uv_prepare_t *p) {
  (void)p;
  iteration++;
}

static int writable_calls;
static void on_writable(void *arg) {
  (void)arg;
  writable_calls++;
}

static void on_deadline(uv_timer_t *t) {
  sink *s = t->data;
  CHECK_MSG(0, "only %llu datagrams arrived within 10 s", (unsigned long long)s->n);
}

/* `count` datagrams of `seg` bytes (the last `last` bytes), numbered from `first`. */
static size_t fill(uint8_t *buf, uint32_t first, size_t count, size_t seg, size_t last) {
  size_t off = 0;
  for (size_t i = 0; i < count; i++) {
    size_t len = i + 1 == count ? last : seg;
    uint32_t idx = first + (uint32_t)i;
    memset(buf + off, 0, len);
    buf[off] = PL_FRAME_BENCH_DATA;
    memcpy(buf + off + 4, &idx, sizeof idx);
    off += len;
  }
  return off;
}

static void run_until(uv_loop_t *loop, sink *s, uint64_t n) {
  uv_timer_t deadline;
  uv_timer_init(loop, &deadline);
  deadline.data = s;
  uv_timer_start(&deadline, on_deadline, 10000, 0);
  while (s->n < n)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&deadline, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static uint8_t buf[64 * 1000 * 2];

int main(void) {
  uv_loop_t loop;
  pl_transport tx, rx;
  struct sockaddr_storage lo, port0;
  uv_prepare_t prep;
  sink s = {0};
  size_t sent;
  CHECK(uv_loop_init(&loop) == 0);
  uv_prepare_init(&loop, &prep);
  uv_prepare_start(&prep, on_prepare);
  CHECK(pl_addr_parse(&lo, "127.0.0.1", 0) == 0);
  CHECK_RV(pl_transport_open(&tx, &loop, (const struct sockaddr *)&lo), 0);
  CHECK_RV(pl_transport_open(&rx, &loop, (const struct sockaddr *)&lo), 0);
  pl_transport_set_receiver(&rx, PL_DEMUX_FRAME, on_frame, NULL, &s);
  const struct sockaddr *dst = (const struct sockaddr *)&rx.local;

  /* 100 datagrams of 1000 bytes, the last of 500, in one call. */
  size_t len = fill(buf, 0, 100, 1000, 500);
  CHECK_RV(pl_transport_send_batch(&tx, dst, buf, len, 1000, &sent), 0);
  CHECK_U64(sent, ==, len);
  CHECK_U64(tx.stats.sent, ==, 100);
  CHECK_U64(tx.stats.batch_calls, <=, 2); /* 64 a call */
  run_until(&loop, &s, 100);
  CHECK_U64(s.bad, ==, 0);
  CHECK_U64(s.bytes, ==, len);
  CHECK_U64(rx.stats.read_calls, <, 100); /* several datagrams per system call */

  /* The same without GSO: sendmmsg, 64 a call. */
  tx.gso = 0;
  len = fill(buf, 100, 100, 1000, 1000);
  CHECK_RV(pl_transport_send_batch(&tx, dst, buf, len, 1000, &sent), 0);
  CHECK_U64(sent, ==, len);
  CHECK_U64(tx.stats.batch_calls, <=, 4);
  run_until(&loop, &s, 200);
  CHECK_U64(s.bad, ==, 0);
  tx.gso = 1;

  /* A flood queued before the loop runs: more than one wake-up's worth of reads. Each GSO send
   * of 64 small datagrams is one read slot with GRO, one per datagram without. */
  uint64_t capped = rx.stats.capped, before = s.n;
  uint32_t next = 200;
  size_t slots_needed = (size_t)PL_TRANSPORT_SLOTS * PL_TRANSPORT_READS_PER_WAKEUP * 2;
  for (size_t i = 0; i < slots_needed; i++) {
    len = fill(buf, next, 64, 100, 100);
    CHECK_RV(pl_transport_send_batch(&tx, dst, buf, len, 100, &sent), 0);
    next += 64;
  }
  s.spread = 0;
  run_until(&loop, &s, before + 64 * slots_needed);
  CHECK_U64(s.bad, ==, 0);
  CHECK_U64(rx.stats.capped, >, capped);
  CHECK_U64(s.spread, >=, 2); /* other callbacks ran between the reads */

  /* A writable waiter is called once, and only once per registration. */
  CHECK_RV(pl_transport_notify_writable(&tx, on_writable, NULL), 0);
  CHECK_RV(pl_transport_notify_writable(&tx, on_writable, NULL), 0); /* not twice */
  for (int i = 0; i < 100 && writable_calls == 0; i++)
    uv_run(&loop, UV_RUN_ONCE);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_U64(writable_calls, ==, 1);
  CHECK_RV(pl_transport_notify_writable(&tx, on_writable, NULL), 0);
  pl_transport_cancel_writable(&tx, on_writable, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_U64(writable_calls, ==, 1);

  /* Refusals. */
  CHECK_RV(pl_transport_send_batch(&tx, dst, buf, 100, 0, &sent), PL_ERR_INVALID);
  CHECK(pl_addr_parse(&port0, "127.0.0.1", 0) == 0);
  CHECK_RV(pl_transport_send_batch(&tx, (const struct sockaddr *)&port0, buf, 2000, 1000, &sent),
           PL_ERR_IO);
  CHECK(sent == 0 && pl_transport_last_error(&tx)[0] != '\0');
  pl_transport_close(&tx, NULL, NULL);
  CHECK_RV(pl_transport_send_batch(&tx, dst, buf, 2000, 1000, &sent), PL_ERR_CLOSED);
  CHECK_RV(pl_transport_notify_writable(&tx, on_writable, NULL), PL_ERR_CLOSED);
  pl_transport_close(&rx, NULL, NULL);
  uv_close((uv_handle_t *)&prep, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  printf("transport_batch_test: ok (gro=%d, reads=%llu for %llu datagrams)\n", rx.gro,
         (unsigned long long)rx.stats.read_calls, (unsigned long long)s.n);
  return 0;
}
