/* agent/quic: arbitrary QUIC packets into live connections. A client and a server (real
 * identities, made once in $TEST_TMPDIR or /tmp) are connected in memory before each input;
 * the input is a list of packets, each `target(1) length(2, big-endian) bytes`, fed with
 * pl_quic_recv to the server (target bit 0 clear) or the client (set), at a synthetic time that
 * moves on by target >> 1 milliseconds. Afterwards both sides must still answer
 * pl_quic_write / pl_quic_deadline / pl_quic_handle_expiry, and everything is freed (ASan).
 * Packets the fuzzer makes rarely decrypt; what is reached is ngtcp2's header parsing, our
 * server-side checks for new Initials (pl_quic_is_new_initial, pl_quic_owns) and the error
 * paths that close a connection. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "agent/identity/identity.h"
#include "agent/quic/quic.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

static pl_identity ids[2];
static pl_quic_tls *tls[2];

static void setup_once(void) {
  static int done;
  if (done)
    return;
  char dir[512];
  const char *base = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  for (int i = 0; i < 2; i++) {
    snprintf(dir, sizeof dir, "%s/quic_packet_fuzz_%d_%d", base, (int)getpid(), i);
    ASSERT(pl_identity_load_or_create(&ids[i], dir) == 0);
    ASSERT(pl_quic_tls_new(&tls[i], ids[i].cert_der, ids[i].cert_der_len, ids[i].private_key_der,
                           ids[i].private_key_der_len) == 0);
  }
  done = 1;
}

static void config(pl_quic_config *cfg, int client, uint64_t now) {
  memset(cfg, 0, sizeof *cfg);
  cfg->client = client;
  cfg->tls = tls[client ? 0 : 1];
  const pl_identity *peer = &ids[client ? 1 : 0];
  ASSERT(wc_Sha256Hash(peer->cert_der, (word32)peer->cert_der_len, cfg->pin) == 0);
  cfg->now = now;
}

/* Moves every packet one way; returns how many. */
static int pump(pl_quic *from, pl_quic **to, pl_quic_config *to_cfg, uint64_t now) {
  uint8_t buf[PL_QUIC_MAX_PACKET];
  size_t len;
  int n = 0;
  while (n < 1000 && pl_quic_write(from, now, buf, sizeof buf, &len) == 1) {
    if (*to == NULL && pl_quic_new(to, to_cfg, buf, len) != 0)
      continue;
    pl_quic_recv(*to, buf, len, now);
    n++;
  }
  pl_quic_write_end(from, now);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup_once();
  uint64_t now = 1000000;
  pl_quic_config ccfg, scfg;
  pl_quic *c = NULL, *s = NULL;
  config(&ccfg, 1, now);
  config(&scfg, 0, now);
  ASSERT(pl_quic_new(&c, &ccfg, NULL, 0) == 0);
  pl_quic_info ci, si;
  for (int round = 0; round < 50; round++) {
    int moved = pump(c, &s, &scfg, now);
    if (s)
      moved += pump(s, &c, &ccfg, now);
    now += 1000;
    pl_quic_get_info(c, &ci);
    if (s)
      pl_quic_get_info(s, &si);
    if (s && ci.established && si.established)
      break;
    if (!moved) { /* waiting for a timer (the amplification limit, an ack delay) */
      uint64_t d = pl_quic_deadline(c);
      if (s && pl_quic_deadline(s) < d)
        d = pl_quic_deadline(s);
      if (d != UINT64_MAX && d > now)
        now = d;
      pl_quic_handle_expiry(c, now);
      if (s)
        pl_quic_handle_expiry(s, now);
    }
  }
  ASSERT(s != NULL && ci.established && si.established);
  for (size_t pos = 0; pos + 3 <= size;) {
    uint8_t target = data[pos];
    size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
    pos += 3;
    if (len > size - pos)
      len = size - pos;
    now += (uint64_t)(target >> 1) * 1000;
    pl_quic *q = (target & 1) ? c : s;
    /* The server glue's question before it feeds a packet. */
    (void)pl_quic_owns(q, data + pos, len);
    (void)pl_quic_is_new_initial(q, data + pos, len);
    pl_quic_recv(q, data + pos, len, now);
    pos += len;
  }
  for (int i = 0; i < 2; i++) {
    pl_quic *q = i ? c : s;
    uint8_t buf[PL_QUIC_MAX_PACKET];
    size_t len;
    for (int k = 0; k < 100 && pl_quic_write(q, now, buf, sizeof buf, &len) == 1; k++)
      ASSERT(len > 0 && len <= PL_QUIC_MAX_PACKET);
    uint64_t d = pl_quic_deadline(q);
    if (d != UINT64_MAX)
      pl_quic_handle_expiry(q, d > now ? d : now);
  }
  pl_quic_del(c);
  pl_quic_del(s);
  return 0;
}
