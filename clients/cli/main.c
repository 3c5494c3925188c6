/* peerlinkctl: flags (control/common/flags, with the environment as fallback) and dispatch. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "control/common/flags.h"

#define DEFAULT_AGENT "127.0.0.1:7700"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_MS (365ULL * 24 * 3600 * 1000) /* a year is plenty */

/* Command-specific flags a command accepts. */
enum {
  FLAG_CURRENT = 1,  /* --current */
  FLAG_DELIVERY = 2, /* --delivery */
  FLAG_BENCH = 4,    /* --transport --duration --bytes --chunk-size --rate --interval --reverse */
  FLAG_PAGE = 8,     /* --page-size --page-token */
  FLAG_FILE = 16,    /* --remote-name --overwrite */
  FLAG_SERVICE = 32, /* --service */
};

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
    {"peers", pl_cli_cmd_peers, FLAG_PAGE,
     "one page of the other agents this one sees (--page-size, --page-token)", 0, ""},
    {"watch", pl_cli_cmd_watch, FLAG_CURRENT,
     "print events as they happen until Ctrl-C or the agent ends the stream", 0, ""},
    {"connect", pl_cli_cmd_connect, 0,
     "PEER_ID: open a path through the rendezvous and wait for it (up to --timeout)", 1, "PEER_ID"},
    {"disconnect", pl_cli_cmd_disconnect, 0, "PEER_ID: close the path to a peer", 1, "PEER_ID"},
    {"send", pl_cli_cmd_send, FLAG_DELIVERY,
     "PEER_ID TEXT: send TEXT to the peer (--delivery datagram|reliable|quic|tcp)", 2,
     "PEER_ID TEXT"},
    {"bench", pl_cli_cmd_bench, FLAG_BENCH,
     "PEER_ID: measure throughput to the peer, like iperf3 (--transport udp|quic|tcp)", 1,
     "PEER_ID"},
    {"send-file", pl_cli_cmd_send_file, FLAG_FILE,
     "PEER_ID PATH: send a file; the peer verifies its SHA-256", 2, "PEER_ID PATH"},
    {"health", pl_cli_cmd_health, FLAG_SERVICE, "grpc.health.v1 Check of the agent's server", 0,
     ""},
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
    snprintf(buf + n, cap - n,
             "\n"
             "exit status:\n"
             "  0  success\n"
             "  1  any other failure\n"
             "  2  bad usage\n"
             "  3  unreachable: the agent, or the peer or path the call needs (UNAVAILABLE;\n"
             "     health: the server is not serving)\n"
             "  4  deadline exceeded (--timeout)\n"
             "  5  refused (FAILED_PRECONDITION, PERMISSION_DENIED, UNAUTHENTICATED,\n"
             "     ALREADY_EXISTS)");
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
#define UNSET UINT64_MAX /* the same for the other number flags without a default */

/* name → value for --delivery and --transport; -1 when unknown. */
static int lookup(const char *const *names, const char *s) {
  for (int i = 1; names[i]; i++)
    if (!strcmp(names[i], s))
      return i;
  return -1;
}

static const char *const deliveries[] = {"", "datagram", "reliable", "quic", "tcp", NULL};
static const char *const transports[] = {"", "udp", "quic", "tcp", NULL};

/* Streams have no natural deadline: they end with their work, or at Ctrl-C. */
static int is_stream(const char *command) {
  return !strcmp(command, "watch") || !strcmp(command, "bench") || !strcmp(command, "send-file");
}

