/* peerlinkctl connect / disconnect / send: the path to a peer. */

#include <string.h>

#include "clients/cli/cli.h"

static int print_connect(pl_cli *cli, const ProtobufCMessage *msg) {
  const Peerlink__V1__ConnectResponse *r = (const Peerlink__V1__ConnectResponse *)msg;
  char kind[32];
  if (cli->json)
    return pl_cli_print_json(cli, msg, 1);
  if (r->path == NULL) {
    fprintf(cli->out, "no path\n");
    return 0;
  }
  fprintf(
      cli->out, "path to %s: %s", r->path->peer_id,
      pl_cli_enum_label(&peerlink__v1__path_kind__descriptor, r->path->kind, kind, sizeof kind));
  if (r->path->remote)
    fprintf(cli->out, " via %s:%u", r->path->remote->ip, r->path->remote->port);
  fprintf(cli->out, " (rtt %.1f ms, connected in %llu ms)\n", r->path->rtt_us / 1000.0,
          (unsigned long long)r->path->connect_ms);
  return 0;
}

int pl_cli_cmd_connect(pl_cli *cli) {
  Peerlink__V1__ConnectRequest req = PEERLINK__V1__CONNECT_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.peer_id = (char *)cli->args[0];
  req.wait = 1;
  /* The agent gives up a little before our call deadline, so its answer (with what it tried)
   * arrives instead of a bare DEADLINE_EXCEEDED. */
  if (cli->timeout_ms > 500)
    req.timeout_ms = (uint32_t)(cli->timeout_ms - 250);
  return pl_cli_unary(cli, "/peerlink.v1.Agent/Connect", &req.base,
                      &peerlink__v1__connect_response__descriptor, print_connect);
}

static int print_ok(pl_cli *cli, const ProtobufCMessage *msg) {
  if (cli->json)
    return pl_cli_print_json(cli, msg, 1);
  fprintf(cli->out, "ok\n");
  return 0;
}

int pl_cli_cmd_disconnect(pl_cli *cli) {
  Peerlink__V1__DisconnectRequest req = PEERLINK__V1__DISCONNECT_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.peer_id = (char *)cli->args[0];
  return pl_cli_unary(cli, "/peerlink.v1.Agent/Disconnect", &req.base,
                      &peerlink__v1__disconnect_response__descriptor, print_ok);
}

static int print_sent(pl_cli *cli, const ProtobufCMessage *msg) {
  const Peerlink__V1__SendResponse *r = (const Peerlink__V1__SendResponse *)msg;
  char how[32];
  if (cli->json)
    return pl_cli_print_json(cli, msg, 1);
  fprintf(cli->out, "sent %zu bytes to %s by %s, sequence %llu\n", strlen(cli->args[1]),
          cli->args[0],
          pl_cli_enum_label(&peerlink__v1__delivery__descriptor, cli->delivery, how, sizeof how),
          (unsigned long long)r->sequence);
  return 0;
}

int pl_cli_cmd_send(pl_cli *cli) {
  Peerlink__V1__SendRequest req = PEERLINK__V1__SEND_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.peer_id = (char *)cli->args[0];
  req.delivery = cli->delivery;
  req.data.data = (uint8_t *)cli->args[1];
  req.data.len = strlen(cli->args[1]);
  return pl_cli_unary(cli, "/peerlink.v1.Agent/Send", &req.base,
                      &peerlink__v1__send_response__descriptor, print_sent);
}
