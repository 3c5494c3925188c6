/* The results as a table for people and as JSON for scripts. Ratios are peerlink / reference:
 * for calls/s above 1 means peerlink is faster, for latency below 1 does. */
#include <stdio.h>

#include "control/common/err.h"
#include "tests/bench/bench.h"

static double ratio(double a, double b) {
  return b > 0 ? a / b : 0;
}

static double per_item_kib(long before, long after, size_t n) {
  return before >= 0 && after >= 0 && n ? (double)(after - before) / (double)n : -1;
}

static void table_fanout(FILE *f, const pl_bench *b, const pl_bench_fanout_result *x) {
  fprintf(f, "\nEvent fan-out: %zu WatchEvents streams on agent %s, %zu rounds\n", x->watchers,
          b->agent, x->rounds);
  fprintf(f, "  new agent's Hello -> first stream   p50 %8.0f us   max %8.0f us\n",
          x->first.p50_us, x->first.max_us);
  fprintf(f, "  new agent's Hello -> every stream   p50 %8.0f us   max %8.0f us\n", x->all.p50_us,
          x->all.max_us);
  fprintf(f, "  agent RSS  %ld KiB -> %ld KiB with the streams open (%.1f KiB per stream)\n",
          x->rss_before_kib, x->rss_after_kib,
          per_item_kib(x->rss_before_kib, x->rss_after_kib, x->watchers));
}

static void table_unary(FILE *f, const pl_bench *b, const pl_bench_results *r) {
  fprintf(f, "\nGetStatus, closed loop, %zu calls per K, one channel, same C client\n", b->calls);
  fprintf(f, "  %4s | %-29s | %-29s | %s\n", "", "peerlink-agent (C, rpc.h)",
          "grpcio (Python aio, C core)", "ratio peerlink/grpcio");
  fprintf(f, "  %4s | %9s %9s %9s | %9s %9s %9s | %9s %9s\n", "K", "calls/s", "p50 us", "p99 us",
          "calls/s", "p50 us", "p99 us", "calls/s", "p50");
  for (size_t i = 0; i < r->n_unary; i++) {
    const pl_bench_unary_result *a = &r->unary_agent[i], *g = &r->unary_ref[i];
    fprintf(f, "  %4zu | %9.0f %9.0f %9.0f | ", a->k, a->calls_per_s, a->lat.p50_us,
            a->lat.p99_us);
    if (r->ref_ok)
      fprintf(f, "%9.0f %9.0f %9.0f | %9.2f %9.2f\n", g->calls_per_s, g->lat.p50_us,
              g->lat.p99_us, ratio(a->calls_per_s, g->calls_per_s),
              ratio(a->lat.p50_us, g->lat.p50_us));
    else
      fprintf(f, "%9s %9s %9s | %9s %9s\n", "-", "-", "-", "-", "-");
  }
}

static void table_register(FILE *f, const pl_bench *b, const pl_bench_reg_result *x) {
  fprintf(f, "\nRegistration: %zu agents on %s, %zu channels (%zu TCP connections), %zu Hellos "
             "in flight\n",
          x->agents, b->rendezvous, b->channels, x->connections, b->reg_window);
  fprintf(f, "  P-256 key generation (not in the times below)   %.2f s\n", x->keygen_s);
  fprintf(f, "  Register start -> registered    p50 %8.0f us   p99 %8.0f us   max %8.0f us\n",
          x->lat.p50_us, x->lat.p99_us, x->lat.max_us);
  fprintf(f, "  all registered in %.2f s (%.0f agents/s)\n", x->register_s,
          x->register_s > 0 ? (double)x->agents / x->register_s : 0);
  fprintf(f, "  all %llu registry changes delivered in %.2f s\n", (unsigned long long)x->changes,
          x->drain_s);
  fprintf(f, "  rendezvous RSS  %ld KiB -> %ld KiB (%.1f KiB per agent)\n", x->rss_before_kib,
          x->rss_after_kib, per_item_kib(x->rss_before_kib, x->rss_after_kib, x->agents));
}

