#ifndef PEERLINK_RENDEZVOUS_HTTP_H
#define PEERLINK_RENDEZVOUS_HTTP_H

/* The rendezvous's --http listener (libwebsockets on the program's libuv loop): GET /health,
 * GET /debug/list_workers, WS /ws/register/{id} (JSON signalling: ws_register.c) and WS
 * /ws/watch (live registry changes: ws_watch.c). docs/protocol.md has every message. */

#include <stddef.h>
#include <uv.h>

#include "control/rendezvous/service.h"

typedef struct pl_rdv_http pl_rdv_http;

/* Serves `listen` (HOST:PORT, port 0 picks one) on `loop` for `svc`, whose on_change it takes.
 * With `token` every request but /health must carry it ("Authorization: Bearer TOKEN" or
 * ?token=TOKEN); a non-loopback address needs one. On failure writes a message naming --http
 * into err. Returns 0, PL_ERR_INVALID (a bad address, no token), PL_ERR_IO (libwebsockets cannot
 * start on libuv, or the port cannot be bound), PL_ERR_NOMEM. After PL_ERR_IO *ph is set: run
 * the loop, then pl_rdv_http_free it (lws has handles on the loop). */
int pl_rdv_http_start(pl_rdv_http **ph, uv_loop_t *loop, pl_rdv_service *svc, const char *listen,
                      const char *token, char *err, size_t errlen);
/* The bound port. */
int pl_rdv_http_port(const pl_rdv_http *h);
/* Closes the listener and every connection (WebSocket agents leave the registry); the loop must
 * run until their handles closed. Idempotent. */
void pl_rdv_http_stop(pl_rdv_http *h);
/* After pl_rdv_http_stop and the loop ran dry. NULL is fine. */
void pl_rdv_http_free(pl_rdv_http *h);

#endif
