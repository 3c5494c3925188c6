/* agent/channel on hostile plaintexts: what a DATA frame that opened may hold is still up to
 * the peer, which may be broken. The input is a script of records
 *   op(1) dt(1) len(2, big-endian) data(len)
 * time advances dt ms first; then op % 3 == 0: data is a DATA plaintext from the peer (channel
 * byte first); 1: data is sent as a reliable message; 2: the channel is polled until quiet.
 * Checked: recv returns only 1 (a datagram pointing inside the input), 0, PL_ERR_PARSE,
 * PL_ERR_FULL or PL_ERR_CLOSED; polled plaintexts fit one DATA frame and carry the reliable
 * channel's byte; after polling until quiet no deadline is in the past; every message sent ends
 * in exactly one ACKED or FAILED by the close at the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/channel.h"
#include "control/common/err.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

static uint64_t queued, ended;

static void drain(pl_channel *c) {
  pl_reliable_event ev;
  while (pl_channel_next_event(c, &ev))
    if (ev.type != PL_RELIABLE_EV_DELIVERED)
      ended++;
}

static void poll_quiet(pl_channel *c, uint64_t now) {
  uint8_t buf[PL_FRAME_MAX_PAYLOAD];
  size_t n;
  for (int i = 0; i < 100000; i++) {
    ASSERT(pl_channel_poll(c, now, buf, sizeof buf, &n) == 0);
    if (n == 0)
      break;
    ASSERT(n <= PL_FRAME_MAX_PAYLOAD && buf[0] == PL_CHANNEL_RELIABLE);
  }
  drain(c);
  ASSERT(pl_channel_deadline(c) > now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_channel *c;
  if (pl_channel_new(&c, NULL) != 0)
    abort();
  queued = ended = 0;
  uint64_t now = 1000;
  size_t off = 0;
  while (off + 4 <= size) {
    uint8_t op = data[off];
    now += (uint64_t)data[off + 1] * 1000;
    size_t len = ((size_t)data[off + 2] << 8) | data[off + 3];
    off += 4;
    if (len > size - off)
      len = size - off;
    const uint8_t *d = data + off;
    off += len;
    if (op % 3 == 0) {
      const uint8_t *dg;
      size_t dglen;
      int rv = pl_channel_recv(c, d, len, now, &dg, &dglen);
      ASSERT(rv == 1 || rv == 0 || rv == PL_ERR_PARSE || rv == PL_ERR_FULL || rv == PL_ERR_CLOSED);
      if (rv == 1)
        ASSERT(dg == d + 1 && dglen == len - 1);
      drain(c);
    } else if (op % 3 == 1) {
      uint64_t id;
      int rv = pl_channel_send(c, d, len, now, &id);
      if (rv == 0)
        ASSERT(id == ++queued);
      else
        ASSERT(rv == PL_ERR_FULL || rv == PL_ERR_CLOSED || rv == PL_ERR_TOO_BIG);
    } else {
      poll_quiet(c, now);
    }
  }
  pl_channel_close(c);
  drain(c);
  ASSERT(ended == queued);
  pl_channel_stats st;
  pl_channel_stats_get(c, &st);
  pl_channel_del(c);
  return 0;
}
