/* The UDP benchmark's data path: BENCH_DATA frames sealed PL_BENCH_SLOTS at a time into one
 * buffer (allocated once per run), sent with one GSO or sendmmsg call per batch straight to the
 * path's destination (inside RELAY_DATA, wrapped in place, when the path is relayed). A full
 * socket keeps the sealed rest for when it has room; the pump yields to the loop after
 * PUMP_BATCHES calls so the control API stays responsive. */
#include <stdlib.h>
#include <string.h>

#include "agent/bench_glue.h"
#include "control/common/err.h"

#define PUMP_BATCHES 8
#define STREAM_RETRY_US 5000   /* the Register stream's queue was full */
#define WRITABLE_WAIT_US 20000 /* the writable callback normally comes first */

static const char *udp_unavailable(pl_agent *a, const pl_link *l) {
  (void)a;
  return l->path.kind == PL_PATH_NONE ? "no path to the peer" : NULL;
}

static uint32_t udp_max_chunk(const pl_link *l) {
  return l->path.kind == PL_PATH_DIRECT ? PL_FRAME_MAX_LEN : PL_FRAME_EXT_MAX_RELAYED;
}

static void on_writable(void *arg) {
  pl_bench_run *r = arg;
  r->hold_until = 0;
  pl_bench__service(r);
}

/* Seals the next batch into r->buf. Returns 0 when there was nothing to seal (rate, end, or no
 * path right now: the frames wait rather than take numbers they could not use). */
static int refill(pl_bench_run *r, pl_link *l, uint64_t now) {
  int wrap;
  size_t chunk = pl_bench_params_get(r->b)->chunk, len, n = 0;
  if (pl_punch_route(l->punch, &r->dst, &r->via_tcp, &wrap) != 0)
    return 0;
  /* The path moved to the relay under a chunk only a direct path carries: wait (the frames
   * would take numbers and never leave; the receiver reports the gap's silence). */
  if (wrap && chunk > PL_FRAME_EXT_MAX_RELAYED)
    return 0;
  r->stride = wrap ? chunk + PL_FRAME_RELAY_OVERHEAD : chunk;
  if (r->buf == NULL && (r->buf = malloc(PL_BENCH_SLOTS * (PL_FRAME_MAX_LEN + 64))) == NULL)
    return 0;
  if (!wrap) {
    n = pl_bench_fill(r->b, now, r->buf, PL_BENCH_SLOTS * chunk, &len);
  } else {
    /* One at a time, each where RELAY_DATA wants its inner frame. */
    for (; n < PL_BENCH_SLOTS; n++) {
      uint8_t *slot = r->buf + n * r->stride;
      size_t wlen;
      if (pl_bench_fill(r->b, now, slot + PL_FRAME_RELAY_HEADROOM, chunk, &len) != 1 ||
          pl_punch_wrap(l->punch, slot, r->stride, chunk, &wlen) != 0)
        break;
    }
  }
  r->pend_off = 0;
  r->pend_len = n * r->stride;
  return n > 0;
}

/* Sends what is pending. Returns 0, PL_ERR_FULL (the rest waits), or another error (the rest is
 * dropped: counted as sent, so the receiver reports it lost). */
static int flush(pl_bench_run *r, pl_link *l) {
  pl_agent *a = r->ab->a;
  while (r->pend_len > 0) {
    size_t sent = 0;
    int rv;
    if (r->via_tcp) {
      rv = a->links.io.send_stream(a->links.io.arg, l->pairing_id, r->buf + r->pend_off, r->stride);
      sent = rv == 0 ? r->stride : 0;
    } else {
      rv = pl_transport_send_batch(&a->transport, (const struct sockaddr *)&r->dst,
                                   r->buf + r->pend_off, r->pend_len, r->stride, &sent);
    }
    r->pend_off += sent;
    r->pend_len -= sent;
    if (rv == PL_ERR_FULL)
      return rv;
    if (rv != 0) {
      r->pend_len = 0;
      return rv;
    }
  }
  return 0;
}

static void udp_pump(pl_bench_run *r, pl_link *l, uint64_t now) {
  for (int i = 0; i < PUMP_BATCHES; i++) {
    if (r->pend_len == 0 && !refill(r, l, now))
      break;
    if (flush(r, l) == PL_ERR_FULL) {
      pl_bench__keep_pumping(r, 0);
      /* The socket says when it has room; the stream relay does not, so its queue is retried a
       * little later. */
      if (r->via_tcp)
        r->hold_until = now + STREAM_RETRY_US;
      else if (pl_transport_notify_writable(&r->ab->a->transport, on_writable, r) == 0)
        r->hold_until = now + WRITABLE_WAIT_US;
      return;
    }
  }
  r->hold_until = 0;
  pl_bench__keep_pumping(r, pl_bench_sending(r->b) && pl_bench_deadline(r->b, now) <= now);
}

static void udp_stop(pl_bench_run *r) {
  pl_transport_cancel_writable(&r->ab->a->transport, on_writable, r);
  r->pend_len = 0;
}

const pl_bench_xport_ops pl_bench__udp = {
    .name = "udp",
    .unavailable = udp_unavailable,
    .max_chunk = udp_max_chunk,
    .pump = udp_pump,
    .stop = udp_stop,
};
