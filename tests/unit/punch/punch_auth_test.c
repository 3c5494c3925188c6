/* agent/punch refuses what it must not act on: wrong secret, tampered, truncated, replayed,
 * reflected and spoofed frames are dropped and counted, and change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/punch/punch.h"
#include "agent/wire/frame.h"
#include "tests/unit/common/check.h"
#include "tests/unit/punch/sim.h"

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
  for (size_t n = 0; n < len; n++) {
    int rv = sim_inject(&s, 1, &s.h[0].inside, frame, n);
    CHECK_RV(rv, PL_ERR_PARSE);
    rejected += rv < 0;
  }
  /* One byte too many: the length no longer matches. */
  memcpy(bad, frame, len);
  bad[len] = 0;
  CHECK_RV(sim_inject(&s, 1, &s.h[0].inside, bad, len + 1), PL_ERR_PARSE);
  rejected++;
  pl_punch_stats_get(s.h[1].p, &st1);
  CHECK_U64((st1.dropped_auth - st0.dropped_auth) + (st1.dropped_parse - st0.dropped_parse), ==,
            rejected);
  CHECK_U64(st1.dropped_parse - st0.dropped_parse, >=, len + 1);
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
  CHECK_U64(st1.dropped_replay, ==, st0.dropped_replay + 2);

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
  f = base_frame(&s, PL_FRAME_DATA, zero);
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
  uint8_t inner[PL_FRAME_MAX_LEN];
  size_t innerlen;
  f = base_frame(&s, PL_FRAME_DATA, third);
  f.payload = (const uint8_t *)"hi";
  f.payloadlen = 2;
  CHECK_RV(pl_frame_encode(inner, sizeof inner, &innerlen, &f, &s.keys), 0);
  f = base_frame(&s, PL_FRAME_RELAY_DATA, s.id[0]);
  f.payload = inner;
  f.payloadlen = innerlen;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &s.relay, buf, len), PL_ERR_AUTH);
  /* RELAY_DATA (relay key right) around an inner frame under the wrong frame key: only the
   * rendezvous could make this one, and it cannot forge the peer's frames. */
  pl_frame_keys relay_only = s.keys;
  memset(relay_only.frame, 0x77, sizeof relay_only.frame);
  f = base_frame(&s, PL_FRAME_DATA, s.id[0]);
  f.payload = (const uint8_t *)"forged";
  f.payloadlen = 6;
  CHECK_RV(pl_frame_encode(inner, sizeof inner, &innerlen, &f, &relay_only), 0);
  f = base_frame(&s, PL_FRAME_RELAY_DATA, s.id[0]);
  f.seq = 2000000;
  f.payload = inner;
  f.payloadlen = innerlen;
  CHECK_RV(pl_frame_encode(buf, sizeof buf, &len, &f, &s.keys), 0);
  CHECK_RV(sim_inject(&s, 1, &s.relay, buf, len), PL_ERR_AUTH);
  pl_punch_stats_get(s.h[1].p, &st1);
  CHECK_U64(st1.dropped_auth, ==, st0.dropped_auth + 8);

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
  CHECK_U64(st.dropped_replay, ==, 1);
  sim_free(&s);
}

static void unknown_peer(int i, pl_punch_config *cfg, void *arg) {
  (void)arg;
  if (i == 1)
    memset(cfg->peer_id, 0, sizeof cfg->peer_id);
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
  test_reflection_before_learning();
  test_config_checks();
  printf("punch_auth_test: ok\n");
  return 0;
}
