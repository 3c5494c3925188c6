/* peerlinkctl peers: ListPeers, one page (--page-size, --page-token). */

#include <inttypes.h>

#include "clients/cli/cli.h"

static int print_peers(pl_cli *cli, const ProtobufCMessage *msg) {
  const Peerlink__V1__ListPeersResponse *lp = (const Peerlink__V1__ListPeersResponse *)msg;
  if (cli->json)
    return pl_cli_print_json(cli, msg, 1);
  pl_cli_format_peers(cli->out, lp);
  /* Only when there is more: a single page prints as it always did. */
  if (lp->next_page_token && *lp->next_page_token)
    fprintf(cli->out, "(%zu of %" PRIu64 "; next page: --page-token %s)\n", lp->n_peers,
            lp->total_size, lp->next_page_token);
  return 0;
}

int pl_cli_cmd_peers(pl_cli *cli) {
  Peerlink__V1__ListPeersRequest req = PEERLINK__V1__LIST_PEERS_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.page_size = (int32_t)cli->page_size;
  req.page_token = (char *)(cli->page_token ? cli->page_token : "");
  return pl_cli_unary(cli, "/peerlink.v1.Agent/ListPeers", &req.base,
                      &peerlink__v1__list_peers_response__descriptor, print_peers);
}
