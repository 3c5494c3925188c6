/* peerlinkctl: flags, environment and dispatch. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/cli.h"

#define DEFAULT_AGENT "127.0.0.1:7700"
#define DEFAULT_TIMEOUT_MS 10000

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

static void usage(FILE *out) {
  fputs("usage: peerlinkctl [FLAGS] COMMAND\n"
        "\n"
        "Controls one peerlink agent over its gRPC API (peerlink.v1.Agent).\n"
        "\n"
        "commands:\n",
        out);
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fputs("\n"
        "flags (before or after the command):\n"
        "  --agent HOST:PORT  the agent's control address (env PEERLINK_AGENT;\n"
        "                     default " DEFAULT_AGENT ")\n"
        "  --token T          bearer token the agent requires (env PEERLINK_TOKEN)\n"
        "  --json             print responses as proto3 JSON (watch: one object per line)\n"
        "  --emit-defaults    with --json, also print fields that hold default values\n"
        "  --timeout MS       deadline per call in milliseconds, 0 for none (default 10000;\n"
        "                     watch: no deadline unless given, and reaching it ends the\n"
        "                     watch successfully)\n"
        "  --current          watch: start with one event describing the current state\n"
        "  -h, --help         show this help\n"
        "\n"
        "exit status: 0 success, 1 the call failed, 2 usage error\n",
        out);
}

static int usage_error(const char *fmt, const char *what) {
  fputs("peerlinkctl: ", stderr);
  fprintf(stderr, fmt, what);
  fputs(" (see 'peerlinkctl help')\n", stderr);
  return PL_CLI_EXIT_USAGE;
}

static int parse_ms(const char *s, uint64_t *pms) {
  char *end;
  if (!*s || *s == '-' || *s == '+')
    return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > 24ULL * 3600 * 1000 * 365) /* a year is plenty */
    return -1;
  *pms = v;
  return 0;
}

/* Takes "--name value" or "--name=value"; returns the value or NULL if missing. */
static const char *flag_value(int argc, char **argv, int *pi, const char *arg, size_t namelen) {
  if (arg[namelen] == '=')
    return arg + namelen + 1;
  if (*pi + 1 < argc)
    return argv[++*pi];
  return NULL;
}

/* Returns -1 to go on, else the exit code. */
static int parse(pl_cli *cli, int argc, char **argv, const command **pcmd) {
  int help = 0, current = 0;
  const char *timeout = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    size_t nl = strcspn(a, "=");
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      help = 1;
    } else if (!strcmp(a, "--json")) {
      cli->json = 1;
    } else if (!strcmp(a, "--emit-defaults")) {
      cli->emit_defaults = 1;
    } else if (!strcmp(a, "--current")) {
      current = 1;
    } else if (!strncmp(a, "--agent", nl) && nl == 7) {
      if (!(cli->agent = flag_value(argc, argv, &i, a, nl)))
        return usage_error("flag %s needs a value", "--agent");
      cli->agent_source = "--agent";
    } else if (!strncmp(a, "--token", nl) && nl == 7) {
      if (!(cli->token = flag_value(argc, argv, &i, a, nl)))
        return usage_error("flag %s needs a value", "--token");
    } else if (!strncmp(a, "--timeout", nl) && nl == 9) {
      if (!(timeout = flag_value(argc, argv, &i, a, nl)))
        return usage_error("flag %s needs a value", "--timeout");
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown flag %s", a);
    } else if (!cli->command) {
      cli->command = a;
    } else if (!strcmp(cli->command, "help")) {
      /* "help status": there is one page for now */
    } else if (cli->nargs < 2) {
      cli->args[cli->nargs++] = a; /* checked against the command below */
    } else {
      fprintf(stderr, "peerlinkctl: %s: too many arguments at '%s' (see 'peerlinkctl help')\n",
              cli->command, a);
      return PL_CLI_EXIT_USAGE;
    }
  }
  if (help || (cli->command && !strcmp(cli->command, "help"))) {
    usage(stdout);
    return PL_CLI_EXIT_OK;
  }
  if (!cli->command) {
    usage(stderr);
    return PL_CLI_EXIT_USAGE;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (!strcmp(commands[i].name, cli->command))
      *pcmd = &commands[i];
  if (!*pcmd)
    return usage_error("unknown command '%s'", cli->command);
  if (cli->nargs != (*pcmd)->nargs) {
    if ((*pcmd)->nargs == 0)
      fprintf(stderr, "peerlinkctl: %s takes no arguments, got '%s' (see 'peerlinkctl help')\n",
              cli->command, cli->args[0]);
    else
      fprintf(stderr, "peerlinkctl: usage: peerlinkctl %s %s\n", cli->command, (*pcmd)->argnames);
    return PL_CLI_EXIT_USAGE;
  }
  if (current && !((*pcmd)->flags & FLAG_CURRENT))
    return usage_error("flag --current does not apply to %s", cli->command);
  cli->include_current = current;
  if (timeout) {
    if (parse_ms(timeout, &cli->timeout_ms) != 0)
      return usage_error("invalid --timeout '%s': want milliseconds", timeout);
    cli->timeout_set = 1;
  } else if (strcmp(cli->command, "watch")) {
    cli->timeout_ms = DEFAULT_TIMEOUT_MS; /* a stream has no natural deadline */
  }
  if (cli->agent && !*cli->agent)
    return usage_error("flag %s needs a value", "--agent");
  if (!cli->agent && (cli->agent = getenv("PEERLINK_AGENT")) && *cli->agent)
    cli->agent_source = "PEERLINK_AGENT";
  if (!cli->agent || !*cli->agent) {
    cli->agent = DEFAULT_AGENT;
    cli->agent_source = "default";
  }
  if (!cli->token)
    cli->token = getenv("PEERLINK_TOKEN");
  if (cli->token && !*cli->token)
    cli->token = NULL;
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
