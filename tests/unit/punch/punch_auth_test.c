/* agent/punch refuses what it must not act on: wrong secret, tampered, truncated, replayed,
 * reflected and spoofed frames are dropped and counted, and change nothing. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "agent/punch/punch.h"
#include "agent/wire/frame.h"
#include "agent/wire/seal.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"
#include "tests/unit/punch/sim.h"
#include "tests/unit/seal/fixture.h"

#define S (1000000ull)

/* A connected open-open pair; frames from host 0 reach host 1 from h[0].inside. */
static void connected(sim *s) {
  sim_init(s, SIM_OPEN, SIM_OPEN, 42);
  CHECK_RV(sim_start(s, NULL, NULL), 0);
  CHECK(sim_run_until_path(s, PL_PATH_DIRECT, 2 * S));
  sim_run_until(s, s->now + 100000); /* let in-flight probes settle */
}

/* Everything observable about host i that a dropped frame must leave alone. */
typedef struct snapshot {
  uint64_t deadline;
  pl_path_kind kind;
  uint64_t changes, data;
  char describe[2048];
} snapshot;

static void snap(sim *s, int i, snapshot *out) {
  out->deadline = pl_punch_deadline(s->h[i].p);
  out->kind = s->h[i].path.kind;
  out->changes = s->h[i].path_changes;
  out->data = s->h[i].data_received;
  pl_punch_describe(s->h[i].p, out->describe, sizeof out->describe);
}

/* Same state, apart from the drop counters in the description. */
static int unchanged(sim *s, int i, const snapshot *before) {
  snapshot now;
  snap(s, i, &now);
  const char *a = strstr(before->describe, "; probes sent");
  const char *b = strstr(now.describe, "; probes sent");
  return now.deadline == before->deadline && now.kind == before->kind &&
         now.changes == before->changes && now.data == before->data && a && b &&
         (size_t)(a - before->describe) == (size_t)(b - now.describe) &&
         memcmp(before->describe, now.describe, (size_t)(a - before->describe)) == 0;
}

static size_t data_frame(sim *s, int i, const char *text, uint8_t *buf) {
  size_t len = 0;
  struct sockaddr_storage dst;
  int via_tcp;
  CHECK_RV(pl_punch_send_data(s->h[i].p, (const uint8_t *)text, strlen(text), s->now, buf,
                              PL_FRAME_MAX_LEN, &len, &dst, &via_tcp),
           0);
  return len;
}

static pl_frame base_frame(sim *s, uint8_t type, const uint8_t sender[PL_FRAME_ID_LEN]) {
  pl_frame f;
  memset(&f, 0, sizeof f);
  f.type = type;
  memcpy(f.pairing, s->pairing, sizeof f.pairing);
  memcpy(f.sender, sender, PL_FRAME_ID_LEN);
  f.seq = 1000000;
  return f;
}

/* `inner` encoded under `keys`, inside RELAY_DATA (seq `seq`) from the peer under the real relay
 * key, injected at host 1 from the relay. Returns what pl_punch_recv said. */
static int relayed(sim *s, const pl_frame *inner, const pl_frame_keys *keys, uint64_t seq,
                   uint8_t *buf, size_t *plen) {
  uint8_t in[PL_FRAME_MAX_LEN];
  size_t inlen;
  CHECK_RV(pl_frame_encode(in, sizeof in, &inlen, inner, keys), 0);
  pl_frame f = base_frame(s, PL_FRAME_RELAY_DATA, s->id[0]);
  f.seq = seq;
  f.payload = in;
  f.payloadlen = inlen;
  CHECK_RV(pl_frame_encode(buf, PL_FRAME_MAX_LEN, plen, &f, &s->keys), 0);
  return sim_inject(s, 1, &s->relay, buf, *plen);
}

