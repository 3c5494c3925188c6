/* The simulated network behind tests/unit/punch: NATs, loss, the real relay core, synthetic
 * time. */
#include "tests/unit/punch/sim.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/hex.h"
#include "tests/unit/seal/fixture.h"

uint8_t sim_last_sent[2][PL_FRAME_MAX_LEN];
size_t sim_last_sent_len[2];

struct sockaddr_in sim_addr(const char *ip, uint16_t port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static int same(const struct sockaddr_in *a, const struct sockaddr_in *b) {
  return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static uint32_t rnd(sim *s) {
  /* xorshift32: a fixed seed gives the same losses on every run. */
  uint32_t x = s->rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return s->rng = x;
}

static int lost(sim *s) {
  return s->loss_pct > 0 && (int)(rnd(s) % 100) < s->loss_pct;
}

static sim_map *find_map(sim_host *h, const struct sockaddr_in *dst) {
  for (size_t i = 0; i < h->n_maps; i++)
    if (same(&h->maps[i].dst, dst))
      return &h->maps[i];
  return NULL;
}

static sim_map *add_map(sim_host *h, const struct sockaddr_in *dst, uint16_t port) {
  if (h->n_maps == SIM_MAX_MAPS)
    return NULL;
  sim_map *m = &h->maps[h->n_maps++];
  m->dst = *dst;
  m->port = port;
  return m;
}

struct sockaddr_in sim_outside_addr(sim *s, int i, const struct sockaddr_in *toward) {
  sim_host *h = &s->h[i];
  struct sockaddr_in out;
  memset(&out, 0, sizeof out);
  out.sin_family = AF_INET;
  out.sin_addr.s_addr = h->public_ip;
  sim_map *m = find_map(h, toward);
  switch (h->nat) {
  case SIM_OPEN: return h->inside;
  case SIM_FULL_CONE:
  case SIM_HOME:
    if (m == NULL)
      add_map(h, toward, h->eim_port); /* HOME filters on the destinations in here */
    out.sin_port = htons(h->eim_port);
    return out;
  case SIM_SYMMETRIC:
    if (m == NULL)
      m = add_map(h, toward, h->next_port++);
    out.sin_port = htons(m ? m->port : 0);
    return out;
  }
  return out;
}

/* Which host a datagram from src to dst reaches through its NAT; -1 when none lets it in. */
static int nat_in(sim *s, const struct sockaddr_in *src, const struct sockaddr_in *dst) {
  for (int i = 0; i < 2; i++) {
    sim_host *h = &s->h[i];
    if (h->nat == SIM_OPEN) {
      if (same(dst, &h->inside))
        return i;
      continue;
    }
    if (dst->sin_addr.s_addr != h->public_ip)
      continue;
    uint16_t port = ntohs(dst->sin_port);
    sim_map *m = find_map(h, src);
    switch (h->nat) {
    case SIM_FULL_CONE: return port == h->eim_port ? i : -1;
    case SIM_HOME: return port == h->eim_port && m != NULL ? i : -1;
    case SIM_SYMMETRIC: return m != NULL && m->port == port ? i : -1;
    default: return -1;
    }
  }
  return -1;
}

static void enqueue(sim *s, const struct sockaddr_in *src, const struct sockaddr_in *dst,
                    int stream_to, int from_stream, const uint8_t *data, size_t len) {
  if (s->n_pkts == SIM_MAX_PKTS || len > PL_FRAME_MAX_LEN)
    return;
  sim_pkt *k = &s->pkts[s->n_pkts++];
  memset(k, 0, sizeof *k);
  k->at = s->now + SIM_LATENCY_US;
  if (src)
    k->src = *src;
  if (dst)
    k->dst = *dst;
  k->stream_to = stream_to;
  k->from_stream = from_stream;
  k->len = len;
  memcpy(k->data, data, len);
}

static void relay_udp_out(sim *s, const struct sockaddr_in *dst, const uint8_t *data, size_t len) {
  if (!lost(s))
    enqueue(s, &s->relay, dst, -1, -1, data, len);
}

/* The rendezvous's own relay core (control/rendezvous/relay.c) decides; the sim only carries
 * its decision over the simulated network, as forward.c does over the real one. */
static void relay_recv(sim *s, const sim_pkt *k) {
  pl_rdv_relay_out out;
  uint8_t reply[PL_FRAME_MAX_LEN];
  if (k->from_stream >= 0)
    pl_rdv_relay_recv_stream(&s->pairings, &s->members[k->from_stream], s->pairing_hex, k->data,
                             k->len, &out);
  else
    pl_rdv_relay_recv_udp(&s->pairings, (const struct sockaddr *)&k->src, k->data, k->len, reply,
                          sizeof reply, &out);
  pl_rdv_relay_count(&s->relay_stats, &out);
  switch (out.action) {
  case PL_RDV_RELAY_DROP: s->relay_dropped++; break;
  case PL_RDV_RELAY_REPLY:
  case PL_RDV_RELAY_TO_UDP:
    /* Every address in the sim is IPv4. */
    relay_udp_out(s, (const struct sockaddr_in *)&out.to, out.data, out.len);
    break;
  case PL_RDV_RELAY_TO_STREAM:
    enqueue(s, NULL, NULL, out.member == &s->members[0] ? 0 : 1, -1, out.data, out.len);
    break;
  }
  if (out.action == PL_RDV_RELAY_TO_UDP || out.action == PL_RDV_RELAY_TO_STREAM)
    s->relay_forwarded++;
  const pl_rdv_pairing *p = pl_rdv_pairings_between(&s->members[0], &s->members[1]);
  for (int i = 0; i < 2; i++)
    s->relay_bound[i] = p != NULL && p->side[i].bound;
}

static void host_recv(sim *s, int i, const struct sockaddr_in *from, int via_tcp,
                      const uint8_t *data, size_t len) {
  sim_host *h = &s->h[i];
  const uint8_t *payload;
  size_t payloadlen;
  int rv = pl_punch_recv(h->p, (const struct sockaddr *)from, via_tcp, data, len, s->now, &payload,
                         &payloadlen);
  if (rv == 1) {
    h->data_received++;
    h->last_datalen = payloadlen;
    memcpy(h->last_data, payload, payloadlen);
  }
}

int sim_inject(sim *s, int i, const struct sockaddr_in *from, const uint8_t *data, size_t len) {
  const uint8_t *payload;
  size_t payloadlen;
  return pl_punch_recv(s->h[i].p, (const struct sockaddr *)from, 0, data, len, s->now, &payload,
                       &payloadlen);
}

static void deliver(sim *s, const sim_pkt *k) {
  if (k->from_stream >= 0) {
    relay_recv(s, k);
    return;
  }
  if (k->stream_to >= 0) {
    host_recv(s, k->stream_to, NULL, 1, k->data, k->len);
    return;
  }
  if (same(&k->dst, &s->relay)) {
    relay_recv(s, k);
    return;
  }
  if (s->block_direct && !same(&k->src, &s->relay))
    return;
  int j = nat_in(s, &k->src, &k->dst);
  if (j < 0 || s->h[j].udp_blocked)
    return;
  host_recv(s, j, &k->src, 0, k->data, k->len);
}

static void host_send(sim *s, int i, const uint8_t *buf, size_t len,
                      const struct sockaddr_storage *dst, int via_tcp) {
  memcpy(sim_last_sent[i], buf, len);
  sim_last_sent_len[i] = len;
  if (via_tcp) {
    enqueue(s, NULL, &s->relay, -1, i, buf, len);
    return;
  }
  if (s->h[i].udp_blocked || dst->ss_family != AF_INET)
    return;
  const struct sockaddr_in *d = (const struct sockaddr_in *)dst;
  struct sockaddr_in src = sim_outside_addr(s, i, d);
  if (!lost(s))
    enqueue(s, &src, d, -1, -1, buf, len);
}

static void poll_host(sim *s, int i) {
  sim_host *h = &s->h[i];
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  for (int n = 0; n < 10000 && pl_punch_poll(h->p, s->now, buf, sizeof buf, &len, &dst, &via_tcp);
       n++)
    host_send(s, i, buf, len, &dst, via_tcp);
  pl_punch_path path;
  if (pl_punch_path_get(h->p, &path)) {
    h->path_changes++;
    if (getenv("SIM_VERBOSE")) {
      char why[1024];
      pl_punch_describe(h->p, why, sizeof why);
      fprintf(stderr, "t=%.3f host=%d path=%d rtt=%llu: %s\n", (double)s->now / 1e6, i,
              (int)path.kind, (unsigned long long)path.rtt_us, why);
    }
  }
  h->path = path;
}

int sim_send_data(sim *s, int i, const void *payload, size_t len) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t outlen;
  struct sockaddr_storage dst;
  int via_tcp;
  int rv =
      pl_punch_send_data(s->h[i].p, payload, len, s->now, buf, sizeof buf, &outlen, &dst, &via_tcp);
  if (rv == 0)
    host_send(s, i, buf, outlen, &dst, via_tcp);
  return rv;
}

void sim_run_until(sim *s, uint64_t t) {
  for (;;) {
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < 2; i++) {
      poll_host(s, i);
      uint64_t d = pl_punch_deadline(s->h[i].p);
      if (d <= s->now) {
        /* After polling everything that is due, a deadline in the past would spin the glue. */
        s->deadline_bugs++;
        d = s->now + 1;
      }
      next = d < next ? d : next;
    }
    for (size_t k = 0; k < s->n_pkts; k++)
      next = s->pkts[k].at < next ? s->pkts[k].at : next;
    if (next > t) {
      s->now = t;
      return;
    }
    if (next > s->now)
      s->now = next;
    /* Deliver what has arrived, oldest first. */
    for (;;) {
      size_t best = s->n_pkts;
      for (size_t k = 0; k < s->n_pkts; k++)
        if (s->pkts[k].at <= s->now && (best == s->n_pkts || s->pkts[k].at < s->pkts[best].at))
          best = k;
      if (best == s->n_pkts)
        break;
      sim_pkt k = s->pkts[best];
      memmove(&s->pkts[best], &s->pkts[best + 1], (s->n_pkts - best - 1) * sizeof k);
      s->n_pkts--;
      deliver(s, &k);
    }
  }
}

