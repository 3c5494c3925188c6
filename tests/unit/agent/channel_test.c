/* agent/channel: the channel byte in front of every DATA plaintext (datagrams as they are, the
 * reliable channel's payloads behind 0x01), what it refuses, and two channels exchanging
 * messages both ways over a lossy link in synthetic time: each message once, in order, and
 * every one of ours ends ACKED, or FAILED when the channel is closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/channel.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

static void test_datagram_layout(void) {
  uint8_t out[PL_FRAME_MAX_PAYLOAD + 8];
  size_t n;
  CHECK_RV(pl_channel_datagram((const uint8_t *)"hi", 2, out, sizeof out, &n), 0);
  CHECK(n == 3 && out[0] == PL_CHANNEL_DATAGRAM && memcmp(out + 1, "hi", 2) == 0);
  CHECK_RV(pl_channel_datagram(NULL, 0, out, sizeof out, &n), 0);
  CHECK_U64(n, ==, 1);
  static uint8_t big[PL_FRAME_MAX_PAYLOAD];
  CHECK_RV(pl_channel_datagram(big, PL_CHANNEL_MAX_DATAGRAM, out, sizeof out, &n), 0);
  CHECK_U64(n, ==, PL_FRAME_MAX_PAYLOAD);
  CHECK_RV(pl_channel_datagram(big, PL_CHANNEL_MAX_DATAGRAM + 1, out, sizeof out, &n),
           PL_ERR_TOO_BIG);
  CHECK_RV(pl_channel_datagram(big, 10, out, 10, &n), PL_ERR_TOO_BIG);
  CHECK_RV(pl_channel_datagram(NULL, 1, out, sizeof out, &n), PL_ERR_INVALID);

  pl_channel *c;
  CHECK_RV(pl_channel_new(&c, NULL), 0);
  const uint8_t *data;
  size_t len;
  CHECK_RV(pl_channel_datagram((const uint8_t *)"hello", 5, out, sizeof out, &n), 0);
  CHECK_RV(pl_channel_recv(c, out, n, 0, &data, &len), 1);
  CHECK(len == 5 && data == out + 1 && memcmp(data, "hello", 5) == 0);
  /* Empty, unknown channels, a reliable payload that does not parse: dropped and counted. */
  static const uint8_t unknown[] = {0x02, 'x'}, bad_reliable[] = {PL_CHANNEL_RELIABLE, 0x07};
  CHECK_RV(pl_channel_recv(c, out, 0, 0, &data, &len), PL_ERR_PARSE);
  CHECK_RV(pl_channel_recv(c, unknown, sizeof unknown, 0, &data, &len), PL_ERR_PARSE);
  CHECK_RV(pl_channel_recv(c, bad_reliable, sizeof bad_reliable, 0, &data, &len), PL_ERR_PARSE);
  pl_channel_stats st;
  pl_channel_stats_get(c, &st);
  CHECK_U64(st.dropped, ==, 3);
  CHECK_U64(st.datagrams_received, ==, 1);
  pl_reliable_event ev;
  CHECK(pl_channel_next_event(c, &ev) == 0);
  pl_channel_del(c);
  pl_channel_del(NULL);

  /* The reliable part must leave room for the channel byte. */
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.max_payload = PL_CHANNEL_MAX_RELIABLE_PAYLOAD + 1;
  CHECK_RV(pl_channel_new(&c, &cfg), PL_ERR_INVALID);
  cfg.max_payload = PL_CHANNEL_MAX_RELIABLE_PAYLOAD;
  CHECK_RV(pl_channel_new(&c, &cfg), 0);
  uint8_t small[100];
  CHECK_RV(pl_channel_poll(c, 0, small, sizeof small, &n), PL_ERR_TOO_BIG);
  pl_channel_del(c);
}

/* One side of the exchange: what it sent and what it got. */
typedef struct end {
  pl_channel *c;
  uint64_t next_check; /* the next message number it expects from the other side */
  uint64_t delivered, acked, failed;
} end;

static uint32_t rng = 12345;
static int lost(int pct) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return (int)(rng % 100) < pct;
}

