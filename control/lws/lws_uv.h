#ifndef PEERLINK_LWS_UV_H
#define PEERLINK_LWS_UV_H

/* libwebsockets 4.1 on a program's own libuv loop (a foreign loop), set up the way every
 * peerlink HTTP/WebSocket server needs it. Debian's lws 4.1.6 has two traps met here: with a
 * foreign loop lws_create_context succeeds even when a port cannot be bound, so vhosts are
 * created explicitly and their listen port checked; and the libuv event-loop plugin is a
 * separate package (libwebsockets-evlib-uv) the library does not depend on. */

#include <libwebsockets.h>
#include <uv.h>

/* A context with no listener of its own (LWS_SERVER_OPTION_EXPLICIT_VHOSTS) on `loop`, its
 * log lines going to pl_log; `user` is what lws_context_user returns. *pctx receives it (lws
 * also writes it there while it starts). Returns 0 or PL_ERR_IO (no libuv plugin). */
int pl_lws_context_new(struct lws_context **pctx, uv_loop_t *loop, void *user);

/* A vhost named `name` listening on `listen` ("HOST:PORT"; "localhost" means 127.0.0.1, an
 * empty host every address) with `protocols`. *pport receives the bound port. Returns 0 or
 * PL_ERR_IO (cannot bind: the caller names its flag in the message). */
int pl_lws_listen(struct lws_context *ctx, const char *name, const char *listen,
                  const struct lws_protocols *protocols, struct lws_vhost **pvhost, int *pport);

#endif
