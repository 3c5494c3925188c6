#ifndef PEERLINK_CLI_H
#define PEERLINK_CLI_H

/* peerlinkctl: the command-line client of one agent's peerlink.v1.Agent API.
 *
 * main.c parses flags (control/common/flags) and runs one command on a libuv loop; call.c holds
 * what every command needs (channel, unary calls, error lines, JSON output, teardown); cmd_*.c are
 * the commands; output.c formats responses for people (no I/O besides the FILE it is given).
 *
 * Exit codes: 0 success, 1 the RPC failed (or could not start), 2 usage error. */

#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"

enum { PL_CLI_EXIT_OK = 0, PL_CLI_EXIT_RPC = 1, PL_CLI_EXIT_USAGE = 2 };

typedef struct pl_cli {
  /* options */
  const char *command;
  const char *agent;   /* HOST:PORT (--agent, $PEERLINK_AGENT or the default) */
  const char *token;   /* NULL: none */
  int json;            /* print proto3 JSON instead of text */
  int emit_defaults;   /* with json: include fields holding default values */
  uint64_t timeout_ms; /* call deadline; 0: none */
  int timeout_set;     /* --timeout was given */
  int include_current; /* watch: start with the current state */
  const char *args[2]; /* the command's positional arguments */
  int nargs;

  /* running */
  uv_loop_t *loop;
  pl_rpc_channel *channel;
  pl_rpc_client_call *call; /* the call in progress; NULL once its status arrived */
  uv_timer_t teardown;      /* frees the channel outside of rpc callbacks */
  uv_signal_t sigint, sigterm;
  int signals_on;
  int interrupted; /* SIGINT/SIGTERM asked the call to stop */
  int exit_code;
  FILE *out, *err;
} pl_cli;

/* Commands. Each starts its work on cli->loop and returns 0, or returns an exit code when it
 * could not start (after printing why). The loop then runs until pl_cli_done's teardown. */
int pl_cli_cmd_status(pl_cli *cli);
int pl_cli_cmd_peers(pl_cli *cli);
int pl_cli_cmd_watch(pl_cli *cli);
int pl_cli_cmd_connect(pl_cli *cli);    /* args: PEER_ID */
int pl_cli_cmd_disconnect(pl_cli *cli); /* args: PEER_ID */
int pl_cli_cmd_send(pl_cli *cli);       /* args: PEER_ID TEXT */

/* ---- call.c ---- */

/* Opens cli->channel to cli->agent. Returns 0, or PL_CLI_EXIT_USAGE (bad address) or
 * PL_CLI_EXIT_RPC after printing the reason. */
int pl_cli_open(pl_cli *cli);

/* Ends the command with `exit_code`: frees the channel and closes handles on the next loop
 * turn, after which uv_run returns. Call it once, from any callback. */
void pl_cli_done(pl_cli *cli, int exit_code);

/* Prints "peerlinkctl: <command> failed: <STATUS>[: <message>]" to cli->err. */
void pl_cli_print_rpc_error(pl_cli *cli, pl_rpc_status code, const char *message);

/* One request, one response, handed to `print` (which returns nonzero after printing why it
 * failed); errors printed and mapped to exit codes.
 * Returns 0 or PL_CLI_EXIT_RPC (the call could not start; printed). */
int pl_cli_unary(pl_cli *cli, const char *method_path, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *response,
                 int (*print)(pl_cli *cli, const ProtobufCMessage *msg));

/* Writes msg as proto3 JSON and a newline to cli->out: indented when `pretty`, else on one
 * line. Returns 0 or a negative PL_ERR_* from pl_pbjson_encode (printed). */
int pl_cli_print_json(pl_cli *cli, const ProtobufCMessage *msg, int pretty);

/* ---- output.c: text for people ---- */

/* "registered" for RENDEZVOUS_STATE_REGISTERED: the value name without its enum's prefix,
 * lowercase, '-' for '_'. Unknown values print as their number. Returns buf. */
const char *pl_cli_enum_label(const ProtobufCEnumDescriptor *desc, int value, char *buf,
                              size_t buflen);

/* Aligned "key: value" lines, then one line per peer path. */
void pl_cli_format_status(FILE *out, const Peerlink__V1__GetStatusResponse *st);
/* A table: ID, NAME, ADDRESS, REGISTERED SINCE (local time); a line saying so when empty. */
void pl_cli_format_peers(FILE *out, const Peerlink__V1__ListPeersResponse *lp);
/* One line: local time, event kind, key=value details. */
void pl_cli_format_event(FILE *out, const Peerlink__V1__Event *ev);

#endif
