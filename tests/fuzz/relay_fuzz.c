/* The rendezvous relay core (control/rendezvous/relay.c) on hostile input. Each input is a
 * script of records, so the fuzzer reaches past the MAC check as well as the parsers:
 *   op(1) a(1) b(1) seq(1) len(1) data(len)
 *   op % 5 == 0  raw datagram `data` over UDP from address a % 4
 *             1  a frame the harness encodes with the right relay key: type 0x20 + b % 16,
 *                pairing a % 3 (0: the one between members 0 and 1, else unknown), sender
 *                member b / 16 % 3 (2 is in no pairing), `seq`, payload `data` (RELAY_DATA
 *                wraps it in an inner DATA frame), over UDP from address a % 4
 *             2  raw `data` over the Register stream of member a % 3 for pairing b % 3
 *             3  a frame built as in 1 (pairing b % 3, sender a % 3) over member a % 3's stream
 *             4  member a % 3 leaves (its pairings end), then the pairing is made again
 * Invariants checked: forwards carry the input unchanged, replies are valid BIND_ACKs to the
 * sender, UDP forwards go to an address a side bound from. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/frame.h"
#include "control/rendezvous/pairing.h"
#include "control/rendezvous/relay.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

static uint64_t counter;
static int det_random(void *buf, size_t len) {
  uint8_t *p = buf;
  for (size_t i = 0; i < len; i++) {
    counter = counter * 6364136223846793005u + 1442695040888963407u;
    p[i] = (uint8_t)(counter >> 56);
  }
  return 0;
}

static pl_rdv_pairings table;
static pl_rdv_pairing_member members[3]; /* [2] is in no pairing: the outsider */
static struct sockaddr_storage addrs[4];
static int owners[3];

static void setup_addrs(void) {
  static const char *ips[4] = {"192.0.2.1", "198.51.100.7", "203.0.113.9", "::1"};
  for (int i = 0; i < 4; i++) {
    memset(&addrs[i], 0, sizeof addrs[i]);
    if (i < 3) {
      struct sockaddr_in *sin = (struct sockaddr_in *)&addrs[i];
      sin->sin_family = AF_INET;
      sin->sin_port = htons((uint16_t)(1000 + i));
      inet_pton(AF_INET, ips[i], &sin->sin_addr);
    } else {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addrs[i];
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(4000);
      inet_pton(AF_INET6, ips[i], &sin6->sin6_addr);
    }
  }
}

static pl_rdv_pairing *pairing_of(int k) {
  return k == 0 ? pl_rdv_pairings_between(&members[0], &members[1]) : NULL;
}

static void pair_again(void) {
  pl_rdv_pairing *p;
  if (pl_rdv_pairings_between(&members[0], &members[1]) == NULL)
    pl_rdv_pairings_create(&table, &members[0], &members[1], &p);
}

static int is_bound_addr(const struct sockaddr_storage *to) {
  for (int i = 0; i < 4; i++)
    if (to->ss_family == addrs[i].ss_family &&
        memcmp(to, &addrs[i], sizeof(struct sockaddr_in6)) == 0)
      return 1;
  return 0;
}

static void check(const pl_rdv_relay_out *o, const uint8_t *in, size_t inlen,
                  const uint8_t *reply) {
  switch (o->action) {
  case PL_RDV_RELAY_DROP:
    ASSERT(o->reason > PL_RDV_RELAY_DROP_NONE && o->reason < PL_RDV_RELAY_DROP_COUNT);
    break;
  case PL_RDV_RELAY_REPLY: {
    pl_frame ack;
    ASSERT(o->data == reply && o->pairing != NULL);
    ASSERT(pl_frame_parse(&ack, o->data, o->len, &o->pairing->keys) == 0);
    ASSERT(ack.type == PL_FRAME_RELAY_BIND_ACK && ack.has_observed);
    break;
  }
  case PL_RDV_RELAY_TO_UDP:
    ASSERT(o->data == in && o->len == inlen && is_bound_addr(&o->to));
    break;
  case PL_RDV_RELAY_TO_STREAM:
    ASSERT(o->data == in && o->len == inlen && o->member != NULL && o->member->owner != NULL);
    break;
  }
}

