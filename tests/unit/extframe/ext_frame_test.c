/* Extension frames (0x24-0x27, agent/wire/frame.h): the codec peeks them but leaves their bodies
 * to their modules, RELAY_DATA carries them, the rendezvous's relay core forwards them, and
 * punching routes them on the selected path (direct as they are, relayed inside RELAY_DATA)
 * and hands a relayed one back whole, from the peer only. */
#include <string.h>

#include "agent/punch/punch.h"
#include "agent/wire/frame.h"
#include "control/rendezvous/relay.h"
#include "tests/unit/common/check.h"
#include "tests/unit/punch/sim.h"

#define S (1000000ull)

/* An extension frame of `len` bytes: the prefix, then a pattern its module would own. */
static void ext_frame(uint8_t *buf, size_t len, uint8_t type, const uint8_t *pairing) {
  buf[0] = type;
  buf[1] = 1;
  memcpy(buf + 2, pairing, PL_FRAME_PAIRING_LEN);
  for (size_t i = PL_FRAME_EXT_PREFIX; i < len; i++)
    buf[i] = (uint8_t)i;
}

static void test_codec(void) {
  static const uint8_t pairing[PL_FRAME_PAIRING_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t buf[PL_FRAME_MAX_LEN + 1], type, got[PL_FRAME_PAIRING_LEN];
  pl_frame_keys keys;
  pl_frame f;
  uint8_t secret[32] = {0};
  CHECK_RV(pl_frame_keys_derive(&keys, secret, sizeof secret), 0);
  for (uint8_t t = PL_FRAME_EXT_FIRST; t <= PL_FRAME_EXT_LAST; t++) {
    CHECK(pl_frame_is_ext(t));
    ext_frame(buf, PL_FRAME_EXT_MIN, t, pairing);
    CHECK_RV(pl_frame_peek(buf, PL_FRAME_EXT_MIN, &type, got), 0);
    CHECK(type == t);
    CHECK_MEM_EQ(got, pairing, sizeof pairing);
    /* The body is its module's: this codec does not parse it. */
    CHECK_RV(pl_frame_parse(&f, buf, PL_FRAME_EXT_MIN, &keys), PL_ERR_PARSE);
    CHECK_RV(pl_frame_peek(buf, PL_FRAME_EXT_MIN - 1, NULL, NULL), PL_ERR_PARSE);
    ext_frame(buf, PL_FRAME_MAX_LEN + 1, t, pairing);
    CHECK_RV(pl_frame_peek(buf, PL_FRAME_MAX_LEN, NULL, NULL), 0);
    CHECK_RV(pl_frame_peek(buf, PL_FRAME_MAX_LEN + 1, NULL, NULL), PL_ERR_PARSE);
    buf[1] = 2; /* another version */
    CHECK_RV(pl_frame_peek(buf, PL_FRAME_EXT_MIN, NULL, NULL), PL_ERR_PARSE);
  }
  CHECK(!pl_frame_is_ext(PL_FRAME_CLOSE) && !pl_frame_is_ext(PL_FRAME_RELAY_BIND));

  /* RELAY_DATA around one, in place; too short an inner frame is refused both ways. */
  uint8_t wrapped[PL_FRAME_MAX_LEN];
  size_t len;
  pl_frame outer = {.type = PL_FRAME_RELAY_DATA, .seq = 7};
  memcpy(outer.pairing, pairing, sizeof pairing);
  memset(outer.sender, 0x11, sizeof outer.sender);
  ext_frame(wrapped + PL_FRAME_RELAY_HEADROOM, 100, PL_FRAME_BENCH_DATA, pairing);
  outer.payload = wrapped + PL_FRAME_RELAY_HEADROOM;
  outer.payloadlen = 100;
  CHECK_RV(pl_frame_encode(wrapped, sizeof wrapped, &len, &outer, &keys), 0);
  CHECK_U64(len, ==, 100 + PL_FRAME_RELAY_OVERHEAD);
  CHECK_RV(pl_frame_parse(&f, wrapped, len, &keys), 0);
  CHECK(f.payloadlen == 100 && f.payload[0] == PL_FRAME_BENCH_DATA);
  /* The relay MAC covers the header, the inner prefix and the inner frame's own tag, not its
   * middle (the inner frame authenticates that end to end). */
  uint8_t copy[PL_FRAME_MAX_LEN];
  memcpy(copy, wrapped, len);
  copy[PL_FRAME_RELAY_HEADROOM + 50] ^= 1;
  CHECK_RV(pl_frame_parse(&f, copy, len, &keys), 0);
  size_t covered[] = {5, PL_FRAME_RELAY_HEADROOM + 3, PL_FRAME_RELAY_HEADROOM + 99, len - 1};
  for (size_t i = 0; i < sizeof covered / sizeof covered[0]; i++) {
    memcpy(copy, wrapped, len);
    copy[covered[i]] ^= 1;
    CHECK_RV(pl_frame_parse(&f, copy, len, &keys), PL_ERR_AUTH);
  }
  outer.payloadlen = PL_FRAME_EXT_MIN - 1;
  CHECK_RV(pl_frame_encode(wrapped, sizeof wrapped, &len, &outer, &keys), PL_ERR_INVALID);
  /* The largest that fits. */
  ext_frame(buf, PL_FRAME_EXT_MAX_RELAYED, PL_FRAME_QUIC, pairing);
  outer.payload = buf;
  outer.payloadlen = PL_FRAME_EXT_MAX_RELAYED;
  CHECK_RV(pl_frame_encode(wrapped, sizeof wrapped, &len, &outer, &keys), 0);
  CHECK_U64(len, ==, PL_FRAME_MAX_LEN);
  outer.payloadlen++;
  CHECK_RV(pl_frame_encode(wrapped, sizeof wrapped, &len, &outer, &keys), PL_ERR_TOO_BIG);
}

/* Host i's route; the frame it would send, wrapped when relayed. */
static size_t route_frame(sim *s, int i, uint8_t type, uint8_t *buf, size_t innerlen,
                          struct sockaddr_storage *dst, int *pwrap) {
  int via_tcp;
  size_t len = innerlen;
  CHECK_RV(pl_punch_route(s->h[i].p, dst, &via_tcp, pwrap), 0);
  CHECK(!via_tcp);
  ext_frame(buf + PL_FRAME_RELAY_HEADROOM, innerlen, type, s->pairing);
  if (*pwrap)
    CHECK_RV(pl_punch_wrap(s->h[i].p, buf, PL_FRAME_MAX_LEN, innerlen, &len), 0);
  else
    memmove(buf, buf + PL_FRAME_RELAY_HEADROOM, innerlen);
  return len;
}

static void test_direct_route(void) {
  sim s;
  uint8_t buf[PL_FRAME_MAX_LEN];
  struct sockaddr_storage dst;
  int wrap, via_tcp;
  sim_init(&s, SIM_OPEN, SIM_OPEN, 3);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK_RV(pl_punch_route(s.h[0].p, &dst, &via_tcp, &wrap), PL_ERR_STATE); /* no path yet */
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 2 * S));
  size_t len = route_frame(&s, 0, PL_FRAME_BENCH_CTRL, buf, 60, &dst, &wrap);
  CHECK(!wrap && len == 60 && buf[0] == PL_FRAME_BENCH_CTRL);
  struct sockaddr_in peer = sim_outside_addr(&s, 1, &s.h[0].inside);
  CHECK(((struct sockaddr_in *)&dst)->sin_port == peer.sin_port);
  /* Only inside RELAY_DATA may punching see one. */
  const uint8_t *payload;
  size_t payloadlen;
  CHECK_RV(pl_punch_recv(s.h[1].p, (const struct sockaddr *)&s.h[0].inside, 0, buf, len, s.now,
                         &payload, &payloadlen),
           PL_ERR_PARSE);
  /* Not an extension frame: refused. */
  buf[PL_FRAME_RELAY_HEADROOM] = PL_FRAME_DATA;
  CHECK_RV(pl_punch_wrap(s.h[0].p, buf, sizeof buf, 60, &len), PL_ERR_INVALID);
  sim_free(&s);
}