int sim_run_until_path(sim *s, pl_path_kind kind, uint64_t t_max) {
  while (s->now < t_max) {
    uint64_t step = s->now + 1000;
    sim_run_until(s, step < t_max ? step : t_max);
    if (s->h[0].path.kind == kind && s->h[1].path.kind == kind)
      return 1;
  }
  return 0;
}

static void host_init(sim_host *h, sim_nat nat, int i) {
  memset(h, 0, sizeof *h);
  h->nat = nat;
  char inside[32], pub[32];
  snprintf(inside, sizeof inside, nat == SIM_OPEN ? "203.0.113.%d" : "10.0.%d.2", i + 1);
  snprintf(pub, sizeof pub, "198.51.100.%d", i + 1);
  h->inside = sim_addr(inside, 40000);
  struct sockaddr_in p = sim_addr(pub, 0);
  h->public_ip = p.sin_addr.s_addr;
  h->eim_port = (uint16_t)(50001 + i);
  h->next_port = (uint16_t)(60000 + 1000 * i);
}

/* The rendezvous's random source, scripted: the pairing it makes gets the sim's secret and ID. */
static const sim *scripted;
static int scripted_random(void *buf, size_t len) {
  if (len == sizeof scripted->secret)
    memcpy(buf, scripted->secret, len);
  else if (len == sizeof scripted->pairing)
    memcpy(buf, scripted->pairing, len);
  else
    return PL_ERR_INVALID;
  return 0;
}

