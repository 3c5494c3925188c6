/* peerlinkctl peers: ListPeers. */

#include "clients/cli/cli.h"

static int print_peers(pl_cli *cli, const ProtobufCMessage *msg) {
  if (cli->json)
    return pl_cli_print_json(cli, msg, 1);
  pl_cli_format_peers(cli->out, (const Peerlink__V1__ListPeersResponse *)msg);
  return 0;
}

int pl_cli_cmd_peers(pl_cli *cli) {
  Peerlink__V1__ListPeersRequest req = PEERLINK__V1__LIST_PEERS_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  return pl_cli_unary(cli, "/peerlink.v1.Agent/ListPeers", &req.base,
                      &peerlink__v1__list_peers_response__descriptor, print_peers);
}
