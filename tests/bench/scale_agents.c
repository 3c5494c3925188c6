/* rdv_scale's synthetic agents: connect from their own source address, register (unsigned
 * Hello, Challenge, signed Hello, Registered), count the JOINED changes their network owes
 * them, and take part in pairings. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "peerlink/v1/rendezvous.pb-c.h"
#include "tests/bench/scale.h"

#define REGISTER_PATH "/peerlink.v1.Rendezvous/Register"

static const pl_h2conn_callbacks callbacks;

static void fail(sagent *a, const char *what, const char *detail) {
  scale *s = a->s;
  if (a->state == AG_CONNECTING || a->state == AG_REGISTERING)
    s->inflight--;
  if (a->state != AG_FAILED && a->state != AG_GONE) {
    a->state = AG_FAILED;
    s->failed++;
    if (s->errors++ < 5)
      fprintf(stderr, "rdv_scale: agent %zu: %s: %s\n", (size_t)(a - s->agents), what, detail);
  }
}

/* Agent i's source address: one per agent, 127.64.0.0/10 upwards (every 127/8 address is
 * local on Linux, no set-up needed); client K's from 127.64.0.0 + K * 2^18 (scale_main.c bounds
 * K and the agents so the ranges stay apart and inside 127.64.0.0/10). */