static void must(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "sim: %s failed\n", what);
    exit(1);
  }
}

/* The relay's pairing table with the two hosts as members, paired the way the rendezvous does. */
static void relay_init(sim *s) {
  char id[2 * PL_FRAME_ID_LEN + 1];
  pl_rdv_pairing *p;
  must(pl_rdv_pairings_init(&s->pairings, scripted_random) == 0, "pairing table");
  for (int i = 0; i < 2; i++) {
    pl_hex_encode(id, s->id[i], PL_FRAME_ID_LEN);
    must(pl_rdv_pairing_member_init(&s->members[i], &s->h[i], id) == 0, "relay member");
  }
  scripted = s;
  must(pl_rdv_pairings_create(&s->pairings, &s->members[0], &s->members[1], &p) == 0 &&
           memcmp(p->id, s->pairing, sizeof s->pairing) == 0,
       "relay pairing");
  scripted = NULL;
  memcpy(s->pairing_hex, p->id_hex, sizeof s->pairing_hex);
}

void sim_init(sim *s, sim_nat a, sim_nat b, uint32_t seed) {
  memset(s, 0, sizeof *s);
  s->pkts = calloc(SIM_MAX_PKTS, sizeof *s->pkts);
  s->rng = seed ? seed : 1;
  host_init(&s->h[0], a, 0);
  host_init(&s->h[1], b, 1);
  /* Real key pairs (the seal tests' known-answer agents), so DATA is sealed end to end. */
  fixture_agents(&s->agent[0], &s->agent[1]);
  memcpy(s->id[0], s->agent[0].id, PL_FRAME_ID_LEN);
  memcpy(s->id[1], s->agent[1].id, PL_FRAME_ID_LEN);
  for (size_t i = 0; i < sizeof s->pairing; i++)
    s->pairing[i] = (uint8_t)(0xA0 + i);
  for (size_t i = 0; i < sizeof s->secret; i++)
    s->secret[i] = (uint8_t)(i * 7 + seed);
  pl_frame_keys_derive(&s->keys, s->secret, sizeof s->secret);
  relay_init(s);
  s->relay = sim_addr("192.0.2.1", 3478);
  s->stun = sim_addr("192.0.2.2", 3478);
}

