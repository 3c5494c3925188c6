/* peerlinkctl health: grpc.health.v1.Health/Check, as grpc_health_probe does it. */

#include "clients/cli/cli.h"
#include "grpc/health/v1/health.pb-c.h"

static int print_health(pl_cli *cli, const ProtobufCMessage *msg) {
  const Grpc__Health__V1__HealthCheckResponse *r =
      (const Grpc__Health__V1__HealthCheckResponse *)msg;
  char label[64];
  if (cli->json) {
    if (pl_cli_print_json(cli, msg, 1) != 0)
      return 1;
  } else {
    fprintf(cli->out, "%s\n",
            pl_cli_enum_label(&grpc__health__v1__health_check_response__serving_status__descriptor,
                              r->status, label, sizeof(label)));
  }
  /* A server that answers but does not serve is as good as unreachable for a script. */
  if (r->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
    return PL_CLI_EXIT_UNREACHABLE;
  return 0;
}

int pl_cli_cmd_health(pl_cli *cli) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  int rv = pl_cli_open(cli);
  if (rv != 0)
    return rv;
  req.service = (char *)(cli->service ? cli->service : "");
  return pl_cli_unary(cli, "/grpc.health.v1.Health/Check", &req.base,
                      &grpc__health__v1__health_check_response__descriptor, print_health);
}