/* Returns -1 to go on, else the exit code. */
static int parse(pl_cli *cli, int argc, char **argv, const command **pcmd) {
  char *agent = NULL, *token = NULL, *delivery = NULL, *transport = NULL, head[4096], err[256];
  int first;
  const pl_flag flags[] = {
      {"agent", "PEERLINK_AGENT", PL_FLAG_HOSTPORT, &agent, DEFAULT_AGENT,
       "the agent's control address", 0, 0, 0},
      {"token", "PEERLINK_TOKEN", PL_FLAG_STRING, &token, NULL, "bearer token the agent requires",
       0, 0, 0},
      {"json", NULL, PL_FLAG_BOOL, &cli->json, NULL,
       "print responses as proto3 JSON (streams: one object per line)", 0, 0, 0},
      {"emit-defaults", NULL, PL_FLAG_BOOL, &cli->emit_defaults, NULL,
       "with --json, also print fields that hold default values", 0, 0, 0},
      {"timeout", NULL, PL_FLAG_MILLIS, &cli->timeout_ms, NULL,
       "deadline per call, 0 for none (default 10s; watch, bench, send-file: none, and reaching "
       "one ends a watch successfully)",
       0, MAX_TIMEOUT_MS, 0},
      {"current", NULL, PL_FLAG_BOOL, &cli->include_current, NULL,
       "watch: start with one event describing the current state", 0, 0, 0},
      {"delivery", NULL, PL_FLAG_STRING, &delivery, NULL,
       "send: datagram (default), reliable, quic or tcp", 0, 0, 0},
      {"transport", NULL, PL_FLAG_STRING, &transport, NULL, "bench: udp (default), quic or tcp", 0,
       0, 0},
      {"duration", NULL, PL_FLAG_MILLIS, &cli->duration_ms, NULL,
       "bench: how long (default the agent's, 10s; with --bytes alone: until the bytes)", 0,
       3600000, 0},
      {"bytes", NULL, PL_FLAG_UINT, &cli->bytes, NULL,
       "bench: stop after this many bytes (with --duration, whichever comes first)", 0, 0, 0},
      {"chunk-size", NULL, PL_FLAG_UINT, &cli->chunk_size, NULL,
       "bench: datagram or chunk size in bytes (default: fits the path)", 1, UINT32_MAX, 0},
      {"rate", NULL, PL_FLAG_UINT, &cli->rate_bps, NULL,
       "bench: target rate in bits per second (default: as fast as possible)", 0, 0, 0},
      {"interval", NULL, PL_FLAG_MILLIS, &cli->interval_ms, NULL,
       "bench: report interval (default the agent's, 1s)", 0, UINT32_MAX, 0},
      {"reverse", NULL, PL_FLAG_BOOL, &cli->reverse, NULL,
       "bench: the peer sends and this agent receives (iperf3 -R)", 0, 0, 0},
      {"page-size", NULL, PL_FLAG_UINT, &cli->page_size, NULL,
       "peers: peers per page (default the agent's, 100; at most 1000)", 1, 1000, 0},
      {"page-token", NULL, PL_FLAG_STRING, &cli->page_token, NULL,
       "peers: the page after the one that printed this token", 0, 0, 0},
      {"remote-name", NULL, PL_FLAG_STRING, &cli->remote_name, NULL,
       "send-file: the name the peer stores it under (default: PATH's base name)", 0, 0, 0},
      {"overwrite", NULL, PL_FLAG_BOOL, &cli->overwrite, NULL,
       "send-file: replace a file of that name on the peer", 0, 0, 0},
      {"service", NULL, PL_FLAG_STRING, &cli->service, NULL,
       "health: the service to check (default \"\", the whole server)", 0, 0, 0},
  };
  const size_t nflags = sizeof(flags) / sizeof(flags[0]);
  usage_head(head, sizeof(head));
  cli->timeout_ms = TIMEOUT_UNSET;
  cli->duration_ms = cli->bytes = cli->chunk_size = cli->rate_bps = UNSET;
  cli->interval_ms = cli->page_size = UNSET;
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
  /* Each flag given to a command it does not apply to is named: a typo should not be ignored. */
  const struct {
    int given, group;
    const char *name;
  } given[] = {
      {cli->include_current, FLAG_CURRENT, "--current"},
      {delivery != NULL, FLAG_DELIVERY, "--delivery"},
      {transport != NULL, FLAG_BENCH, "--transport"},
      {cli->duration_ms != UNSET, FLAG_BENCH, "--duration"},
      {cli->bytes != UNSET, FLAG_BENCH, "--bytes"},
      {cli->chunk_size != UNSET, FLAG_BENCH, "--chunk-size"},
      {cli->rate_bps != UNSET, FLAG_BENCH, "--rate"},
      {cli->interval_ms != UNSET, FLAG_BENCH, "--interval"},
      {cli->reverse, FLAG_BENCH, "--reverse"},
      {cli->page_size != UNSET, FLAG_PAGE, "--page-size"},
      {cli->page_token != NULL, FLAG_PAGE, "--page-token"},
      {cli->remote_name != NULL, FLAG_FILE, "--remote-name"},
      {cli->overwrite, FLAG_FILE, "--overwrite"},
      {cli->service != NULL, FLAG_SERVICE, "--service"},
  };
  for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
    if (given[i].given && !((*pcmd)->flags & given[i].group)) {
      fprintf(stderr, "peerlinkctl: flag %s does not apply to %s (see 'peerlinkctl help')\n",
              given[i].name, cli->command);
      return PL_CLI_EXIT_USAGE;
    }
  uint64_t *numbers[] = {&cli->duration_ms, &cli->bytes,       &cli->chunk_size,
                         &cli->rate_bps,    &cli->interval_ms, &cli->page_size};
  for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
    if (*numbers[i] == UNSET)
      *numbers[i] = 0; /* the agent's default */
  cli->delivery = delivery ? lookup(deliveries, delivery) : 1;
  if (cli->delivery < 0)
    return usage_error("--delivery: want datagram, reliable, quic or tcp, got '%s'", delivery);
  cli->transport = transport ? lookup(transports, transport) : 1;
  if (cli->transport < 0)
    return usage_error("--transport: want udp, quic or tcp, got '%s'", transport);
  cli->timeout_set = cli->timeout_ms != TIMEOUT_UNSET;
  if (!cli->timeout_set)
    cli->timeout_ms = is_stream(cli->command) ? 0 : DEFAULT_TIMEOUT_MS;
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
  cli.tty = isatty(STDOUT_FILENO);
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