static void test_wrong_secret(void) {
  sim s;
  connected(&s);
  /* Mallory knows the pairing ID and both agent IDs, but not the secret. */
  pl_punch_config cfg;
  memset(&cfg, 0, sizeof cfg);
  memcpy(cfg.pairing, s.pairing, sizeof cfg.pairing);
  memcpy(cfg.self_id, s.id[0], sizeof cfg.self_id);
  memcpy(cfg.peer_id, s.id[1], sizeof cfg.peer_id);
  uint8_t wrong[32];
  memset(wrong, 0x5A, sizeof wrong);
  cfg.secret = wrong;
  cfg.secretlen = sizeof wrong;
  memcpy(&cfg.remote[cfg.n_remote++], &s.h[1].inside, sizeof s.h[1].inside);
  pl_punch *m;
  CHECK_RV(pl_punch_new(&m, &cfg), 0);
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  CHECK(pl_punch_poll(m, s.now, buf, sizeof buf, &len, &dst, &via_tcp) == 1);
  struct sockaddr_in evil = sim_addr("192.0.2.66", 6666);
  snapshot before;
  snap(&s, 1, &before);
  pl_punch_stats st0, st1;
  pl_punch_stats_get(s.h[1].p, &st0);
  CHECK_RV(sim_inject(&s, 1, &evil, buf, len), PL_ERR_AUTH);
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, buf, len), PL_ERR_AUTH);
  pl_punch_stats_get(s.h[1].p, &st1);
  CHECK_U64(st1.dropped_auth, ==, st0.dropped_auth + 2);
  CHECK_U64(st1.frames_received, ==, st0.frames_received);
  CHECK(unchanged(&s, 1, &before)); /* no ack queued, no peer-reflexive candidate */
  /* A DATA frame under the wrong key is not delivered. */
  CHECK_RV(
      pl_punch_send_data(m, (const uint8_t *)"x", 1, s.now, buf, sizeof buf, &len, &dst, &via_tcp),
      PL_ERR_STATE); /* mallory has no path */
  pl_punch_del(m);
  sim_free(&s);
}

static void test_tampered_and_truncated(void) {
  sim s;
  connected(&s);
  uint8_t frame[PL_FRAME_MAX_LEN], bad[PL_FRAME_MAX_LEN];
  size_t len = data_frame(&s, 0, "tamper with me", frame);
  snapshot before;
  snap(&s, 1, &before);
  pl_punch_stats st0, st1;
  pl_punch_stats_get(s.h[1].p, &st0);
  size_t rejected = 0;
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(bad, frame, len);
      bad[i] ^= (uint8_t)(1u << bit);
      int rv = sim_inject(&s, 1, &s.h[0].inside, bad, len);
      CHECK(rv == PL_ERR_AUTH || rv == PL_ERR_PARSE);
      rejected += rv < 0;
    }
  }
  /* Truncated: too short for a frame, or the tag no longer matches. */
  for (size_t n = 0; n < len; n++) {
    int rv = sim_inject(&s, 1, &s.h[0].inside, frame, n);
    CHECK_RV(rv, n < 50 ? PL_ERR_PARSE : PL_ERR_AUTH);
    rejected += rv < 0;
  }
  /* One byte too many: the tag is no longer where it was. */
  memcpy(bad, frame, len);
  bad[len] = 0;
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, bad, len + 1), PL_ERR_AUTH);
  rejected++;
  pl_punch_stats_get(s.h[1].p, &st1);
  CHECK_U64((st1.dropped_auth - st0.dropped_auth) + (st1.dropped_parse - st0.dropped_parse) +
                (st1.dropped_data - st0.dropped_data),
            ==, rejected);
  /* Everything still typed DATA counts as a dropped DATA frame (PeerPath.data_dropped). */
  CHECK_U64(st1.dropped_data - st0.dropped_data, ==, 8 * (len - 1) + (len - 1) + 1);
  CHECK(unchanged(&s, 1, &before));
  /* The rejects did not touch the replay window: the genuine frame still gets through, once. */
  const uint8_t *payload;
  size_t payloadlen;
  CHECK_RV(pl_punch_recv(s.h[1].p, (const struct sockaddr *)&s.h[0].inside, 0, frame, len, s.now,
                         &payload, &payloadlen),
           1);
  CHECK(payloadlen == 14 && memcmp(payload, "tamper with me", 14) == 0);
  sim_free(&s);
}

