/* peerlinkctl: flags (control/common/flags, with the environment as fallback) and dispatch. */

#include <stdlib.h>
#include <string.h>

#include "clients/cli/cli.h"
#include "control/common/flags.h"

#define DEFAULT_AGENT "127.0.0.1:7700"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_MS (365ULL * 24 * 3600 * 1000) /* a year is plenty */

enum { FLAG_CURRENT = 1 }; /* command-specific flags a command accepts */

typedef struct {
  const char *name;
  int (*run)(pl_cli *cli);
  int flags;
  const char *summary;
  int nargs;
  const char *argnames;
} command;

static const command commands[] = {
    {"status", pl_cli_cmd_status, 0, "identity, uptime, rendezvous state, addresses, paths", 0, ""},
    {"peers", pl_cli_cmd_peers, 0, "the other agents registered with the rendezvous", 0, ""},
    {"watch", pl_cli_cmd_watch, FLAG_CURRENT,
     "print events as they happen until Ctrl-C or the agent ends the stream", 0, ""},
    {"connect", pl_cli_cmd_connect, 0,
     "PEER_ID: open a path through the rendezvous and wait for it (up to --timeout)", 1, "PEER_ID"},
    {"disconnect", pl_cli_cmd_disconnect, 0, "PEER_ID: close the path to a peer", 1, "PEER_ID"},
    {"send", pl_cli_cmd_send, 0, "PEER_ID TEXT: send TEXT as one datagram on the path", 2,
     "PEER_ID TEXT"},
    {"help", NULL, 0, "show this help", 0, ""},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The usage text's head: pl_flags_usage adds the flags after it. */
static void usage_head(char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap,
                              "usage: peerlinkctl [FLAGS] COMMAND [ARGS]\n"
                              "\n"
                              "Controls one peerlink agent over its gRPC API (peerlink.v1.Agent).\n"
                              "Flags may come before or after the command.\n"
                              "\n"
                              "commands:\n");
  for (size_t i = 0; i < NCOMMANDS && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "  %-10s %s\n", commands[i].name, commands[i].summary);
  if (n < cap)
    snprintf(buf + n, cap - n, "\nexit status: 0 success, 1 the call failed, 2 usage error");
}

static int usage_error(const char *fmt, const char *what) {
  fputs("peerlinkctl: ", stderr);
  fprintf(stderr, fmt, what);
  fputs(" (see 'peerlinkctl help')\n", stderr);
  return PL_CLI_EXIT_USAGE;
}

/* --timeout has no default: a stream has no natural deadline, a unary call has 10 s. This
 * value, above the flag's maximum, says it was not given. */
#define TIMEOUT_UNSET UINT64_MAX

/* Returns -1 to go on, else the exit code. */
static int parse(pl_cli *cli, int argc, char **argv, const command **pcmd) {
  char *agent = NULL, *token = NULL, head[2048], err[256];
  int first;
  const pl_flag flags[] = {
      {"agent", "PEERLINK_AGENT", PL_FLAG_HOSTPORT, &agent, DEFAULT_AGENT,
       "the agent's control address", 0, 0, 0},
      {"token", "PEERLINK_TOKEN", PL_FLAG_STRING, &token, NULL, "bearer token the agent requires",
       0, 0, 0},
      {"json", NULL, PL_FLAG_BOOL, &cli->json, NULL,
       "print responses as proto3 JSON (watch: one object per line)", 0, 0, 0},
      {"emit-defaults", NULL, PL_FLAG_BOOL, &cli->emit_defaults, NULL,
       "with --json, also print fields that hold default values", 0, 0, 0},
      {"timeout", NULL, PL_FLAG_MILLIS, &cli->timeout_ms, NULL,
       "deadline per call, 0 for none (default 10s; watch: none, and reaching one ends it "
       "successfully)",
       0, MAX_TIMEOUT_MS, 0},
      {"current", NULL, PL_FLAG_BOOL, &cli->include_current, NULL,
       "watch: start with one event describing the current state", 0, 0, 0},
  };
  const size_t nflags = sizeof(flags) / sizeof(flags[0]);
  usage_head(head, sizeof(head));
  cli->timeout_ms = TIMEOUT_UNSET;
  int rv = pl_flags_parse_anywhere(flags, nflags, argc, argv, &first, err, sizeof(err), head);
  if (rv == 1)
    return PL_CLI_EXIT_OK; /* --help printed the usage */
  if (rv != 0) {
    fprintf(stderr, "peerlinkctl: %s\n", err);
    return PL_CLI_EXIT_USAGE;
  }
  if (first < argc)
    cli->command = argv[first++];
  if (cli->command && !strcmp(cli->command, "help")) {
    pl_flags_usage(stdout, flags, nflags, head); /* "help status": there is one page for now */
    return PL_CLI_EXIT_OK;
  }
  if (!cli->command) {
    pl_flags_usage(stderr, flags, nflags, head);
    return PL_CLI_EXIT_USAGE;
  }
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (!strcmp(commands[i].name, cli->command))
      *pcmd = &commands[i];
  if (!*pcmd)
    return usage_error("unknown command '%s'", cli->command);
  cli->nargs = argc - first;
  if (cli->nargs > (*pcmd)->nargs && (*pcmd)->nargs == 0) {
    fprintf(stderr, "peerlinkctl: %s takes no arguments, got '%s' (see 'peerlinkctl help')\n",
            cli->command, argv[first]);
    return PL_CLI_EXIT_USAGE;
  }
  if (cli->nargs > (*pcmd)->nargs) {
    fprintf(stderr, "peerlinkctl: %s: too many arguments at '%s' (see 'peerlinkctl help')\n",
            cli->command, argv[first + (*pcmd)->nargs]);
    return PL_CLI_EXIT_USAGE;
  }
  if (cli->nargs != (*pcmd)->nargs) {
    fprintf(stderr, "peerlinkctl: usage: peerlinkctl %s %s\n", cli->command, (*pcmd)->argnames);
    return PL_CLI_EXIT_USAGE;
  }
  for (int i = 0; i < cli->nargs; i++)
    cli->args[i] = argv[first + i];
  if (cli->include_current && !((*pcmd)->flags & FLAG_CURRENT))
    return usage_error("flag --current does not apply to %s", cli->command);
  cli->timeout_set = cli->timeout_ms != TIMEOUT_UNSET;
  if (!cli->timeout_set)
    cli->timeout_ms = strcmp(cli->command, "watch") ? DEFAULT_TIMEOUT_MS : 0;
  cli->agent = agent;
  cli->token = token && *token ? token : NULL;
  return -1;
}

int main(int argc, char **argv) {
  pl_cli cli;
  const command *cmd = NULL;
  memset(&cli, 0, sizeof(cli));
  cli.out = stdout;
  cli.err = stderr;
  int rv = parse(&cli, argc, argv, &cmd);
  if (rv >= 0)
    return rv;

  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "peerlinkctl: cannot create an event loop\n");
    return PL_CLI_EXIT_RPC;
  }
  cli.loop = &loop;
  rv = cmd->run(&cli);
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once the command's teardown closed everything */
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "peerlinkctl: event loop still busy at exit\n");
  return rv ? rv : cli.exit_code;
}
