/* peerlinkctl send-file: the SendFile stream. A progress bar on a terminal; the final line
 * (size and the SHA-256 the peer verified) always. --json: one SendFileResponse per line. */

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/cli.h"

#define BAR_WIDTH 30

static struct {
  int bar_shown;
  int done;
  char path[PATH_MAX];
} run;

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

static void file_on_message(pl_cli *cli, const ProtobufCMessage *msg) {
  const Peerlink__V1__SendFileResponse *resp = (const Peerlink__V1__SendFileResponse *)msg;
  const Peerlink__V1__FileProgress *p = resp->progress;
  char bar[64], a[32], b[32];
  if (cli->json) {
    pl_cli_print_json(cli, msg, 0);
    run.done |= p && p->done;
    return;
  }
  if (!p)
    return;
  if (run.bar_shown)
    fputs("\r\033[K", cli->out);
  run.bar_shown = 0;
  if (p->done) {
    run.done = 1;
    fprintf(cli->out, "sent %s to %s: %" PRIu64 " bytes, sha256 %s\n",
            cli->remote_name ? cli->remote_name : base_name(run.path), cli->args[0], p->bytes_total,
            p->sha256 ? p->sha256 : "-");
    return;
  }
  if (!cli->tty)
    return;
  double fraction = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 0;
  fprintf(cli->out, "%s  %s / %s", pl_cli_fmt_bar(bar, sizeof(bar), fraction, BAR_WIDTH),
          pl_cli_fmt_bytes(a, sizeof(a), p->bytes_done),
          pl_cli_fmt_bytes(b, sizeof(b), p->bytes_total));
  run.bar_shown = 1;
}

static int file_on_status(pl_cli *cli, pl_rpc_status code, const char *message) {
  if (run.bar_shown)
    fputs("\r\033[K", cli->out);
  run.bar_shown = 0;
  if (code != PL_RPC_OK) {
    pl_cli_print_rpc_error(cli, code, cli->interrupted ? "interrupted" : message);
    return cli->interrupted ? PL_CLI_EXIT_RPC : pl_cli_exit_for(code);
  }
  if (!run.done) {
    pl_cli_print_rpc_error(cli, PL_RPC_INTERNAL, "the stream ended before the file was verified");
    return PL_CLI_EXIT_RPC;
  }
  return PL_CLI_EXIT_OK;
}

int pl_cli_cmd_send_file(pl_cli *cli) {
  Peerlink__V1__SendFileRequest req = PEERLINK__V1__SEND_FILE_REQUEST__INIT;
  /* The agent opens the file, from its own working directory: give it an absolute path. A path
   * that does not resolve here goes as given, for the agent to report. */
  if (!realpath(cli->args[1], run.path))
    snprintf(run.path, sizeof(run.path), "%s", cli->args[1]);
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.peer_id = (char *)cli->args[0];
  req.path = run.path;
  req.remote_name = (char *)cli->remote_name;
  req.overwrite = cli->overwrite;
  return pl_cli_stream(cli, "/peerlink.v1.Agent/SendFile", &req.base,
                       &peerlink__v1__send_file_response__descriptor, file_on_message,
                       file_on_status);
}