/* Message i of a side is "m<i>" padded to a size that crosses fragment boundaries now and then. */
static size_t message(uint64_t i, uint8_t *buf) {
  size_t len = (size_t)(i * 37 % 3000) + 8;
  memset(buf, (int)(i & 0xff), len);
  memcpy(buf, &i, sizeof i);
  return len;
}

static void drain(end *e) {
  pl_reliable_event ev;
  while (pl_channel_next_event(e->c, &ev)) {
    if (ev.type == PL_RELIABLE_EV_DELIVERED) {
      uint8_t want[4096];
      size_t wantlen = message(e->next_check, want);
      CHECK_MSG(ev.msg_id == e->next_check + 1, "message %llu delivered as #%llu",
                (unsigned long long)e->next_check + 1, (unsigned long long)ev.msg_id);
      CHECK(ev.len == wantlen && memcmp(ev.data, want, wantlen) == 0);
      e->next_check++;
      e->delivered++;
    } else if (ev.type == PL_RELIABLE_EV_ACKED) {
      e->acked++;
    } else {
      e->failed++;
    }
  }
}

/* Moves everything due from one end to the other (one-way delay 0, `loss` percent dropped). */
static void pump(end *from, end *to, uint64_t now, int loss) {
  uint8_t buf[PL_FRAME_MAX_PAYLOAD];
  size_t n;
  while (pl_channel_poll(from->c, now, buf, sizeof buf, &n) == 0 && n > 0) {
    CHECK(n <= PL_FRAME_MAX_PAYLOAD && buf[0] == PL_CHANNEL_RELIABLE);
    if (lost(loss))
      continue;
    const uint8_t *data;
    size_t len;
    int rv = pl_channel_recv(to->c, buf, n, now, &data, &len);
    CHECK(rv == 0);
    drain(to);
  }
  drain(from);
}

static void test_lossy_exchange(void) {
  enum { N = 2000 };
  end a = {0}, b = {0};
  CHECK_RV(pl_channel_new(&a.c, NULL), 0);
  CHECK_RV(pl_channel_new(&b.c, NULL), 0);
  uint64_t now = 1000, sent_a = 0, sent_b = 0;
  uint8_t buf[4096];
  while ((a.acked < N || b.acked < N) && now < 600000000ull) {
    /* Keep a few messages queued each way, as Send callers would. */
    while (sent_a < N && sent_a - a.acked < 64) {
      uint64_t id;
      CHECK_RV(pl_channel_send(a.c, buf, message(sent_a, buf), now, &id), 0);
      CHECK_U64(id, ==, ++sent_a);
    }
    while (sent_b < N && sent_b - b.acked < 64) {
      uint64_t id;
      CHECK_RV(pl_channel_send(b.c, buf, message(sent_b, buf), now, &id), 0);
      CHECK_U64(id, ==, ++sent_b);
    }
    pump(&a, &b, now, 20);
    pump(&b, &a, now, 20);
    uint64_t next = pl_channel_deadline(a.c), nb = pl_channel_deadline(b.c);
    next = nb < next ? nb : next;
    now = next > now && next != UINT64_MAX ? next : now + 1; /* idle: the loop sends more */
  }
  CHECK_U64(a.acked, ==, N);
  CHECK_U64(b.acked, ==, N);
  CHECK_U64(a.delivered, ==, N);
  CHECK_U64(b.delivered, ==, N);
  CHECK_U64(a.failed + b.failed, ==, 0);

  /* Closing fails what is still waiting, once each. */
  uint64_t id;
  CHECK_RV(pl_channel_send(a.c, buf, 10, now, &id), 0);
  CHECK_RV(pl_channel_send(a.c, buf, 10, now, &id), 0);
  pl_channel_close(a.c);
  drain(&a);
  CHECK_U64(a.failed, ==, 2);
  CHECK_RV(pl_channel_send(a.c, buf, 10, now, &id), PL_ERR_CLOSED);
  CHECK(pl_channel_deadline(a.c) == UINT64_MAX);
  pl_channel_del(a.c);
  pl_channel_del(b.c);
}

int main(void) {
  test_datagram_layout();
  test_lossy_exchange();
  printf("channel_test: ok\n");
  return 0;
}