void pl_bench_report_table(FILE *f, const pl_bench *b, const pl_bench_results *r) {
  if (r->fanout.watchers)
    table_fanout(f, b, &r->fanout);
  if (r->n_unary)
    table_unary(f, b, r);
  if (r->reg.agents)
    table_register(f, b, &r->reg);
  fprintf(f, "\n");
}

static void json_lat(FILE *f, const char *key, const pl_bench_lat *l) {
  fprintf(f, "\"%s\": {\"n\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}", key,
          l->n, l->p50_us, l->p99_us, l->max_us);
}

static void json_unary(FILE *f, const pl_bench_unary_result *u) {
  fprintf(f, "{\"calls\": %zu, \"errors\": %zu, \"seconds\": %.3f, \"calls_per_s\": %.1f, ",
          u->calls, u->errors, u->seconds, u->calls_per_s);
  json_lat(f, "latency", &u->lat);
  fprintf(f, "}");
}

int pl_bench_report_json(const char *path, const pl_bench *b, const pl_bench_results *r) {
  FILE *f = fopen(path, "w");
  if (!f)
    return PL_ERR_IO;
  const pl_bench_fanout_result *fo = &r->fanout;
  const pl_bench_reg_result *rg = &r->reg;
  fprintf(f, "{\n  \"ok\": %s,\n", r->fanout_ok && r->unary_ok && r->reg_ok ? "true" : "false");
  fprintf(f, "  \"fanout\": {\"ok\": %s, \"watchers\": %zu, \"rounds\": %zu, \"errors\": %zu, ",
          r->fanout_ok ? "true" : "false", fo->watchers, fo->rounds, fo->errors);
  json_lat(f, "to_first", &fo->first);
  fprintf(f, ", ");
  json_lat(f, "to_all", &fo->all);
  fprintf(f, ", \"agent_rss_before_kib\": %ld, \"agent_rss_after_kib\": %ld, "
             "\"kib_per_stream\": %.2f},\n",
          fo->rss_before_kib, fo->rss_after_kib,
          per_item_kib(fo->rss_before_kib, fo->rss_after_kib, fo->watchers));
  fprintf(f, "  \"get_status\": {\"ok\": %s, \"ref_ok\": %s, \"calls_per_k\": %zu, \"runs\": [",
          r->unary_ok ? "true" : "false", r->ref_ok ? "true" : "false", b->calls);
  for (size_t i = 0; i < r->n_unary; i++) {
    const pl_bench_unary_result *a = &r->unary_agent[i], *g = &r->unary_ref[i];
    fprintf(f, "%s\n    {\"k\": %zu, \"peerlink\": ", i ? "," : "", a->k);
    json_unary(f, a);
    if (r->ref_ok) {
      fprintf(f, ", \"grpcio\": ");
      json_unary(f, g);
      fprintf(f, ", \"ratio_calls_per_s\": %.3f, \"ratio_p50\": %.3f, \"ratio_p99\": %.3f",
              ratio(a->calls_per_s, g->calls_per_s), ratio(a->lat.p50_us, g->lat.p50_us),
              ratio(a->lat.p99_us, g->lat.p99_us));
    }
    fprintf(f, "}");
  }
  fprintf(f, "]},\n");
  fprintf(f, "  \"register\": {\"ok\": %s, \"agents\": %zu, \"channels\": %zu, "
             "\"connections\": %zu, \"window\": %zu, \"errors\": %zu, \"keygen_s\": %.3f, "
             "\"register_s\": %.3f, \"drain_s\": %.3f, \"changes\": %zu, ",
          r->reg_ok ? "true" : "false", rg->agents, b->channels, rg->connections, b->reg_window,
          rg->errors, rg->keygen_s, rg->register_s, rg->drain_s, rg->changes);
  json_lat(f, "latency", &rg->lat);
  fprintf(f, ", \"rss_before_kib\": %ld, \"rss_after_kib\": %ld, \"kib_per_agent\": %.2f}\n}\n",
          rg->rss_before_kib, rg->rss_after_kib,
          per_item_kib(rg->rss_before_kib, rg->rss_after_kib, rg->agents));
  return fclose(f) == 0 ? 0 : PL_ERR_IO;
}
