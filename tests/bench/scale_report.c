/* rdv_scale's table, JSON and /proc readings. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/bench/scale.h"

/* "TCP: inuse 5 orphan 0 tw 0 alloc 7 mem 2": mem is in pages, for the whole host. */
long pl_scale_sockstat_tcp_kib(void) {
  char line[256];
  long pages = -1;
  FILE *f = fopen("/proc/net/sockstat", "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f)) {
    const char *m = strstr(line, " mem ");
    if (strncmp(line, "TCP:", 4) == 0 && m && sscanf(m + 5, "%ld", &pages) == 1)
      break;
  }
  fclose(f);
  return pages < 0 ? -1 : pages * (sysconf(_SC_PAGESIZE) / 1024);
}

static void table_lat(FILE *f, const char *what, const pl_bench_lat *l) {
  fprintf(f, "  %-34s p50 %9.0f us   p99 %9.0f us   max %9.0f us   (n=%zu)\n", what, l->p50_us,
          l->p99_us, l->max_us, l->n);
}

static void table_reg(FILE *f, const char *what, const scale_reg_result *r) {
  fprintf(f, "  %s: %zu of %zu in %.2f s = %.0f registrations/s (%zu errors)\n", what,
          r->registered, r->agents, r->seconds, r->per_s, r->errors);
  fprintf(f, "    rendezvous CPU %.2f s = %.0f us per registration; generator CPU %.2f s\n",
          r->cpu_s, r->cpu_us_per_reg, r->gen_cpu_s);
  if (r->cpu2_s > 0)
    fprintf(f, "    (of the rendezvous CPU, %.2f s the first instance's, %.2f s the second's)\n",
            r->cpu_s - r->cpu2_s, r->cpu2_s);
  table_lat(f, "connect -> Registered", &r->lat);
}

void pl_scale_report(FILE *f, const scale *s) {
  const scale_mem_result *m = &s->mem;
  fprintf(f, "\nRendezvous at scale: %zu agents, one TCP connection each, networks of %zu\n", s->n,
          s->network_size);
  table_reg(f, "registered", &s->reg);
  fprintf(f, "    every JOINED delivered (%llu of %llu) %.2f s after the start\n",
          (unsigned long long)s->reg.joined, (unsigned long long)s->reg.expect_joined,
          s->reg.drain_s);
  fprintf(f,
          "  rendezvous memory: RSS %ld -> %ld KiB = %.1f KiB per agent (anonymous %ld KiB, "
          "peak %ld KiB)\n",
          m->rss_before_kib, m->rss_after_kib, m->kib_per_agent, m->anon_after_kib, m->hwm_kib);
  if (s->pid2)
    fprintf(f,
            "  second instance's memory: RSS %ld -> %ld KiB = %.1f KiB per agent of all %zu "
            "(anonymous %ld KiB, peak %ld KiB)\n",
            m->rss_before2_kib, m->rss_after2_kib, m->kib_per_agent2, s->reg.registered,
            m->anon_after2_kib, m->hwm2_kib);
  fprintf(f,
          "  kernel TCP memory (both ends) +%ld KiB; generator RSS %ld KiB (%.1f KiB per "
          "agent)\n",
          m->kernel_tcp_kib_delta, m->gen_rss_kib, (double)m->gen_rss_kib / (double)s->n);
  if (s->pair_idle.pairs + s->pair_idle.errors)
    table_lat(f, "pairing, crowd registered", &s->pair_idle.lat);
  if (s->extra) {
    table_lat(f, "pairing, while agents register", &s->pair_busy.lat);
    table_reg(f, "meanwhile registered", &s->churn);
  }
  if (s->stun.seconds > 0)
    fprintf(f, "  STUN: %.0f answers/s (%llu of %llu), %.2f us rendezvous CPU each\n",
            s->stun.per_s, (unsigned long long)s->stun.answered, (unsigned long long)s->stun.sent,
            s->stun.cpu_us_each);
  if (s->relay.seconds > 0)
    fprintf(f,
            "  relay: %.0f datagrams/s forwarded (%llu of %llu sent, 1302 bytes), %.2f us "
            "rendezvous CPU each\n",
            s->relay.per_s, (unsigned long long)s->relay.answered,
            (unsigned long long)s->relay.sent, s->relay.cpu_us_each);
  fprintf(f, "\n");
}

static void json_lat(FILE *f, const char *key, const pl_bench_lat *l) {
  fprintf(f, "\"%s\": {\"n\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}", key,
          l->n, l->p50_us, l->p99_us, l->max_us);
}

static void json_reg(FILE *f, const char *key, const scale_reg_result *r) {
  fprintf(f,
          "\"%s\": {\"agents\": %zu, \"registered\": %zu, \"errors\": %zu, \"seconds\": %.3f, "
          "\"per_s\": %.1f, \"rendezvous_cpu_s\": %.3f, \"cpu_us_per_registration\": %.1f, "
          "\"generator_cpu_s\": %.3f, \"rendezvous2_cpu_s\": %.3f, ",
          key, r->agents, r->registered, r->errors, r->seconds, r->per_s, r->cpu_s,
          r->cpu_us_per_reg, r->gen_cpu_s, r->cpu2_s);
  json_lat(f, "latency", &r->lat);
  fprintf(f, "}");
}

static void json_udp(FILE *f, const char *key, const scale_udp_result *u) {
  fprintf(f,
          "\"%s\": {\"seconds\": %.3f, \"sent\": %llu, \"received\": %llu, \"per_s\": %.1f, "
          "\"rendezvous_cpu_us_each\": %.3f}",
          key, u->seconds, (unsigned long long)u->sent, (unsigned long long)u->answered, u->per_s,
          u->cpu_us_each);
}

int pl_scale_report_json(const char *path, const scale *s) {
  const scale_mem_result *m = &s->mem;
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fprintf(f, "{\"agents\": %zu, \"network_size\": %zu, \"window\": %zu, ", s->n, s->network_size,
          s->window);
  json_reg(f, "register", &s->reg);
  fprintf(f,
          ", \"drain_s\": %.3f, \"memory\": {\"rss_before_kib\": %ld, \"rss_after_kib\": %ld, "
          "\"anonymous_kib\": %ld, \"peak_kib\": %ld, \"kib_per_agent\": %.2f, "
          "\"kernel_tcp_kib\": %ld, \"generator_rss_kib\": %ld}, ",
          s->reg.drain_s, m->rss_before_kib, m->rss_after_kib, m->anon_after_kib, m->hwm_kib,
          m->kib_per_agent, m->kernel_tcp_kib_delta, m->gen_rss_kib);
  if (s->pid2)
    fprintf(f,
            "\"memory2\": {\"rss_before_kib\": %ld, \"rss_after_kib\": %ld, "
            "\"anonymous_kib\": %ld, \"peak_kib\": %ld, \"kib_per_agent\": %.2f}, ",
            m->rss_before2_kib, m->rss_after2_kib, m->anon_after2_kib, m->hwm2_kib,
            m->kib_per_agent2);
  json_lat(f, "pairing_idle", &s->pair_idle.lat);
  fprintf(f, ", ");
  json_lat(f, "pairing_busy", &s->pair_busy.lat);
  fprintf(f, ", ");
  json_reg(f, "register_during_pairing", &s->churn);
  fprintf(f, ", ");
  json_udp(f, "stun", &s->stun);
  fprintf(f, ", ");
  json_udp(f, "relay", &s->relay);
  fprintf(f, "}\n");
  return fclose(f) == 0 ? 0 : -1;
}
