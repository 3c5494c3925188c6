/* peerlinkctl watch: the WatchEvents stream, one line per event, until Ctrl-C or the end. */

#include <unistd.h>

#include "clients/cli/cli.h"

static void watch_on_message(pl_cli *cli, const ProtobufCMessage *msg) {
  const Peerlink__V1__WatchEventsResponse *r = (const Peerlink__V1__WatchEventsResponse *)msg;
  if (cli->json)
    pl_cli_print_json(cli, msg, 0);
  else if (r->event)
    pl_cli_format_event(cli->out, r->event);
}

static int watch_on_status(pl_cli *cli, pl_rpc_status code, const char *message) {
  /* Ending the watch is what the user asked for with Ctrl-C or --timeout, not a failure. */
  if (code == PL_RPC_OK || cli->interrupted ||
      (code == PL_RPC_DEADLINE_EXCEEDED && cli->timeout_set))
    return PL_CLI_EXIT_OK;
  pl_cli_print_rpc_error(cli, code, message);
  return pl_cli_exit_for(code);
}

int pl_cli_cmd_watch(pl_cli *cli) {
  Peerlink__V1__WatchEventsRequest req = PEERLINK__V1__WATCH_EVENTS_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.include_current = cli->include_current;
  rv = pl_cli_stream(cli, "/peerlink.v1.Agent/WatchEvents", &req.base,
                     &peerlink__v1__watch_events_response__descriptor, watch_on_message,
                     watch_on_status);
  if (rv == 0 && isatty(STDERR_FILENO) && !cli->json)
    fprintf(cli->err, "watching %s (Ctrl-C to stop)\n", cli->agent);
  return rv;
}
