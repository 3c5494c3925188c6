/* peerlinkctl bench: the Benchmark stream, like iperf3. On a terminal, interval lines with a
 * live progress bar under them; otherwise plain interval lines; then the summary with both
 * ends' numbers. --json: one BenchmarkResponse per line. */

#include <inttypes.h>

#include "clients/cli/cli.h"

#define BAR_WIDTH 30
#define DEFAULT_DURATION_MS 10000 /* the agent's default, for the bar only */

/* One benchmark per process: the command's own state. */
static struct {
  uint64_t prev_ms;    /* where the next interval starts */
  uint64_t sent_total; /* bytes sent so far, for a bytes-bound bar */
  int bar_shown;       /* a bar is on the terminal's last line */
  int got_summary;
  int head_shown; /* the column heads, before the first report (not before an error) */
} run;

static void clear_bar(pl_cli *cli) {
  if (run.bar_shown)
    fputs("\r\033[K", cli->out);
  run.bar_shown = 0;
}

static void show_bar(pl_cli *cli, const Peerlink__V1__BenchmarkReport *r) {
  char bar[64], done[32];
  double fraction;
  if (cli->bytes && (!cli->duration_ms || (double)run.sent_total / (double)cli->bytes >
                                              (double)r->elapsed_ms / (double)cli->duration_ms))
    fraction = (double)run.sent_total / (double)cli->bytes;
  else
    fraction =
        (double)r->elapsed_ms / (double)(cli->duration_ms ? cli->duration_ms : DEFAULT_DURATION_MS);
  fprintf(cli->out, "%s  %.1f s  %s sent", pl_cli_fmt_bar(bar, sizeof(bar), fraction, BAR_WIDTH),
          (double)r->elapsed_ms / 1000.0, pl_cli_fmt_bytes(done, sizeof(done), run.sent_total));
  run.bar_shown = 1;
}

static void bench_on_message(pl_cli *cli, const ProtobufCMessage *msg) {
  const Peerlink__V1__BenchmarkResponse *resp = (const Peerlink__V1__BenchmarkResponse *)msg;
  const Peerlink__V1__BenchmarkReport *r = resp->report;
  if (cli->json) {
    pl_cli_print_json(cli, msg, 0);
    run.got_summary |= r && r->final;
    return;
  }
  if (!r)
    return;
  clear_bar(cli);
  if (!run.head_shown++)
    pl_cli_format_bench_head(cli->out);
  if (r->final) {
    pl_cli_format_bench_summary(cli->out, r);
    run.got_summary = 1;
    return;
  }
  pl_cli_format_bench_interval(cli->out, r, run.prev_ms);
  run.prev_ms = r->elapsed_ms;
  run.sent_total += r->bytes_sent;
  if (cli->tty)
    show_bar(cli, r);
}

static int bench_on_status(pl_cli *cli, pl_rpc_status code, const char *message) {
  clear_bar(cli);
  if (code == PL_RPC_OK && !run.got_summary) {
    pl_cli_print_rpc_error(cli, PL_RPC_INTERNAL, "the stream ended without a summary");
    return PL_CLI_EXIT_RPC;
  }
  if (code != PL_RPC_OK) {
    pl_cli_print_rpc_error(cli, code, cli->interrupted ? "interrupted" : message);
    return cli->interrupted ? PL_CLI_EXIT_RPC : pl_cli_exit_for(code);
  }
  return PL_CLI_EXIT_OK;
}

int pl_cli_cmd_bench(pl_cli *cli) {
  Peerlink__V1__BenchmarkRequest req = PEERLINK__V1__BENCHMARK_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.peer_id = (char *)cli->args[0];
  req.transport = cli->transport;
  req.duration_ms = (uint32_t)cli->duration_ms;
  req.bytes = cli->bytes;
  req.chunk_size = (uint32_t)cli->chunk_size;
  req.rate_bps = cli->rate_bps;
  req.interval_ms = (uint32_t)cli->interval_ms;
  req.reverse = cli->reverse;
  return pl_cli_stream(cli, "/peerlink.v1.Agent/Benchmark", &req.base,
                       &peerlink__v1__benchmark_response__descriptor, bench_on_message,
                       bench_on_status);
}
