#ifndef PEERLINK_RPC_HEALTH_H
#define PEERLINK_RPC_HEALTH_H

/* grpc.health.v1.Health (Check and Watch) as gRPC's doc/health-checking.md describes it.
 *
 * The health table and the list of Watch streams live on the loop thread, like every handler.
 * The empty service name "" stands for the whole server. */

#include <stddef.h>

#include "control/rpc/rpc.h"

typedef struct pl_health pl_health;

/* A table holding only "" (the whole server) as SERVING. Returns 0 or PL_ERR_NOMEM. */
int pl_health_new(pl_health **ph);

/* Frees the table. Only after the server's calls are done: Watch streams still registered are
 * forgotten without being touched. NULL is a no-op. */
void pl_health_free(pl_health *h);

/* Sets `service` (NULL means "") to SERVING or NOT_SERVING and sends the new status to the Watch
 * streams of that service when it changed. Out of memory while adding a new name leaves the
 * name unknown (there is no caller who could do better). */
void pl_health_set(pl_health *h, const char *service, int serving);

/* The status Check would answer: 0 and *pstatus set to a
 * Grpc__Health__V1__HealthCheckResponse__ServingStatus value (SERVING or NOT_SERVING), or
 * PL_ERR_NOT_FOUND for a name never set. */
int pl_health_check(const pl_health *h, const char *service, int *pstatus);

/* Number of Watch streams currently registered (for tests and debug output). */
size_t pl_health_watchers(const pl_health *h);

/* grpc.health.v1.Health: Check (unary), Watch (server streaming). Lives as long as `h`. */
const pl_rpc_service *pl_health_service(pl_health *h);

#endif