static void test_replay(void) {
  sim s;
  connected(&s);
  uint8_t frame[PL_FRAME_MAX_LEN];
  size_t len = data_frame(&s, 0, "once", frame);
  pl_punch_stats st0, st1;
  pl_punch_stats_get(s.h[1].p, &st0);
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, frame, len), 1);
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, frame, len), PL_ERR_AUTH);
  /* Replayed from elsewhere: still a replay, and it must not teach a new address. */
  struct sockaddr_in evil = sim_addr("192.0.2.66", 6666);
  CHECK_RV(sim_inject(&s, 1, &evil, frame, len), PL_ERR_AUTH);
  pl_punch_stats_get(s.h[1].p, &st1);
  CHECK_U64(st1.dropped_data, ==, st0.dropped_data + 2);
  CHECK_U64(st1.dropped_replay, ==, st0.dropped_replay);

  /* A captured probe replayed from the attacker's address: no ack, no peer-reflexive entry. */
  sim_run_until(&s, s.now + 2 * S + 1000); /* a keep-alive went out */
  uint8_t probe[PL_FRAME_MAX_LEN];
  size_t probelen = sim_last_sent_len[0];
  memcpy(probe, sim_last_sent[0], probelen);
  CHECK(probe[0] == PL_FRAME_PROBE || probe[0] == PL_FRAME_PROBE_ACK);
  sim_run_until(&s, s.now + 100000); /* delivered for real meanwhile */
  snapshot before;
  snap(&s, 1, &before);
  CHECK_RV(sim_inject(&s, 1, &evil, probe, probelen), PL_ERR_AUTH);
  CHECK(unchanged(&s, 1, &before));
  CHECK(strstr(before.describe, "192.0.2.66") == NULL);
  char why[2048];
  pl_punch_describe(s.h[1].p, why, sizeof why);
  CHECK(strstr(why, "192.0.2.66") == NULL);

  /* Old sequence numbers below the window are refused too. */
  uint8_t old[PL_FRAME_MAX_LEN];
  size_t oldlen = data_frame(&s, 0, "old", old);
  for (int i = 0; i < 70; i++) {
    uint8_t f[PL_FRAME_MAX_LEN];
    size_t n = data_frame(&s, 0, "newer", f);
    CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, f, n), 1);
  }
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, old, oldlen), PL_ERR_AUTH);
  sim_free(&s);
}

static void test_spoofed(void) {
  sim s;
  connected(&s);
  struct sockaddr_in evil = sim_addr("192.0.2.66", 6666);
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  snapshot before;
  snap(&s, 1, &before);
  pl_punch_stats st0, st1;
  pl_punch_stats_get(s.h[1].p, &st0);

  /* Our own probe reflected back at us (right key, our own ID as sender). */
  pl_frame f = base_frame(&s, PL_FRAME_PROBE, s.id[1]);
  f.txid = 7;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &evil, buf, len), PL_ERR_AUTH);
  /* A third agent's ID. */
  uint8_t third[PL_FRAME_ID_LEN];
  memset(third, 0x33, sizeof third);
  f = base_frame(&s, PL_FRAME_PROBE, third);
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &evil, buf, len), PL_ERR_AUTH);
  /* The relay's all-zero ID on a peer frame. */
  static const uint8_t zero[PL_FRAME_ID_LEN];
  static const uint8_t sealed[32]; /* what a DATA body looks like from outside: bytes and a tag */
  f = base_frame(&s, PL_FRAME_DATA, zero);
  f.payload = sealed;
  f.payloadlen = sizeof sealed;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &evil, buf, len), PL_ERR_AUTH);
  /* Another pairing's ID (a MAC-valid frame can only come from a key reused elsewhere). */
  f = base_frame(&s, PL_FRAME_PROBE, s.id[0]);
  f.pairing[0] ^= 1;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &evil, buf, len), PL_ERR_AUTH);
  /* A relay frame type under the frame key (the wrong key for its type). */
  pl_frame_keys swapped = s.keys;
  memcpy(swapped.relay, s.keys.frame, sizeof swapped.relay);
  f = base_frame(&s, PL_FRAME_RELAY_BIND_ACK, zero);
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &swapped), 0);
  CHECK_RV(sim_inject(&s, 1, &s.relay, buf, len), PL_ERR_AUTH);
  /* RELAY_BIND_ACK signed by someone other than the rendezvous. */
  f = base_frame(&s, PL_FRAME_RELAY_BIND_ACK, s.id[0]);
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &s.relay, buf, len), PL_ERR_AUTH);
  /* RELAY_DATA whose inner frame claims another sender than the outer one. */
  f = base_frame(&s, PL_FRAME_DATA, third);
  f.payload = sealed;
  f.payloadlen = sizeof sealed;
  CHECK_RV(relayed(&s, &f, &s.keys, 1000000, buf, &len), PL_ERR_AUTH);
  /* RELAY_DATA (relay key right) around an inner frame under the wrong frame key: only the
   * rendezvous could make this one, and it cannot forge the peer's frames. */
  pl_frame_keys relay_only = s.keys;
  memset(relay_only.frame, 0x77, sizeof relay_only.frame);
  f = base_frame(&s, PL_FRAME_PROBE, s.id[0]);
  CHECK_RV(relayed(&s, &f, &relay_only, 2000000, buf, &len), PL_ERR_AUTH);
  /* The same with DATA, which the rendezvous can build (no MAC) but not seal. */
  f = base_frame(&s, PL_FRAME_DATA, s.id[0]);
  f.payload = sealed;
  f.payloadlen = sizeof sealed;
  CHECK_RV(relayed(&s, &f, &s.keys, 2000001, buf, &len), PL_ERR_AUTH);
  pl_punch_stats_get(s.h[1].p, &st1);
  CHECK_U64(st1.dropped_auth, ==, st0.dropped_auth + 6);
  CHECK_U64(st1.dropped_data, ==, st0.dropped_data + 3);

  /* RELAY_BIND is for the rendezvous; a non-relay frame over the stream is not allowed. */
  f = base_frame(&s, PL_FRAME_RELAY_BIND, s.id[0]);
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &s.relay, buf, len), PL_ERR_PARSE);
  len = data_frame(&s, 0, "over the stream, unwrapped", buf);
  const uint8_t *payload;
  size_t payloadlen;
  CHECK_RV(pl_punch_recv(s.h[1].p, NULL, 1, buf, len, s.now, &payload, &payloadlen), PL_ERR_PARSE);
  /* Garbage and foreign protocols. */
  static const uint8_t junk[] = {0x20, 0x01, 0x02};
  CHECK_RV(sim_inject(&s, 1, &evil, junk, sizeof junk), PL_ERR_PARSE);
  CHECK_RV(pl_punch_recv(s.h[1].p, NULL, 0, junk, sizeof junk, s.now, &payload, &payloadlen),
           PL_ERR_PARSE);
  CHECK(unchanged(&s, 1, &before));
  /* And the pair still works. */
  sim_run_until(&s, s.now + 30 * S);
  CHECK(s.h[0].path.kind == PL_PATH_DIRECT && s.h[1].path.kind == PL_PATH_DIRECT);
  CHECK_U64(s.h[1].path_changes, ==, 1);
  sim_free(&s);
}