static void test_relayed(void) {
  sim s;
  uint8_t buf[PL_FRAME_MAX_LEN], out[PL_FRAME_MAX_LEN];
  struct sockaddr_storage dst;
  int wrap;
  sim_init(&s, SIM_SYMMETRIC, SIM_SYMMETRIC, 5);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_RELAY_UDP, 10 * S));
  size_t len = route_frame(&s, 0, PL_FRAME_BENCH_DATA, buf, 200, &dst, &wrap);
  CHECK(wrap && buf[0] == PL_FRAME_RELAY_DATA && len == 200 + PL_FRAME_RELAY_OVERHEAD);
  CHECK(((struct sockaddr_in *)&dst)->sin_port == s.relay.sin_port);

  /* The rendezvous's relay core forwards it unchanged. */
  struct sockaddr_in from = sim_outside_addr(&s, 0, &s.relay);
  pl_rdv_relay_out ro;
  CHECK_RV(pl_rdv_relay_recv_udp(&s.pairings, (const struct sockaddr *)&from, buf, len, out,
                                 sizeof out, &ro),
           0);
  CHECK_MSG(ro.action == PL_RDV_RELAY_TO_UDP, "dropped: %s", pl_rdv_relay_drop_name(ro.reason));
  CHECK(ro.len == len && memcmp(ro.data, buf, len) == 0);

  /* The peer gets the inner frame back, whole. */
  const uint8_t *payload;
  size_t payloadlen;
  CHECK_RV(pl_punch_recv(s.h[1].p, (const struct sockaddr *)&s.relay, 0, buf, len, s.now, &payload,
                         &payloadlen),
           2);
  CHECK(payloadlen == 200 && payload == buf + PL_FRAME_RELAY_HEADROOM);
  CHECK(payload[0] == PL_FRAME_BENCH_DATA && payload[199] == 199);

  /* Its own frame reflected back is not the peer's. */
  CHECK_RV(pl_punch_recv(s.h[0].p, (const struct sockaddr *)&s.relay, 0, buf, len, s.now, &payload,
                         &payloadlen),
           PL_ERR_AUTH);
  /* An inner frame naming another pairing is refused. */
  len = route_frame(&s, 0, PL_FRAME_BENCH_DATA, buf, 200, &dst, &wrap);
  buf[PL_FRAME_RELAY_HEADROOM + 2] ^= 1;
  CHECK_RV(pl_punch_wrap(s.h[0].p, buf, sizeof buf, 200, &len), 0);
  CHECK_RV(pl_punch_recv(s.h[1].p, (const struct sockaddr *)&s.relay, 0, buf, len, s.now, &payload,
                         &payloadlen),
           PL_ERR_AUTH);
  /* Too big to be relayed. */
  CHECK_RV(pl_punch_wrap(s.h[0].p, buf, sizeof buf, PL_FRAME_EXT_MAX_RELAYED + 1, &len),
           PL_ERR_TOO_BIG);
  sim_free(&s);
}

int main(void) {
  test_codec();
  test_direct_route();
  test_relayed();
  printf("ext_frame_test: ok\n");
  return 0;
}
