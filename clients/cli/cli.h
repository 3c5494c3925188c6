#ifndef PEERLINK_CLI_H
#define PEERLINK_CLI_H

/* peerlinkctl: the command-line client of one agent's peerlink.v1.Agent API.
 *
 * main.c parses flags (control/common/flags) and runs one command on a libuv loop; call.c holds
 * what every command needs (channel, unary calls, error lines, JSON output, teardown); cmd_*.c are
 * the commands; output.c formats responses for people (no I/O besides the FILE it is given).
 *
 * Exit codes (also in --help): 0 success; 1 any other failure; 2 bad usage; 3 the agent (or the
 * peer or path the call needs) is unreachable (UNAVAILABLE); 4 the deadline passed
 * (DEADLINE_EXCEEDED); 5 refused (FAILED_PRECONDITION, PERMISSION_DENIED, UNAUTHENTICATED,
 * ALREADY_EXISTS: the agent or the peer said no in its present state). */

#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "control/rpc/rpc.h"
#include "peerlink/v1/agent.pb-c.h"

enum {
  PL_CLI_EXIT_OK = 0,
  PL_CLI_EXIT_RPC = 1, /* any other failure */
  PL_CLI_EXIT_USAGE = 2,
  PL_CLI_EXIT_UNREACHABLE = 3,
  PL_CLI_EXIT_DEADLINE = 4,
  PL_CLI_EXIT_REFUSED = 5,
};

/* The exit code for a call that ended with `code` (see above). */
int pl_cli_exit_for(pl_rpc_status code);

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
  int delivery;            /* send: a Peerlink__V1__Delivery */
  int transport;           /* bench: a Peerlink__V1__BenchmarkTransport */
  uint64_t duration_ms;    /* bench: 0 for the agent's default */
  uint64_t bytes;          /* bench: stop after this many bytes; 0: duration only */
  uint64_t chunk_size;     /* bench: 0 for the agent's default */
  uint64_t rate_bps;       /* bench: 0 as fast as possible */
  uint64_t interval_ms;    /* bench: 0 for the agent's default */
  int reverse;             /* bench: the peer sends */
  uint64_t page_size;      /* peers: 0 for the agent's default */
  const char *page_token;  /* peers: NULL for the first page */
  const char *remote_name; /* send-file: NULL for the base name */
  int overwrite;           /* send-file */
  const char *service;     /* health: "" for the whole server */
  int tty;                 /* stdout is a terminal: progress bars and live lines */

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
int pl_cli_cmd_bench(pl_cli *cli);      /* args: PEER_ID */
int pl_cli_cmd_send_file(pl_cli *cli);  /* args: PEER_ID PATH */
int pl_cli_cmd_health(pl_cli *cli);

/* ---- call.c ---- */

/* Opens cli->channel to cli->agent. Returns 0, or PL_CLI_EXIT_USAGE (bad address) or
 * PL_CLI_EXIT_RPC after printing the reason. */
int pl_cli_open(pl_cli *cli);

/* Ends the command with `exit_code`: frees the channel and closes handles on the next loop
 * turn, after which uv_run returns. Call it once, from any callback. */
void pl_cli_done(pl_cli *cli, int exit_code);

/* Prints "peerlinkctl: <command> failed: <STATUS>[: <message>]" to cli->err. */
void pl_cli_print_rpc_error(pl_cli *cli, pl_rpc_status code, const char *message);

/* One request, one response, handed to `print` (which returns 0, or after printing why: an exit
 * code, or a negative PL_ERR_* for PL_CLI_EXIT_RPC); errors printed and mapped to exit codes.
 * Returns 0 or PL_CLI_EXIT_RPC (the call could not start; printed). */
int pl_cli_unary(pl_cli *cli, const char *method_path, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *response,
                 int (*print)(pl_cli *cli, const ProtobufCMessage *msg));

/* One request, then the server's stream: each message to `on_message`, the end to `on_status`
 * (NULL: the exit code from pl_cli_exit_for, the error printed) after which the command ends.
 * Ctrl-C/SIGTERM cancel the call (cli->interrupted is set). Returns 0 or PL_CLI_EXIT_RPC (the
 * call could not start; printed). */
int pl_cli_stream(pl_cli *cli, const char *method_path, const ProtobufCMessage *request,
                  const ProtobufCMessageDescriptor *response,
                  void (*on_message)(pl_cli *cli, const ProtobufCMessage *msg),
                  int (*on_status)(pl_cli *cli, pl_rpc_status code, const char *message));

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

/* "12.3 MBytes" (1024-based, as iperf3) and "98.7 Mbits/sec" (1000-based). Return buf. */
const char *pl_cli_fmt_bytes(char *buf, size_t len, uint64_t bytes);
const char *pl_cli_fmt_bits(char *buf, size_t len, double bps);

/* The column heads of the interval lines. */
void pl_cli_format_bench_head(FILE *out);
/* One interval line, like iperf3's: "[  1]   1.00-2.00  sec  1.19 MBytes  10.0 Mbits/sec ...".
 * prev_ms is where the interval started. */
void pl_cli_format_bench_interval(FILE *out, const Peerlink__V1__BenchmarkReport *r,
                                  uint64_t prev_ms);
/* The summary: a sender line and a receiver line with both ends' numbers. */
void pl_cli_format_bench_summary(FILE *out, const Peerlink__V1__BenchmarkReport *r);

/* A progress bar of `width` cells for done/total ("[#####     ]  50%"), into buf. */
const char *pl_cli_fmt_bar(char *buf, size_t len, double fraction, int width);

#endif