/* Frames arriving over a relay: a genuine relayed DATA is delivered once. */
static void test_relayed_data_replay(void) {
  sim s;
  sim_init(&s, SIM_SYMMETRIC, SIM_SYMMETRIC, 43);
  CHECK_RV(sim_start(&s, NULL, NULL), 0);
  CHECK(sim_run_until_path(&s, PL_PATH_RELAY_UDP, 10 * S));
  uint8_t frame[PL_FRAME_MAX_LEN];
  size_t len = data_frame(&s, 0, "relayed", frame);
  CHECK(frame[0] == PL_FRAME_RELAY_DATA);
  CHECK_RV(sim_inject(&s, 1, &s.relay, frame, len), 1);
  CHECK_RV(sim_inject(&s, 1, &s.relay, frame, len), PL_ERR_AUTH);
  pl_punch_stats st;
  pl_punch_stats_get(s.h[1].p, &st);
  CHECK_U64(st.dropped_data, ==, 1);
  sim_free(&s);
}

static void unknown_peer(int i, pl_punch_config *cfg, void *arg) {
  (void)arg;
  if (i == 1) {
    memset(cfg->peer_id, 0, sizeof cfg->peer_id);
    cfg->self_key_der = cfg->peer_key_der = NULL; /* keys need the peer's ID */
  }
}

/* 1 if `sealed` opens under a receive key and IV the caller made up (the rendezvous's tries). */
static int opens_with(const uint8_t key[32], const uint8_t iv[12], const uint8_t *frame,
                      size_t len) {
  pl_seal_secrets sec;
  pl_seal_keys *k;
  uint8_t out[PL_FRAME_MAX_PAYLOAD];
  size_t n;
  memset(&sec, 0, sizeof sec);
  memcpy(sec.recv_key, key, 32);
  memcpy(sec.recv_iv, iv, 12);
  CHECK_RV(pl_seal_keys_new(&k, &sec), 0);
  uint64_t seq = 0;
  for (int i = 0; i < 8; i++)
    seq = seq << 8 | frame[26 + i];
  int rv = pl_open(k, seq, frame, PL_FRAME_HEADER_LEN, frame + PL_FRAME_HEADER_LEN,
                   len - PL_FRAME_HEADER_LEN, out, sizeof out, &n);
  pl_seal_keys_del(k);
  return rv == 0;
}