static void source_of(const scale *s, size_t i, struct sockaddr_in *sin) {
  uint32_t base = s->client > 0 ? (uint32_t)s->client << 18 : 0;
  memset(sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl((127u << 24) | ((64u << 16) + base + (uint32_t)(i + 1)));
}

static void start_one(scale *s, size_t i) {
  sagent *a = &s->agents[i];
  struct sockaddr_in src;
  a->s = s;
  a->conn.data = a;
  a->ag.ident = &s->ids[i];
  a->ag.port = (uint16_t)(20000 + i % 40000);
  a->ag.network = s->network_size ? s->networks[i / s->network_size] : NULL;
  /* Names are at most "scale9999-99999999" here; a cut one is still unique enough to read. */
  int n = s->client >= 0 ? snprintf(a->ag.name, sizeof a->ag.name, "scale%d-%zu", s->client, i)
                         : snprintf(a->ag.name, sizeof a->ag.name, "scale-%zu", i);
  if (n < 0)
    a->ag.name[0] = '\0';
  a->state = AG_CONNECTING;
  a->t0 = pl_bench_now_ns();
  s->inflight++;
  source_of(s, i, &src);
  int second = s->target2 != NULL && i % 2 == 1;
  int rv = pl_h2conn_connect(&a->conn, s->loop, (const struct sockaddr *)&src,
                             (const struct sockaddr *)(second ? &s->rdv_addr2 : &s->rdv_addr),
                             second ? s->target2 : s->target, &callbacks);
  if (rv != 0) {
    fail(a, "connect", uv_strerror(rv));
    a->state = AG_GONE; /* no handle left to close */
    s->closed++;
  }
}

void pl_scale_launch(scale *s) {
  while (s->inflight < s->window && s->next < s->limit)
    start_one(s, s->next++);
}

static void send_hello(sagent *a, const uint8_t *nonce, size_t noncelen) {
  uint8_t *data;
  size_t len;
  int rv = pl_bench_hello_pack(&a->ag, nonce, noncelen, &data, &len);
  if (rv == 0) {
    rv = pl_h2conn_send(&a->conn, a->stream, data, len, 0);
    free(data);
  }
  if (rv != 0)
    fail(a, "hello", pl_strerror(rv));
}

static void on_connect(pl_h2conn *c, int status) {
  sagent *a = c->data;
  if (status != 0 || a->state != AG_CONNECTING) {
    fail(a, "connect", uv_strerror(status));
    pl_h2conn_close(c);
    return;
  }
  a->state = AG_REGISTERING;
  if ((a->stream = pl_h2conn_call(c, REGISTER_PATH)) == 0) {
    fail(a, "call", "cannot start Register");
    return;
  }
  send_hello(a, NULL, 0);
}

static void registered(sagent *a) {
  scale *s = a->s;
  pl_bench_samples_add(&s->reg_lat, pl_bench_now_ns() - a->t0);
  a->state = AG_REGISTERED;
  s->inflight--;
  s->registered++;
  pl_scale_launch(s);
}

static void offer(sagent *a, const Peerlink__V1__Offer *o) {
  scale *s = a->s;
  spair *p = a->pairing;
  if (p == NULL)
    return; /* someone else's pairing request with us: counted on their side */
  a->pairing = NULL;
  if (o->role == PEERLINK__V1__ROLE__ROLE_CONTROLLING && o->pairing_secret.len == 32) {
    snprintf(p->pairing_id, sizeof p->pairing_id, "%s", o->pairing_id);
    memcpy(p->secret, o->pairing_secret.data, 32);
    p->relay_port = o->relay ? o->relay->port : 0;
  }
  if (++p->offers == 2) {
    /* The newest pairing: no later one can have replaced its secret (the relay phase's). */
    s->relay_pair = p;
    pl_bench_samples_add(&s->pair_lat, pl_bench_now_ns() - p->t0);
    s->pairs_done++;
    s->pair_inflight--;
    pl_scale_pair_start(s);
  }
}

static void on_message(pl_h2conn *c, uint32_t stream, const uint8_t *data, size_t len) {
  sagent *a = c->data;
  scale *s = a->s;
  (void)stream;
  Peerlink__V1__RegisterResponse *r = peerlink__v1__register_response__unpack(NULL, len, data);
  if (r == NULL) {
    fail(a, "response", "does not parse");
    return;
  }
  switch (r->msg_case) {
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_CHALLENGE:
    send_hello(a, r->challenge->nonce.data, r->challenge->nonce.len);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_REGISTERED:
    if (a->state == AG_REGISTERING)
      registered(a);
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_CHANGE:
    if (r->change->kind == PEERLINK__V1__REGISTRY_CHANGE__KIND__KIND_JOINED && a->pairing == NULL) {
      a->joined++;
      s->joined++;
    }
    break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_OFFER: offer(a, r->offer); break;
  case PEERLINK__V1__REGISTER_RESPONSE__MSG_PAIR_ERROR:
    if (a->pairing) {
      s->pair_errors++;
      s->pair_inflight--;
      a->pairing->b->pairing = NULL;
      a->pairing = NULL;
      if (s->errors++ < 5)
        fprintf(stderr, "rdv_scale: pair error: %s\n", r->pair_error->message);
      pl_scale_pair_start(s);
    }
    break;
  default: break;
  }
  peerlink__v1__register_response__free_unpacked(r, NULL);
  pl_scale_update(s);
}

static void on_end(pl_h2conn *c, uint32_t stream, int status, const char *message) {
  sagent *a = c->data;
  char detail[192];
  (void)stream;
  if (a->state != AG_GONE) {
    snprintf(detail, sizeof detail, "Register ended: status %d: %s", status, message);
    fail(a, "stream", detail);
  }
  pl_scale_update(a->s);
}

static void on_close(pl_h2conn *c, const char *why) {
  sagent *a = c->data;
  if (a->state != AG_GONE)
    fail(a, "connection", why);
  a->state = AG_GONE;
  a->s->closed++;
  pl_scale_update(a->s);
}

static const pl_h2conn_callbacks callbacks = {on_connect, on_message, on_end, on_close};

/* ---- Pairing ------------------------------------------------------------------------------ */

/* Pairs agents of different networks, so each pairing also brings a stranger into view (the
 * rendezvous's JOINED before the offer): the whole path an operator's Connect takes. */
void pl_scale_pair_start(scale *s) {
  while (s->pairing_on && s->pair_inflight < s->pair_window && s->next_pair < s->n_pairings) {
    spair *p = &s->pairings[s->next_pair];
    size_t k = s->next_pair++;
    /* Spread over the crowd; each agent in at most one pairing of this run. */
    size_t ia = (k * 2654435761u) % s->n, ib = (ia + s->n / 2 + 1) % s->n;
    sagent *a = &s->agents[ia], *b = &s->agents[ib];
    if (a->state != AG_REGISTERED || b->state != AG_REGISTERED || a->pairing || b->pairing ||
        a == b)
      continue; /* busy or gone: this sample is skipped */
    Peerlink__V1__PairRequest pr = PEERLINK__V1__PAIR_REQUEST__INIT;
    Peerlink__V1__RegisterRequest req = PEERLINK__V1__REGISTER_REQUEST__INIT;
    uint8_t buf[128];
    pr.peer_id = (char *)b->ag.ident->id;
    req.msg_case = PEERLINK__V1__REGISTER_REQUEST__MSG_PAIR;
    req.pair = &pr;
    size_t len = peerlink__v1__register_request__pack(&req, buf);
    p->a = a;
    p->b = b;
    p->offers = 0;
    a->pairing = b->pairing = p;
    p->t0 = pl_bench_now_ns();
    s->pair_inflight++;
    if (pl_h2conn_send(&a->conn, a->stream, buf, len, 0) != 0) {
      s->pair_inflight--;
      s->pair_errors++;
      a->pairing = b->pairing = NULL;
    }
  }
}

/* ---- Stages ------------------------------------------------------------------------------- */

void pl_scale_update(scale *s) {
  switch (s->stage) {
  case 1: s->wake = s->registered + s->failed >= s->limit; break;                  /* registering */
  case 2: s->wake = s->joined >= s->expect_joined || s->failed > 0; break;         /* draining */
  case 3: s->wake = s->next_pair >= s->n_pairings && s->pair_inflight == 0; break; /* pairing */
  case 4: /* pairing while more register */
    s->wake = s->next_pair >= s->n_pairings && s->pair_inflight == 0 &&
              s->registered + s->failed >= s->limit;
    break;
  case 5: s->wake = s->closed >= s->next; break; /* closing */
  default: break;
  }
}

int pl_scale_close_all(scale *s) {
  s->stage = 5;
  for (size_t i = 0; i < s->next; i++) {
    sagent *a = &s->agents[i];
    if (a->state == AG_GONE)
      continue;
    if (a->state != AG_FAILED)
      a->state = AG_GONE;
    pl_h2conn_close(&a->conn);
  }
  pl_scale_update(s);
  return pl_scale_wait(s);
}
