/* What every command needs: the channel, unary calls, error lines, JSON, and teardown. */

#include <stdlib.h>

#include "clients/cli/cli.h"
#include "control/common/err.h"
#include "control/common/pbjson.h"

int pl_cli_open(pl_cli *cli) {
  int rv = pl_rpc_channel_new(&cli->channel, cli->loop, cli->agent, cli->token);
  if (rv == PL_ERR_INVALID) {
    fprintf(cli->err, "peerlinkctl: invalid --agent '%s': want HOST:PORT\n", cli->agent);
    return PL_CLI_EXIT_USAGE;
  }
  if (rv != 0) {
    fprintf(cli->err, "peerlinkctl: %s failed: %s\n", cli->command, pl_strerror(rv));
    return PL_CLI_EXIT_RPC;
  }
  /* Initialized here, not in done: done may run from inside an rpc callback. */
  uv_timer_init(cli->loop, &cli->teardown);
  return 0;
}

static void on_closed(uv_handle_t *handle) {
  (void)handle;
}

/* Runs on its own loop turn: freeing the channel inside one of its call's callbacks would
 * pull it out from under the library. */
static void on_teardown(uv_timer_t *timer) {
  pl_cli *cli = timer->data;
  pl_rpc_channel_free(cli->channel);
  cli->channel = NULL;
  uv_close((uv_handle_t *)&cli->teardown, on_closed);
  if (cli->signals_on) {
    uv_close((uv_handle_t *)&cli->sigint, on_closed);
    uv_close((uv_handle_t *)&cli->sigterm, on_closed);
    cli->signals_on = 0;
  }
}

void pl_cli_done(pl_cli *cli, int exit_code) {
  cli->exit_code = exit_code;
  cli->teardown.data = cli;
  uv_timer_start(&cli->teardown, on_teardown, 0, 0);
}

void pl_cli_print_rpc_error(pl_cli *cli, pl_rpc_status code, const char *message) {
  if (message && *message)
    fprintf(cli->err, "peerlinkctl: %s failed: %s: %s\n", cli->command, pl_rpc_status_name(code),
            message);
  else
    fprintf(cli->err, "peerlinkctl: %s failed: %s\n", cli->command, pl_rpc_status_name(code));
}

int pl_cli_print_json(pl_cli *cli, const ProtobufCMessage *msg, int pretty) {
  char *json;
  int flags = (pretty ? PL_PBJSON_PRETTY : 0) | (cli->emit_defaults ? PL_PBJSON_EMIT_DEFAULTS : 0);
  int rv = pl_pbjson_encode(msg, flags, &json);
  if (rv != 0) {
    fprintf(cli->err, "peerlinkctl: %s: cannot print the response as JSON: %s\n", cli->command,
            pl_strerror(rv));
    return rv;
  }
  fprintf(cli->out, "%s\n", json);
  free(json);
  return 0;
}

/* ---- unary calls ---- */

typedef struct {
  pl_cli *cli;
  int (*print)(pl_cli *cli, const ProtobufCMessage *msg);
  int got_response;
  int print_failed;
} unary_ctx;

static void unary_on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  unary_ctx *u = arg;
  (void)call;
  if (u->got_response++)
    return;
  /* Printed at once: the status that follows cannot take it back (the server sent it). */
  u->print_failed = u->print(u->cli, msg) != 0;
}

static void unary_on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                            void *arg) {
  unary_ctx *u = arg;
  pl_cli *cli = u->cli;
  (void)call;
  cli->call = NULL;
  int exit_code = PL_CLI_EXIT_OK;
  if (code != PL_RPC_OK) {
    pl_cli_print_rpc_error(cli, code, message);
    exit_code = PL_CLI_EXIT_RPC;
  } else if (!u->got_response) {
    /* gRPC's own clients call an OK unary call without a response INTERNAL */
    pl_cli_print_rpc_error(cli, PL_RPC_INTERNAL, "the server sent no response message");
    exit_code = PL_CLI_EXIT_RPC;
  } else if (u->print_failed) {
    exit_code = PL_CLI_EXIT_RPC;
  }
  if (fflush(cli->out) != 0 && exit_code == PL_CLI_EXIT_OK)
    exit_code = PL_CLI_EXIT_RPC; /* e.g. stdout on a full disk: do not claim success */
  free(u);
  pl_cli_done(cli, exit_code);
}

int pl_cli_unary(pl_cli *cli, const char *method_path, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *response,
                 int (*print)(pl_cli *cli, const ProtobufCMessage *msg)) {
  static const pl_rpc_client_callbacks cb = {unary_on_message, unary_on_status};
  unary_ctx *u = calloc(1, sizeof(*u));
  if (!u) {
    fprintf(cli->err, "peerlinkctl: %s failed: %s\n", cli->command, pl_strerror(PL_ERR_NOMEM));
    pl_cli_done(cli, PL_CLI_EXIT_RPC);
    return PL_CLI_EXIT_RPC;
  }
  u->cli = cli;
  u->print = print;
  int rv = pl_rpc_unary(&cli->call, cli->channel, method_path, request, response, &cb, u,
                        cli->timeout_ms);
  if (rv != 0) {
    free(u);
    fprintf(cli->err, "peerlinkctl: %s failed: %s\n", cli->command, pl_strerror(rv));
    pl_cli_done(cli, PL_CLI_EXIT_RPC);
    return PL_CLI_EXIT_RPC;
  }
  return 0;
}