/* DATA on the wire is the header and the plaintext sealed under the end-to-end key (header as
 * associated data, seq as nonce): the peer opens it with keys it derives on its own; the
 * rendezvous, which knows the secret, both public keys and the frame and relay keys, does not,
 * and what it forges is dropped and counted, never delivered. */
static void test_data_sealed_end_to_end(void) {
  sim s;
  connected(&s);
  static const char text[] = "hello, peer";
  uint8_t frame[PL_FRAME_MAX_LEN];
  size_t len = data_frame(&s, 0, text, frame);
  CHECK_U64(len, ==, PL_FRAME_HEADER_LEN + strlen(text) + PL_SEAL_TAG_LEN);
  CHECK(frame[0] == PL_FRAME_DATA && frame[1] == 1);
  CHECK(memcmp(frame + 2, s.pairing, 8) == 0 && memcmp(frame + 10, s.id[0], 16) == 0);
  CHECK(memmem(frame, len, text, strlen(text)) == NULL); /* encrypted, not only MACed */

  /* B's own derivation, outside punch, opens it. */
  pl_seal_keys *kb;
  CHECK_RV(pl_seal_keys_derive(&kb, s.agent[1].sec1, sizeof s.agent[1].sec1, s.agent[0].spki,
                               sizeof s.agent[0].spki, s.agent[1].id, s.agent[0].id, s.pairing,
                               s.secret, sizeof s.secret),
           0);
  uint64_t seq = 0;
  for (int i = 0; i < 8; i++)
    seq = seq << 8 | frame[26 + i];
  uint8_t out[64];
  size_t n;
  CHECK_RV(pl_open(kb, seq, frame, PL_FRAME_HEADER_LEN, frame + PL_FRAME_HEADER_LEN,
                   len - PL_FRAME_HEADER_LEN, out, sizeof out, &n),
           0);
  CHECK(n == strlen(text) && memcmp(out, text, n) == 0);
  pl_seal_keys_del(kb);

  /* The rendezvous: the frame and relay keys as AES keys, and HKDF of the construction with
   * everything it knows in place of the ECDH share it lacks. */
  CHECK(!opens_with(s.keys.frame, s.keys.relay, frame, len));
  CHECK(!opens_with(s.keys.relay, s.keys.frame, frame, len));
  uint8_t ikm[64], salt[56], info[49], okm[44];
  memcpy(ikm, s.secret, 32);
  memcpy(ikm + 32, s.secret, 32);
  memcpy(salt, "peerlink data v1", 16);
  memcpy(salt + 16, s.pairing, 8);
  int order = memcmp(s.id[0], s.id[1], 16) < 0;
  memcpy(salt + 24, s.id[order ? 0 : 1], 16);
  memcpy(salt + 40, s.id[order ? 1 : 0], 16);
  memcpy(info, "peerlink data key", 17);
  memcpy(info + 17, s.id[0], 16);
  memcpy(info + 33, s.id[1], 16);
  CHECK(wc_HKDF(WC_SHA256, ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
                sizeof okm) == 0);
  CHECK(!opens_with(okm, okm + 32, frame, len));
  memset(ikm, 0, 32);
  CHECK(wc_HKDF(WC_SHA256, ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
                sizeof okm) == 0);
  CHECK(!opens_with(okm, okm + 32, frame, len));

  /* Its forgery: A's header, its own seal (here under the frame key), a fresh seq. */
  pl_seal_secrets sec;
  pl_seal_keys *kr;
  memset(&sec, 0, sizeof sec);
  memcpy(sec.send_key, s.keys.frame, 32);
  CHECK_RV(pl_seal_keys_new(&kr, &sec), 0);
  uint8_t forged[PL_FRAME_MAX_LEN];
  memcpy(forged, frame, PL_FRAME_HEADER_LEN);
  forged[33] ^= 0x40; /* seq: far ahead of anything A sent */
  seq ^= 0x40;
  size_t sealedlen;
  CHECK_RV(pl_seal(kr, seq, forged, PL_FRAME_HEADER_LEN, (const uint8_t *)"forged", 6,
                   forged + PL_FRAME_HEADER_LEN, sizeof forged - PL_FRAME_HEADER_LEN, &sealedlen),
           0);
  pl_seal_keys_del(kr);
  pl_punch_stats st0, st1;
  pl_punch_stats_get(s.h[1].p, &st0);
  uint64_t delivered = s.h[1].data_received;
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, forged, PL_FRAME_HEADER_LEN + sealedlen), PL_ERR_AUTH);
  pl_punch_stats_get(s.h[1].p, &st1);
  CHECK_U64(st1.dropped_data, ==, st0.dropped_data + 1);
  CHECK_U64(s.h[1].data_received, ==, delivered);
  /* The genuine frame still opens: the forgery's seq did not move the replay window. */
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, frame, len), 1);
  sim_free(&s);
}

