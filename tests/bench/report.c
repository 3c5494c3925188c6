/* The results as a table for people and as JSON for scripts. Ratios are peerlink / reference:
 * for calls/s above 1 means peerlink is faster; for latency and CPU per call below 1 does. */
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
  fprintf(f, "  new agent's Register -> first stream   p50 %8.0f us   max %8.0f us\n",
          x->first.p50_us, x->first.max_us);
  fprintf(f, "  new agent's Register -> every stream   p50 %8.0f us   max %8.0f us\n",
          x->all.p50_us, x->all.max_us);
  fprintf(f, "  agent RSS  %ld KiB -> %ld KiB with the streams open (%.1f KiB per stream)\n",
          x->rss_before_kib, x->rss_after_kib,
          per_item_kib(x->rss_before_kib, x->rss_after_kib, x->watchers));
}

static void table_unary(FILE *f, const pl_bench *b, const pl_bench_results *r) {
  fprintf(f,
          "\nGetStatus, closed loop, one channel, same C client; %zu runs of %zu calls per K and "
          "server, taking turns (calls/s: median run; cpu: the server's CPU per call)\n",
          b->reps, b->calls);
  fprintf(f, "  %4s | %-36s | %-36s | %s\n", "", "peerlink-agent (C, rpc.h)",
          "grpcio (Python aio, same C core)", "ratio peerlink/grpcio");
  fprintf(f, "  %4s |%9s%9s%9s%9s |%9s%9s%9s%9s |%9s%9s%9s\n", "K", "calls/s", "p50 us", "p99 us",
          "cpu us", "calls/s", "p50 us", "p99 us", "cpu us", "calls/s", "p50", "cpu");
  for (size_t i = 0; i < r->n_unary; i++) {
    const pl_bench_unary_result *a = &r->unary_agent[i], *g = &r->unary_ref[i];
    fprintf(f, "  %4zu |%9.0f%9.0f%9.0f%9.1f |", a->k, a->calls_per_s, a->lat.p50_us, a->lat.p99_us,
            a->cpu_us_per_call);
    if (b->ref)
      fprintf(f, "%9.0f%9.0f%9.0f%9.1f |%9.2f%9.2f%9.2f\n", g->calls_per_s, g->lat.p50_us,
              g->lat.p99_us, g->cpu_us_per_call, ratio(a->calls_per_s, g->calls_per_s),
              ratio(a->lat.p50_us, g->lat.p50_us), ratio(a->cpu_us_per_call, g->cpu_us_per_call));
    else
      fprintf(f, "%9s%9s%9s%9s |%9s%9s%9s\n", "-", "-", "-", "-", "-", "-", "-");
  }
}

static void table_register(FILE *f, const pl_bench *b, const pl_bench_reg_result *x) {
  fprintf(f,
          "\nRegistration (Hello, Challenge, signed Hello, Registered): %zu agents on %s, in "
          "networks of %zu\n",
          x->agents, b->rendezvous, b->network_size ? b->network_size : x->agents);
  fprintf(f, "  %zu channels, %zu TCP connection(s) (gRPC shares one per address), %zu in flight\n",
          b->channels, x->connections, b->reg_window);
  fprintf(f, "  P-256 keys made beforehand in %.2f s\n", x->keygen_s);
  fprintf(f, "  Register start -> registered     p50 %8.0f us   p99 %8.0f us   max %8.0f us\n",
          x->lat.p50_us, x->lat.p99_us, x->lat.max_us);
  fprintf(f, "  all registered in %.2f s (%.0f agents/s)\n", x->register_s,
          x->register_s > 0 ? (double)x->agents / x->register_s : 0);
  fprintf(f, "  all %zu registry changes delivered in %.2f s\n", x->changes, x->drain_s);
  fprintf(f, "  rendezvous CPU %.2f s: %.0f us per agent, %.1f us per change delivered\n", x->cpu_s,
          x->agents ? x->cpu_s * 1e6 / (double)x->agents : 0,
          x->changes ? x->cpu_s * 1e6 / (double)x->changes : 0);
  fprintf(f, "  rendezvous RSS %ld -> %ld KiB once drained (%.1f KiB per agent), peak %ld KiB\n",
          x->rss_before_kib, x->rss_after_kib,
          per_item_kib(x->rss_before_kib, x->rss_after_kib, x->agents), x->rss_peak_kib);
  fprintf(f, "  then %zu more, one at a time      p50 %8.0f us   max %8.0f us\n", x->probe_lat.n,
          x->probe_lat.p50_us, x->probe_lat.max_us);
}

/* A failed phase prints no numbers: zeros and partial runs read like results. */
static int failed(FILE *f, const char *phase, int ok) {
  if (!ok)
    fprintf(f, "\n%s: FAILED (see the rdv_load: lines above; partial numbers in the JSON)\n",
            phase);
  return !ok;
}

void pl_bench_report_table(FILE *f, const pl_bench *b, const pl_bench_results *r) {
  if (r->fanout_ran && !failed(f, "Event fan-out", r->fanout_ok))
    table_fanout(f, b, &r->fanout);
  if (r->unary_ran && !failed(f, "GetStatus", r->unary_ok))
    table_unary(f, b, r);
  if (r->reg_ran && !failed(f, "Registration", r->reg_ok))
    table_register(f, b, &r->reg);
  fprintf(f, "\n");
}

