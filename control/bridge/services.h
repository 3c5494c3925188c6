#ifndef PEERLINK_BRIDGE_SERVICES_H
#define PEERLINK_BRIDGE_SERVICES_H

/* The services whose methods the bridge carries; any other path is answered UNIMPLEMENTED
 * without reaching the agent. I/O-free. */

#include <stddef.h>

#define PL_BRIDGE_SERVICES_DEFAULT                                                                 \
  "peerlink.v1.Agent,grpc.health.v1.Health,grpc.reflection.v1.ServerReflection,"                   \
  "grpc.reflection.v1alpha.ServerReflection"
#define PL_BRIDGE_SERVICES_MAX 32

typedef struct pl_bridge_services {
  char *names[PL_BRIDGE_SERVICES_MAX];
  size_t n;
} pl_bridge_services;

/* Parses a comma-separated list of full service names ("pkg.Service"). Returns 0,
 * PL_ERR_INVALID (an empty or malformed name, more than PL_BRIDGE_SERVICES_MAX), PL_ERR_NOMEM. */
int pl_bridge_services_parse(pl_bridge_services *s, const char *list);
void pl_bridge_services_free(pl_bridge_services *s);

/* 1 when `path` is "/<service>/<Method>" for a listed service, else 0. */
int pl_bridge_services_allow(const pl_bridge_services *s, const char *path);

#endif