int sim_start(sim *s, void (*tweak)(int i, pl_punch_config *cfg, void *arg), void *arg) {
  pl_punch_config cfg[2];
  struct sockaddr_in srflx[2];
  for (int i = 0; i < 2; i++)
    srflx[i] = sim_outside_addr(s, i, &s->stun);
  for (int i = 0; i < 2; i++) {
    pl_punch_config *c = &cfg[i];
    memset(c, 0, sizeof *c);
    memcpy(c->pairing, s->pairing, sizeof c->pairing);
    memcpy(c->self_id, s->id[i], PL_FRAME_ID_LEN);
    memcpy(c->peer_id, s->id[1 - i], PL_FRAME_ID_LEN);
    c->secret = s->secret;
    c->secretlen = sizeof s->secret;
    c->self_key_der = s->agent[i].sec1;
    c->self_key_der_len = sizeof s->agent[i].sec1;
    c->peer_key_der = s->agent[1 - i].spki;
    c->peer_key_der_len = sizeof s->agent[1 - i].spki;
    c->controlling = i == 0;
    c->start_us = 1000000 + (uint64_t)i * 5000; /* the offer reaches the two a little apart */
    memcpy(&c->local[c->n_local++], &s->h[i].inside, sizeof s->h[i].inside);
    memcpy(&c->local[c->n_local++], &srflx[i], sizeof srflx[i]);
    memcpy(&c->remote[c->n_remote++], &s->h[1 - i].inside, sizeof s->h[1 - i].inside);
    memcpy(&c->remote[c->n_remote++], &srflx[1 - i], sizeof srflx[1 - i]);
    c->has_relay = 1;
    memcpy(&c->relay, &s->relay, sizeof s->relay);
    c->relay_tcp = 1;
    if (tweak)
      tweak(i, c, arg);
  }
  for (int i = 0; i < 2; i++) {
    int rv = pl_punch_new(&s->h[i].p, &cfg[i]);
    if (rv != 0)
      return rv;
  }
  return 0;
}

void sim_free(sim *s) {
  for (int i = 0; i < 2; i++)
    pl_punch_del(s->h[i].p);
  pl_rdv_pairings_leave(&s->pairings, &s->members[0], NULL, NULL);
  pl_rdv_pairings_free(&s->pairings);
  free(s->pkts);
}