/* Before the peer's ID is learned, our own frames reflected back must not become "the peer". */
static void test_reflection_before_learning(void) {
  sim s;
  sim_init(&s, SIM_OPEN, SIM_OPEN, 45);
  CHECK_RV(sim_start(&s, unknown_peer, NULL), 0);
  struct sockaddr_in evil = sim_addr("192.0.2.66", 6666);
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  pl_frame f = base_frame(&s, PL_FRAME_PROBE, s.id[1]);
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &evil, buf, len), PL_ERR_AUTH);
  static const uint8_t zero[PL_FRAME_ID_LEN];
  f = base_frame(&s, PL_FRAME_PROBE, zero);
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &evil, buf, len), PL_ERR_AUTH);
  uint8_t id[PL_FRAME_ID_LEN];
  CHECK_RV(pl_punch_peer_id(s.h[1].p, id), PL_ERR_NOT_FOUND);
  CHECK(pl_punch_deadline(s.h[1].p) > s.now); /* nothing queued in answer */
  CHECK(sim_run_until_path(&s, PL_PATH_DIRECT, 3 * S));
  CHECK_RV(pl_punch_peer_id(s.h[1].p, id), 0);
  CHECK(memcmp(id, s.id[0], sizeof id) == 0);
  sim_free(&s);
}

static void test_config_checks(void) {
  sim s;
  sim_init(&s, SIM_OPEN, SIM_OPEN, 44);
  pl_punch_config cfg;
  memset(&cfg, 0, sizeof cfg);
  memcpy(cfg.self_id, s.id[0], PL_FRAME_ID_LEN);
  cfg.secret = s.secret;
  cfg.secretlen = 15;
  pl_punch *p = NULL;
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID); /* secret too short */
  cfg.secretlen = 16;
  cfg.n_remote = PL_PUNCH_MAX_CANDIDATES + 1;
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID);
  cfg.n_remote = 0;
  cfg.has_relay = 1; /* without an address */
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID);
  cfg.has_relay = 0;
  memset(cfg.self_id, 0, PL_FRAME_ID_LEN);
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID);
  memcpy(cfg.self_id, s.id[0], PL_FRAME_ID_LEN);
  cfg.secret = NULL;
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID);
  cfg.secret = s.secret;
  /* End-to-end keys: both or neither, a known peer, IDs that belong to the keys. */
  cfg.self_key_der = s.agent[0].sec1;
  cfg.self_key_der_len = sizeof s.agent[0].sec1;
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID);
  cfg.peer_key_der = s.agent[1].spki;
  cfg.peer_key_der_len = sizeof s.agent[1].spki;
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID); /* no peer ID to vouch for the key */
  memcpy(cfg.peer_id, s.id[0], PL_FRAME_ID_LEN);
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_INVALID); /* our own ID */
  memset(cfg.peer_id, 0x33, PL_FRAME_ID_LEN);
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_AUTH); /* not the key's ID */
  memcpy(cfg.peer_id, s.id[1], PL_FRAME_ID_LEN);
  cfg.peer_key_der_len--;
  CHECK_RV(pl_punch_new(&p, &cfg), PL_ERR_PARSE);
  cfg.peer_key_der_len++;
  CHECK_RV(pl_punch_new(&p, &cfg), 0);
  pl_punch_del(p);
  cfg.self_key_der = cfg.peer_key_der = NULL;
  CHECK_RV(pl_punch_new(&p, &cfg), 0);
  /* Nothing to do before the start time, and no candidates: nothing ever. */
  CHECK(pl_punch_deadline(p) == 0);
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  CHECK(pl_punch_poll(p, 0, buf, sizeof buf, &len, &dst, &via_tcp) == 0);
  CHECK(pl_punch_deadline(p) == UINT64_MAX);
  pl_punch_del(p);
  pl_punch_del(NULL);
  sim_free(&s);
}

int main(void) {
  test_wrong_secret();
  test_tampered_and_truncated();
  test_replay();
  test_spoofed();
  test_relayed_data_replay();
  test_data_sealed_end_to_end();
  test_reflection_before_learning();
  test_config_checks();
  printf("punch_auth_test: ok\n");
  return 0;
}
