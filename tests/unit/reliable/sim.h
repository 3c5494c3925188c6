#ifndef PEERLINK_TESTS_RELIABLE_SIM_H
#define PEERLINK_TESTS_RELIABLE_SIM_H

/* Two reliable channels joined by a simulated link, on synthetic time, no sockets. Each
 * direction has a loss probability, a delay with optional jitter (jitter reorders), a rate (one
 * payload leaves every gap_us, so a burst arrives spread out as it would), a duplication
 * probability, a switch that cuts it entirely (a peer that vanished), and an
 * optional hook that sees every payload and may drop it. Randomness comes from a seeded
 * generator, so a run is the same every time. */

#include <stddef.h>
#include <stdint.h>

#include "agent/reliable/reliable.h"

typedef struct sim sim;
/* Called for every event of side `side` (0 = A, 1 = B). */
typedef void (*sim_event_cb)(sim *s, int side, const pl_reliable_event *ev, void *user);
/* Return 1 to drop this payload from `from`. */
typedef int (*sim_loss_hook)(sim *s, int from, const uint8_t *data, size_t len, void *user);

typedef struct sim_dir {
  double loss, dup;
  uint64_t delay_us, jitter_us;
  uint64_t gap_us, next_free; /* serialisation: the link is busy until next_free */
  int cut;
  uint64_t sent, dropped, delivered;
  uint64_t refused; /* delivered, and refused by the receiver with PL_ERR_PARSE */
} sim_dir;

typedef struct sim_pkt sim_pkt;

struct sim {
  pl_reliable *side[2];
  uint64_t now;
  sim_dir dir[2]; /* dir[i]: payloads sent by side i */
  uint64_t rng;
  sim_event_cb on_event;
  void *user; /* for on_event and sim_run's predicate */
  sim_loss_hook hook;
  void *hook_user;
  sim_pkt *pkts; /* in flight, by arrival time */
  uint64_t steps;
};

/* Both sides from cfg (NULL: defaults); links 10 ms each way, one payload per 10 us
 * (about 100 MB/s with full payloads), lossless. Aborts on failure. */
void sim_init(sim *s, const pl_reliable_config *cfg, uint64_t seed);
void sim_free(sim *s);

/* Uniform in [0, n) (n > 0), and in [0, 1). */
uint64_t sim_rand(sim *s, uint64_t n);
double sim_rand01(sim *s);

/* Polls both sides until they are quiet (sending what they make into the link) and drains
 * their events; then advances time to the next packet arrival or deadline and delivers what
 * has arrived. Returns 0 when nothing at all is scheduled any more (both idle, link empty).
 * Aborts if a side leaves a deadline in the past after being polled. */
int sim_step(sim *s);

/* Steps until done(s, user) or until the synthetic time passes `until`; returns done's last
 * value. */
int sim_run(sim *s, int (*done)(sim *s, void *user), uint64_t until);

#endif
