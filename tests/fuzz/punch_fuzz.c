/* The punch state machine fed fuzzed datagrams over fuzzed time, with a fixed configuration
 * (the seal tests' known-answer agents: we are A, the peer is B).
 * Input: records of [flags(1)][length(2, big-endian)][datagram]. Flags:
 *   bit 0    sign: set the pairing ID, then the MAC (RELAY_DATA: the inner frame's first); a
 *            DATA frame is sealed under B's end-to-end key instead (its last 16 bytes become
 *            the tag), so the fuzzer reaches what follows a DATA frame that opens
 *   bit 1    with bit 0, set the sender to the peer's ID (the inner one too)
 *   bit 2    arrived over the Register stream (via_tcp)
 *   bits 3-4 source: peer host candidate, peer srflx candidate, the relay, a stranger
 *   bits 5-7 advance the clock by that many quarter seconds first
 * After each datagram everything due is polled, as the glue does; a deadline in the past after
 * that would make the glue spin, so it aborts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/punch/punch.h"
#include "agent/wire/frame.h"
#include "agent/wire/seal.h"
#include "tests/fuzz/frame_sign.h"
#include "tests/unit/seal/fixture.h"

#define MAX_RECORDS 256

static const uint8_t pairing[PL_FRAME_PAIRING_LEN] = {0x01, 0x23, 0x45, 0x67,
                                                      0x89, 0xab, 0xcd, 0xef};

static struct sockaddr_storage addr(const char *ip, uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *s = (struct sockaddr_in *)&ss;
  s->sin_family = AF_INET;
  s->sin_port = htons(port);
  inet_pton(AF_INET, ip, &s->sin_addr);
  return ss;
}

static fixture_agent self, peer;

/* B's sealing context for one input (a fresh one each time: pl_seal remembers its last seq). */
static pl_seal_keys *peer_sealer(void) {
  static pl_seal_secrets sec;
  static int done;
  pl_seal_keys *k = NULL;
  if (!done) {
    uint8_t secret[32];
    fixture_secret(secret);
    if (pl_seal_derive(&sec, peer.sec1, sizeof peer.sec1, self.spki, sizeof self.spki, peer.id,
                       self.id, pairing, secret, sizeof secret) != 0)
      abort();
    done = 1;
  }
  if (pl_seal_keys_new(&k, &sec) != 0)
    abort();
  return k;
}

static void fix_and_sign(pl_seal_keys *sealer, uint8_t *d, size_t len, int set_sender) {
  if (len < PL_FRAME_HEADER_LEN)
    return;
  memcpy(d + 2, pairing, PL_FRAME_PAIRING_LEN);
  if (set_sender)
    memcpy(d + 2 + PL_FRAME_PAIRING_LEN, peer.id, PL_FRAME_ID_LEN);
  if (d[0] != PL_FRAME_DATA) {
    fuzz_sign(d, len);
    return;
  }
  if (len < PL_FRAME_HEADER_LEN + PL_SEAL_TAG_LEN)
    return;
  uint64_t seq = 0;
  for (int i = 0; i < 8; i++)
    seq = seq << 8 | d[26 + i];
  size_t n, plainlen = len - PL_FRAME_HEADER_LEN - PL_SEAL_TAG_LEN;
  /* Refused (not above the last seq sealed): left as it is, a frame that does not open. */
  pl_seal(sealer, seq, d, PL_FRAME_HEADER_LEN, d + PL_FRAME_HEADER_LEN, plainlen,
          d + PL_FRAME_HEADER_LEN, plainlen + PL_SEAL_TAG_LEN, &n);
}

static void drain(pl_punch *p, uint64_t now) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp, n = 0;
  while (pl_punch_poll(p, now, buf, sizeof buf, &len, &dst, &via_tcp) == 1)
    if (++n > 1000 || len > sizeof buf)
      abort(); /* the queue is bounded: polling must end */
  if (pl_punch_deadline(p) <= now)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_punch_config cfg;
  fixture_agents(&self, &peer);
  memset(&cfg, 0, sizeof cfg);
  memcpy(cfg.pairing, pairing, sizeof pairing);
  memcpy(cfg.self_id, self.id, sizeof cfg.self_id);
  memcpy(cfg.peer_id, peer.id, sizeof cfg.peer_id);
  uint8_t secret[32];
  fixture_secret(secret);
  cfg.secret = secret;
  cfg.secretlen = sizeof secret;
  cfg.self_key_der = self.sec1;
  cfg.self_key_der_len = sizeof self.sec1;
  cfg.peer_key_der = peer.spki;
  cfg.peer_key_der_len = sizeof peer.spki;
  cfg.controlling = 1;
  cfg.start_us = 1000;
  struct sockaddr_storage src[4] = {addr("192.0.2.10", 4000), addr("198.51.100.10", 5000),
                                    addr("192.0.2.1", 3478), addr("203.0.113.99", 7777)};
  cfg.remote[cfg.n_remote++] = src[0];
  cfg.remote[cfg.n_remote++] = src[1];
  cfg.has_relay = 1;
  cfg.relay = src[2];
  cfg.relay_tcp = 1;
  pl_punch *p;
  if (pl_punch_new(&p, &cfg) != 0)
    abort();

  pl_seal_keys *sealer = peer_sealer();
  uint64_t now = 0;
  uint8_t d[PL_FRAME_MAX_LEN + 64];
  size_t off = 0;
  drain(p, now);
  for (int r = 0; r < MAX_RECORDS && off + 3 <= size; r++) {
    uint8_t flags = data[off];
    size_t len = ((size_t)data[off + 1] << 8) | data[off + 2];
    off += 3;
    if (len > size - off)
      len = size - off;
    if (len > sizeof d)
      len = sizeof d;
    memcpy(d, data + off, len);
    off += len;
    if (flags & 1) {
      if (len >= 52 && d[0] == PL_FRAME_RELAY_DATA)
        fix_and_sign(sealer, d + 36, len - 36 - PL_FRAME_MAC_LEN, flags & 2);
      fix_and_sign(sealer, d, len, flags & 2);
    }
    now += (uint64_t)(flags >> 5) * 250000;
    const uint8_t *payload;
    size_t payloadlen;
    int via_tcp = (flags >> 2) & 1;
    const struct sockaddr *from = (const struct sockaddr *)&src[(flags >> 3) & 3];
    int rv = pl_punch_recv(p, via_tcp ? NULL : from, via_tcp, d, len, now, &payload, &payloadlen);
    if (rv == 1 && (payload == NULL || payloadlen > PL_FRAME_MAX_PAYLOAD ||
                    payloadlen + PL_FRAME_HEADER_LEN + PL_SEAL_TAG_LEN > len))
      abort();
    drain(p, now);
    pl_punch_path path;
    pl_punch_path_get(p, &path);
    uint8_t buf[PL_FRAME_MAX_LEN];
    size_t outlen;
    struct sockaddr_storage dst;
    pl_punch_send_data(p, (const uint8_t *)"fuzz", 4, now, buf, sizeof buf, &outlen, &dst,
                       &via_tcp);
  }
  char why[2048];
  pl_punch_describe(p, why, sizeof why);
  pl_punch_stats st;
  pl_punch_stats_get(p, &st);
  uint8_t buf[PL_FRAME_MAX_LEN], id[PL_FRAME_ID_LEN];
  size_t outlen;
  struct sockaddr_storage dst;
  int via_tcp;
  pl_punch_peer_id(p, id);
  pl_punch_close(p, now, buf, sizeof buf, &outlen, &dst, &via_tcp);
  pl_punch_del(p);
  pl_seal_keys_del(sealer);
  return 0;
}
