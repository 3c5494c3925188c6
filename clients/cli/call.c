/* What every command needs: the channel, unary calls, error lines, JSON, and teardown. */

#include <signal.h>
#include <stdlib.h>

#include "clients/cli/cli.h"
#include "control/common/err.h"
#include "control/common/pbjson.h"

int pl_cli_exit_for(pl_rpc_status code) {
  switch (code) {
  case PL_RPC_OK: return PL_CLI_EXIT_OK;
  case PL_RPC_UNAVAILABLE: return PL_CLI_EXIT_UNREACHABLE;
  case PL_RPC_DEADLINE_EXCEEDED: return PL_CLI_EXIT_DEADLINE;
  case PL_RPC_FAILED_PRECONDITION:
  case PL_RPC_PERMISSION_DENIED:
  case PL_RPC_UNAUTHENTICATED:
  case PL_RPC_ALREADY_EXISTS: return PL_CLI_EXIT_REFUSED;
  default: return PL_CLI_EXIT_RPC;
  }
}

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

/* A call that could not start: says why and ends the command. Returns PL_CLI_EXIT_RPC. */
static int cannot_start(pl_cli *cli, int err) {
  fprintf(cli->err, "peerlinkctl: %s failed: %s\n", cli->command, pl_strerror(err));
  pl_cli_done(cli, PL_CLI_EXIT_RPC);
  return PL_CLI_EXIT_RPC;
}

typedef struct {
  pl_cli *cli;
  int (*print)(pl_cli *cli, const ProtobufCMessage *msg);
  int got_response;
  int print_rc; /* what print returned: 0, an exit code, or a negative PL_ERR_* */
} unary_ctx;

static void unary_on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  unary_ctx *u = arg;
  (void)call;
  if (u->got_response++)
    return;
  /* Printed at once: the status that follows cannot take it back (the server sent it). */
  u->print_rc = u->print(u->cli, msg);
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
    exit_code = pl_cli_exit_for(code);
  } else if (!u->got_response) {
    /* gRPC's own clients call an OK unary call without a response INTERNAL */
    pl_cli_print_rpc_error(cli, PL_RPC_INTERNAL, "the server sent no response message");
    exit_code = PL_CLI_EXIT_RPC;
  } else if (u->print_rc != 0) {
    exit_code = u->print_rc > 0 ? u->print_rc : PL_CLI_EXIT_RPC;
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
    return cannot_start(cli, PL_ERR_NOMEM);
  }
  u->cli = cli;
  u->print = print;
  int rv = pl_rpc_unary(&cli->call, cli->channel, method_path, request, response, &cb, u,
                        cli->timeout_ms);
  if (rv != 0) {
    free(u);
    return cannot_start(cli, rv);
  }
  return 0;
}

/* ---- server streams ---- */

typedef struct {
  pl_cli *cli;
  void (*on_message)(pl_cli *cli, const ProtobufCMessage *msg);
  int (*on_status)(pl_cli *cli, pl_rpc_status code, const char *message);
  int start_failed; /* the start failed and said so already */
} stream_ctx;

static void stream_on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  stream_ctx *s = arg;
  (void)call;
  s->on_message(s->cli, msg);
  /* Whoever reads a pipe wants each message as it happens, not when a buffer fills. */
  fflush(s->cli->out);
}

static void stream_on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                             void *arg) {
  stream_ctx *s = arg;
  pl_cli *cli = s->cli;
  (void)call;
  cli->call = NULL;
  int exit_code;
  if (s->start_failed) {
    exit_code = PL_CLI_EXIT_RPC;
  } else if (s->on_status) {
    exit_code = s->on_status(cli, code, message);
  } else {
    exit_code = pl_cli_exit_for(code);
    if (code != PL_RPC_OK)
      pl_cli_print_rpc_error(cli, code, message);
  }
  if (fflush(cli->out) != 0 && exit_code == PL_CLI_EXIT_OK)
    exit_code = PL_CLI_EXIT_RPC;
  free(s);
  pl_cli_done(cli, exit_code);
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

int pl_cli_stream(pl_cli *cli, const char *method_path, const ProtobufCMessage *request,
                  const ProtobufCMessageDescriptor *response,
                  void (*on_message)(pl_cli *cli, const ProtobufCMessage *msg),
                  int (*on_status)(pl_cli *cli, pl_rpc_status code, const char *message)) {
  static const pl_rpc_client_callbacks cb = {stream_on_message, stream_on_status};
  stream_ctx *s = calloc(1, sizeof(*s));
  if (!s) {
    return cannot_start(cli, PL_ERR_NOMEM);
  }
  s->cli = cli;
  s->on_message = on_message;
  s->on_status = on_status;
  start_signals(cli);
  int rv = pl_rpc_client_call_start(&cli->call, cli->channel, method_path, response, &cb, s,
                                    cli->timeout_ms);
  if (rv == 0 && (rv = pl_rpc_client_call_send(cli->call, request)) == 0)
    rv = pl_rpc_client_call_close_send(cli->call);
  if (rv != 0 && cli->call) {
    fprintf(cli->err, "peerlinkctl: %s failed: %s\n", cli->command, pl_strerror(rv));
    s->start_failed = 1; /* its on_status still runs and ends the command, as a failure */
    pl_rpc_client_call_cancel(cli->call);
    return 0;
  }
  if (rv != 0) {
    free(s);
    return cannot_start(cli, rv);
  }
  return 0;
}