static void json_lat(FILE *f, const char *key, const pl_bench_lat *l) {
  fprintf(f, "\"%s\": {\"n\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}", key,
          l->n, l->p50_us, l->p99_us, l->max_us);
}

static void json_unary(FILE *f, const pl_bench_unary_result *u) {
  fprintf(f,
          "{\"calls\": %zu, \"errors\": %zu, \"seconds\": %.3f, \"calls_per_s\": %.1f, "
          "\"server_cpu_us_per_call\": %.2f, ",
          u->calls, u->errors, u->seconds, u->calls_per_s, u->cpu_us_per_call);
  json_lat(f, "latency", &u->lat);
  fprintf(f, "}");
}

static void json_fanout(FILE *f, const pl_bench_results *r) {
  const pl_bench_fanout_result *fo = &r->fanout;
  fprintf(f, "{\"ok\": %s, \"watchers\": %zu, \"rounds\": %zu, \"errors\": %zu, ",
          r->fanout_ok ? "true" : "false", fo->watchers, fo->rounds, fo->errors);
  json_lat(f, "to_first", &fo->first);
  fprintf(f, ", ");
  json_lat(f, "to_all", &fo->all);
  fprintf(f, ", \"agent_rss_before_kib\": %ld, \"agent_rss_after_kib\": %ld, ", fo->rss_before_kib,
          fo->rss_after_kib);
  fprintf(f, "\"kib_per_stream\": %.2f}",
          per_item_kib(fo->rss_before_kib, fo->rss_after_kib, fo->watchers));
}

static void json_get_status(FILE *f, const pl_bench *b, const pl_bench_results *r) {
  fprintf(f, "{\"ok\": %s, \"calls_per_run\": %zu, \"runs_per_k\": %zu, \"by_k\": [",
          r->unary_ok ? "true" : "false", b->calls, b->reps);
  for (size_t i = 0; i < r->n_unary; i++) {
    const pl_bench_unary_result *a = &r->unary_agent[i], *g = &r->unary_ref[i];
    fprintf(f, "%s\n    {\"k\": %zu, \"peerlink\": ", i ? "," : "", a->k);
    json_unary(f, a);
    if (b->ref) {
      fprintf(f, ", \"grpcio\": ");
      json_unary(f, g);
      fprintf(f, ", \"ratio_calls_per_s\": %.3f, \"ratio_p50\": %.3f, \"ratio_p99\": %.3f",
              ratio(a->calls_per_s, g->calls_per_s), ratio(a->lat.p50_us, g->lat.p50_us),
              ratio(a->lat.p99_us, g->lat.p99_us));
      fprintf(f, ", \"ratio_server_cpu\": %.3f", ratio(a->cpu_us_per_call, g->cpu_us_per_call));
    }
    fprintf(f, "}");
  }
  fprintf(f, "]}");
}

static void json_register(FILE *f, const pl_bench *b, const pl_bench_results *r) {
  const pl_bench_reg_result *rg = &r->reg;
  fprintf(f, "{\"ok\": %s, \"agents\": %zu, \"channels\": %zu, \"connections\": %zu, ",
          r->reg_ok ? "true" : "false", rg->agents, b->channels, rg->connections);
  fprintf(f, "\"window\": %zu, \"errors\": %zu, \"keygen_s\": %.3f, \"register_s\": %.3f, ",
          b->reg_window, rg->errors, rg->keygen_s, rg->register_s);
  fprintf(f, "\"drain_s\": %.3f, \"changes\": %zu, \"rendezvous_cpu_s\": %.2f, ", rg->drain_s,
          rg->changes, rg->cpu_s);
  json_lat(f, "latency", &rg->lat);
  fprintf(f, ", ");
  json_lat(f, "one_at_a_time", &rg->probe_lat);
  fprintf(f, ", \"rss_before_kib\": %ld, \"rss_after_kib\": %ld, \"rss_peak_kib\": %ld, ",
          rg->rss_before_kib, rg->rss_after_kib, rg->rss_peak_kib);
  fprintf(f, "\"kib_per_agent\": %.2f}",
          per_item_kib(rg->rss_before_kib, rg->rss_after_kib, rg->agents));
}

/* A skipped phase is null, so a script can tell "not run" from "failed". */
int pl_bench_report_json(const char *path, const pl_bench *b, const pl_bench_results *r) {
  FILE *f = fopen(path, "w");
  if (!f)
    return PL_ERR_IO;
  fprintf(f, "{\n  \"ok\": %s,\n", r->fanout_ok && r->unary_ok && r->reg_ok ? "true" : "false");
  fprintf(f, "  \"fanout\": ");
  r->fanout_ran ? json_fanout(f, r) : (void)fputs("null", f);
  fprintf(f, ",\n  \"get_status\": ");
  r->unary_ran ? json_get_status(f, b, r) : (void)fputs("null", f);
  fprintf(f, ",\n  \"register\": ");
  r->reg_ran ? json_register(f, b, r) : (void)fputs("null", f);
  fprintf(f, "\n}\n");
  return fclose(f) == 0 ? 0 : PL_ERR_IO;
}