/* Encodes a frame with valid MACs, so the script can reach the relay's own logic. */
static size_t build(uint8_t *out, size_t cap, int pk, uint8_t type, int sender, uint64_t seq,
                    const uint8_t *data, size_t len) {
  pl_rdv_pairing *p = pairing_of(pk);
  pl_frame_keys junk;
  memset(&junk, 7, sizeof junk);
  const pl_frame_keys *keys = p ? &p->keys : &junk;
  pl_frame f, inner;
  uint8_t innerbuf[PL_FRAME_MAX_LEN];
  size_t n = 0;
  memset(&f, 0, sizeof f);
  f.type = type;
  if (p)
    memcpy(f.pairing, p->id, sizeof f.pairing);
  memcpy(f.sender, members[sender].id_raw, sizeof f.sender);
  f.seq = seq;
  f.txid = seq * 31;
  f.payload = data;
  f.payloadlen = len;
  if (type == PL_FRAME_RELAY_DATA) {
    memset(&inner, 0, sizeof inner);
    inner.type = PL_FRAME_DATA;
    memcpy(inner.pairing, f.pairing, sizeof f.pairing);
    memcpy(inner.sender, f.sender, sizeof f.sender);
    inner.payload = data;
    inner.payloadlen = len;
    if (pl_frame_encode(innerbuf, sizeof innerbuf, &n, &inner, keys) != 0)
      return 0;
    f.payload = innerbuf;
    f.payloadlen = n;
  }
  if (pl_frame_encode(out, cap, &n, &f, keys) != 0)
    return 0;
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t reply[PL_FRAME_MAX_LEN], frame[PL_FRAME_MAX_LEN];
  char id[33];
  counter = 0;
  setup_addrs();
  if (pl_rdv_pairings_init(&table, det_random) != 0)
    return 0;
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 32; k++)
      id[k] = "0123456789abcdef"[(i * 7 + k) % 16];
    id[32] = '\0';
    pl_rdv_pairing_member_init(&members[i], &owners[i], id);
  }
  pair_again();

  while (size >= 5) {
    uint8_t op = data[0] % 5, a = data[1], b = data[2];
    uint64_t seq = data[3];
    size_t len = data[4];
    data += 5;
    size -= 5;
    if (len > size)
      len = size;
    const uint8_t *d = data;
    data += len;
    size -= len;
    pl_rdv_relay_out o;
    size_t n;
    const struct sockaddr *from = (const struct sockaddr *)&addrs[a % 4];
    char hex[PL_RDV_PAIRING_ID_HEX + 1] = "0000000000000000";
    pl_rdv_pairing *hp = pairing_of(b % 3);
    if (hp)
      memcpy(hex, hp->id_hex, sizeof hex);
    switch (op) {
    case 0:
      pl_rdv_relay_recv_udp(&table, from, d, len, reply, sizeof reply, &o);
      check(&o, d, len, reply);
      break;
    case 1:
      n = build(frame, sizeof frame, a % 3, (uint8_t)(0x20 + b % 16), b / 16 % 3, seq, d, len);
      if (n == 0)
        break;
      pl_rdv_relay_recv_udp(&table, from, frame, n, reply, sizeof reply, &o);
      check(&o, frame, n, reply);
      break;
    case 2:
      pl_rdv_relay_recv_stream(&table, &members[a % 3], hex, d, len, &o);
      check(&o, d, len, reply);
      ASSERT(o.action != PL_RDV_RELAY_REPLY);
      break;
    case 3:
      n = build(frame, sizeof frame, b % 3, (uint8_t)(0x20 + b % 16), a % 3, seq, d, len);
      if (n == 0)
        break;
      pl_rdv_relay_recv_stream(&table, &members[a % 3], pairing_of(b % 3) ? hex : "x", frame, n,
                               &o);
      check(&o, frame, n, reply);
      ASSERT(o.action != PL_RDV_RELAY_REPLY);
      break;
    default:
      pl_rdv_pairings_leave(&table, &members[a % 3], NULL, NULL);
      pair_again();
      break;
    }
  }
  for (int i = 0; i < 3; i++)
    pl_rdv_pairings_leave(&table, &members[i], NULL, NULL);
  pl_rdv_pairings_free(&table);
  return 0;
}
