#include "tests/unit/reliable/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

struct sim_pkt {
  sim_pkt *next;
  uint64_t at;
  int to;
  size_t len;
  uint8_t data[];
};

#define SIM_MTU 65535

static void die(const char *what) {
  fprintf(stderr, "sim: %s\n", what);
  abort();
}

void sim_init(sim *s, const pl_reliable_config *cfg, uint64_t seed) {
  memset(s, 0, sizeof *s);
  s->rng = seed ? seed : 1;
  s->now = 1000000; /* not 0: times of 0 hide mistakes */
  for (int i = 0; i < 2; i++) {
    if (pl_reliable_new(&s->side[i], cfg) != 0)
      die("pl_reliable_new");
    s->dir[i].delay_us = 10000;
    s->dir[i].gap_us = 10;
  }
}

void sim_free(sim *s) {
  sim_pkt *p = s->pkts, *next;
  for (; p != NULL; p = next) {
    next = p->next;
    free(p);
  }
  s->pkts = NULL;
  for (int i = 0; i < 2; i++) {
    pl_reliable_del(s->side[i]);
    s->side[i] = NULL;
  }
}

uint64_t sim_rand(sim *s, uint64_t n) {
  /* xorshift64* */
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return (s->rng * 2685821657736338717ull >> 11) % n;
}

double sim_rand01(sim *s) {
  return (double)sim_rand(s, 1ull << 52) / (double)(1ull << 52);
}

static void enqueue(sim *s, int to, const uint8_t *data, size_t len, uint64_t at) {
  sim_pkt *p = malloc(sizeof *p + len);
  if (p == NULL)
    die("out of memory");
  p->at = at;
  p->to = to;
  p->len = len;
  memcpy(p->data, data, len);
  /* Sorted by arrival, and by sending order among equal arrivals. */
  sim_pkt **pp = &s->pkts;
  while (*pp != NULL && (*pp)->at <= at)
    pp = &(*pp)->next;
  p->next = *pp;
  *pp = p;
}

static void transmit(sim *s, int from, const uint8_t *data, size_t len) {
  sim_dir *d = &s->dir[from];
  uint64_t depart = d->next_free > s->now ? d->next_free : s->now;
  d->next_free = depart + d->gap_us;
  d->sent++;
  if (d->cut || (s->hook != NULL && s->hook(s, from, data, len, s->hook_user)) ||
      sim_rand01(s) < d->loss) {
    d->dropped++;
    return;
  }
  int copies = sim_rand01(s) < d->dup ? 2 : 1;
  for (int c = 0; c < copies; c++) {
    uint64_t jitter = d->jitter_us ? sim_rand(s, d->jitter_us) : 0;
    enqueue(s, 1 - from, data, len, depart + d->delay_us + jitter);
  }
}

/* Polls side i until it has nothing more to send now, into the link. */
static void flush(sim *s, int i) {
  static uint8_t buf[SIM_MTU];
  size_t len;
  for (;;) {
    if (pl_reliable_poll(s->side[i], s->now, buf, sizeof buf, &len) != 0)
      die("pl_reliable_poll failed");
    if (len == 0)
      return;
    transmit(s, i, buf, len);
  }
}

static void quiesce(sim *s) {
  for (int i = 0; i < 2; i++) {
    flush(s, i);
    pl_reliable_event ev;
    while (pl_reliable_next_event(s->side[i], &ev))
      if (s->on_event != NULL)
        s->on_event(s, i, &ev, s->user);
  }
  /* An event handler may have sent: poll once more before checking the deadlines. */
  for (int i = 0; i < 2; i++) {
    flush(s, i);
    if (pl_reliable_deadline(s->side[i]) <= s->now)
      die("deadline in the past after polling");
  }
}

int sim_step(sim *s) {
  quiesce(s);
  uint64_t next = s->pkts != NULL ? s->pkts->at : UINT64_MAX;
  for (int i = 0; i < 2; i++) {
    uint64_t d = pl_reliable_deadline(s->side[i]);
    if (d < next)
      next = d;
  }
  if (next == UINT64_MAX)
    return 0;
  s->now = next;
  s->steps++;
  while (s->pkts != NULL && s->pkts->at <= s->now) {
    sim_pkt *p = s->pkts;
    s->pkts = p->next;
    s->dir[1 - p->to].delivered++;
    int rv = pl_reliable_recv(s->side[p->to], p->data, p->len, s->now);
    if (rv == PL_ERR_PARSE)
      s->dir[1 - p->to].refused++;
    else if (rv != 0 && rv != PL_ERR_CLOSED && rv != PL_ERR_FULL) {
      fprintf(stderr, "sim: pl_reliable_recv: %s\n", pl_strerror(rv));
      abort();
    }
    free(p);
  }
  return 1;
}

int sim_run(sim *s, int (*done)(sim *s, void *user), uint64_t until) {
  int d;
  while (!(d = done(s, s->user)) && s->now <= until)
    if (!sim_step(s)) {
      quiesce(s);
      return done(s, s->user);
    }
  return d;
}
