#ifndef PEERLINK_TESTS_BENCH_SCALE_H
#define PEERLINK_TESTS_BENCH_SCALE_H

/* rdv_scale: the rendezvous at scale on one machine (issue 10). N synthetic agents, each on its
 * own TCP connection from its own 127.x source address (h2conn.h: a few hundred bytes per
 * agent here, so the generator is not what limits), register in networks of K; then pairing
 * latency with the crowd registered and again while more agents register, STUN answers/s and
 * relay forwarding with the crowd still connected. One process, one libuv loop. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "tests/bench/bench.h"
#include "tests/bench/h2conn.h"
#include "tests/bench/synth_agent.h"

typedef struct scale scale;
typedef struct spair spair;

/* One synthetic agent and its Register stream. */
typedef struct sagent {
  pl_h2conn conn;
  scale *s;
  pl_bench_agent ag;
  uint32_t stream;
  uint8_t state; /* AG_* */
  uint8_t counted;
  uint32_t joined; /* JOINED changes received */
  uint64_t t0;     /* registration start */
  spair *pairing;  /* the pairing it waits for */
} sagent;

enum { AG_IDLE, AG_CONNECTING, AG_REGISTERING, AG_REGISTERED, AG_FAILED, AG_GONE };

/* One PairRequest and its two offers. */
struct spair {
  sagent *a, *b;
  uint64_t t0;
  int offers;
  /* the controlling side's offer, kept for the relay phase */
  char pairing_id[17];
  uint8_t secret[32];
  uint32_t relay_port;
};

typedef struct scale_reg_result {
  size_t agents, registered, errors;
  double seconds, per_s, drain_s;
  double cpu_s, cpu_us_per_reg; /* the rendezvous's (with --rendezvous2, both instances') */
  double cpu2_s;                /* --rendezvous2's share of cpu_s */
  double gen_cpu_s;             /* this process's */
  uint64_t joined, expect_joined;
  pl_bench_lat lat;
} scale_reg_result;

typedef struct scale_mem_result {
  long rss_before_kib, rss_after_kib, anon_after_kib, hwm_kib;
  double kib_per_agent;
  long kernel_tcp_kib_delta; /* /proc/net/sockstat TCP mem, both ends of every connection */
  long gen_rss_kib;
  /* --rendezvous2's; kib_per_agent2 is its RSS growth over all agents registered, as above */
  long rss_before2_kib, rss_after2_kib, anon_after2_kib, hwm2_kib;
  double kib_per_agent2;
} scale_mem_result;

typedef struct scale_pair_result {
  size_t pairs, errors;
  pl_bench_lat lat; /* PairRequest sent -> both offers in */
} scale_pair_result;

typedef struct scale_udp_result {
  double seconds;
  uint64_t sent, answered;
  double per_s;
  double cpu_us_each; /* the rendezvous's CPU per answered / forwarded datagram */
} scale_udp_result;

struct scale {
  uv_loop_t *loop;
  uv_timer_t deadline;
  int timed_out;
  const char *target; /* rendezvous gRPC HOST:PORT */
  struct sockaddr_storage rdv_addr, udp_addr;
  int has_udp;
  int pid;
  /* --rendezvous2: a second instance (sharing the registry through Redis); agents alternate
   * between the two, even ones on the first, odd ones on the second */
  const char *target2;
  struct sockaddr_storage rdv_addr2;
  int pid2;
  /* --client K: several rdv_scale processes against one cluster (scale.sh's N-instance row):
   * client K's source addresses start at 127.64.0.0 + K * 2^18 and its agent and network
   * names carry K, so no two clients share an address, a name or a network. -1: one client. */
  int client;
  /* --sync-ready P --sync-go G: at each sync point k (1: keys made; 2: registered, every
   * JOINED in; 3: pairings done, before STUN), create the file Pk and wait, the loop running,
   * until the file Gk exists (scale.sh starts every client's phases together). */
  const char *sync_ready, *sync_go;
  size_t n, network_size, window, extra, pairs, pair_window;
  double udp_seconds;
  uint64_t phase_timeout_ms;

  pl_bench_identity *ids;
  sagent *agents; /* n + extra */
  char (*networks)[32];
  size_t total; /* agents launched so far may go up to `limit` */
  size_t next, limit, inflight, registered, failed, errors;
  uint64_t joined, expect_joined;
  int wake;
  int stage;
  pl_bench_samples reg_lat, pair_lat;
  spair *pairings;
  size_t n_pairings, next_pair, pairs_done, pair_inflight, pair_errors;
  int pairing_on;
  spair *relay_pair;
  size_t closed;

  scale_reg_result reg, churn;
  scale_mem_result mem;
  scale_pair_result pair_idle, pair_busy;
  scale_udp_result stun, relay;
};

/* scale_agents.c */
/* Launches agents up to s->limit, s->window at a time, until registered. */
void pl_scale_launch(scale *s);
/* Starts s->pairs PairRequests among registered agents [0, s->n), pair_window at a time. */
void pl_scale_pair_start(scale *s);
void pl_scale_update(scale *s);
/* Closes every connection; returns when their handles closed. */
int pl_scale_close_all(scale *s);

/* scale_udp.c: blasts over UDP for s->udp_seconds with the loop not running (the connections
 * stay open and idle). Return 0 or PL_ERR_*. */
int pl_scale_stun(scale *s, scale_udp_result *res);
int pl_scale_relay(scale *s, scale_udp_result *res);

/* scale_report.c */
void pl_scale_report(FILE *f, const scale *s);
int pl_scale_report_json(const char *path, const scale *s);

/* Runs the loop until s->wake or the phase deadline. Returns 0 or PL_ERR_TIMEOUT. */
int pl_scale_wait(scale *s);

/* /proc/net/sockstat's TCP memory, KiB (the whole host). */
long pl_scale_sockstat_tcp_kib(void);

#endif
