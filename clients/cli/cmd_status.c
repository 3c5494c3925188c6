/* peerlinkctl status: GetStatus. */

#include "clients/cli/cli.h"

static int print_status(pl_cli *cli, const ProtobufCMessage *msg) {
  if (cli->json)
    return pl_cli_print_json(cli, msg, 1);
  pl_cli_format_status(cli->out, (const Peerlink__V1__GetStatusResponse *)msg);
  return 0;
}

int pl_cli_cmd_status(pl_cli *cli) {
  Peerlink__V1__GetStatusRequest req = PEERLINK__V1__GET_STATUS_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  return pl_cli_unary(cli, "/peerlink.v1.Agent/GetStatus", &req.base,
                      &peerlink__v1__get_status_response__descriptor, print_status);
}
