/* peerlinkctl watch: the WatchEvents stream, one line per event, until Ctrl-C or the end. */

#include <signal.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "control/common/err.h"

static void watch_on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  pl_cli *cli = arg;
  const Peerlink__V1__WatchEventsResponse *r = (const Peerlink__V1__WatchEventsResponse *)msg;
  (void)call;
  if (cli->json)
    pl_cli_print_json(cli, msg, 0);
  else if (r->event)
    pl_cli_format_event(cli->out, r->event);
  /* Whoever reads a pipe wants each event as it happens, not when a buffer fills. */
  fflush(cli->out);
}

static void watch_on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                            void *arg) {
  pl_cli *cli = arg;
  (void)call;
  cli->call = NULL;
  if (cli->exit_code != PL_CLI_EXIT_OK) { /* the start failed and said so already */
    pl_cli_done(cli, cli->exit_code);
    return;
  }
  /* Ending the watch is what the user asked for with Ctrl-C or --timeout, not a failure. */
  if (code == PL_RPC_OK || cli->interrupted ||
      (code == PL_RPC_DEADLINE_EXCEEDED && cli->timeout_set)) {
    pl_cli_done(cli, PL_CLI_EXIT_OK);
    return;
  }
  pl_cli_print_rpc_error(cli, code, message);
  pl_cli_done(cli, PL_CLI_EXIT_RPC);
}

static void on_signal(uv_signal_t *handle, int signum) {
  pl_cli *cli = handle->data;
  (void)signum;
  cli->interrupted = 1;
  if (cli->call)
    pl_rpc_client_call_cancel(cli->call); /* on_status follows and ends the command */
}

static void start_signals(pl_cli *cli) {
  uv_signal_init(cli->loop, &cli->sigint);
  uv_signal_init(cli->loop, &cli->sigterm);
  cli->sigint.data = cli->sigterm.data = cli;
  uv_signal_start(&cli->sigint, on_signal, SIGINT);
  uv_signal_start(&cli->sigterm, on_signal, SIGTERM);
  cli->signals_on = 1;
}

int pl_cli_cmd_watch(pl_cli *cli) {
  static const pl_rpc_client_callbacks cb = {watch_on_message, watch_on_status};
  Peerlink__V1__WatchEventsRequest req = PEERLINK__V1__WATCH_EVENTS_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  start_signals(cli);
  req.include_current = cli->include_current;
  rv = pl_rpc_client_call_start(&cli->call, cli->channel, "/peerlink.v1.Agent/WatchEvents",
                                &peerlink__v1__watch_events_response__descriptor, &cb, cli,
                                cli->timeout_ms);
  if (rv == 0 && (rv = pl_rpc_client_call_send(cli->call, &req.base)) == 0)
    rv = pl_rpc_client_call_close_send(cli->call);
  if (rv != 0) {
    fprintf(cli->err, "peerlinkctl: %s failed: %s\n", cli->command, pl_strerror(rv));
    if (cli->call) {
      /* its on_status still runs and ends the command, as a failure */
      cli->exit_code = PL_CLI_EXIT_RPC;
      pl_rpc_client_call_cancel(cli->call);
      return 0;
    }
    pl_cli_done(cli, PL_CLI_EXIT_RPC);
    return PL_CLI_EXIT_RPC;
  }
  if (isatty(STDERR_FILENO) && !cli->json)
    fprintf(cli->err, "watching %s (Ctrl-C to stop)\n", cli->agent);
  return 0;
}
