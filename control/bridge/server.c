/* The bridge's libwebsockets context on the program's libuv loop (a foreign loop), its one
 * vhost and the calls' channel to the agent; start and stop.
 *
 * Two traps of Debian's lws 4.1.6 are handled here: with a foreign loop lws_create_context
 * succeeds even when the port cannot be bound, so the vhost is created explicitly and checked;
 * and lws_context_destroy only begins closing its libuv handles: the loop must keep running
 * until they are closed, and only then may a second lws_context_destroy free the context (it
 * reports that by setting info.pcontext to NULL). Freeing it earlier would free handles libuv
 * still holds. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/lws/lws_uv.h"
#include "control/bridge/internal.h"
#include "control/common/err.h"
#include "control/common/flags.h"
#include "control/common/log.h"

static const struct lws_protocols protocols[] = {
    /* protocols[0] serves HTTP (and refuses other WebSocket subprotocols). */
    {"http", pl_bridge__http_callback, PL_BRIDGE__HTTP_PSS_SIZE, 0, 0, NULL, 0},
    /* rx_buffer_size bounds what one RECEIVE delivers; larger messages come in fragments. */
    {PL_BRIDGE_PROTOCOL_WS, pl_bridge__ws_callback, PL_BRIDGE__WS_PSS_SIZE, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int pl_bridge__header(struct lws *wsi, enum lws_token_indexes tok, char *out, size_t cap) {
  out[0] = '\0';
  int n = lws_hdr_copy(wsi, out, (int)cap, tok);
  if (n < 0) {
    out[0] = '\0';
    return 0;
  }
  return n;
}

int pl_bridge__custom_header(struct lws *wsi, const char *name_colon, char *out, size_t cap) {
  out[0] = '\0';
  int nlen = (int)strlen(name_colon);
  if (lws_hdr_custom_length(wsi, name_colon, nlen) <= 0)
    return 0;
  int n = lws_hdr_custom_copy(wsi, out, (int)cap, name_colon, nlen);
  if (n < 0) {
    out[0] = '\0';
    return 0;
  }
  return n;
}

void pl_bridge__request_token(struct lws *wsi, char *out, size_t cap) {
  char cookie[1024];
  if (pl_bridge__custom_header(wsi, PL_BRIDGE_TOKEN_HEADER ":", out, cap) > 0)
    return;
  out[0] = '\0';
  if (pl_bridge__header(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof cookie) > 0 &&
      pl_bridge_cookie_value(cookie, PL_BRIDGE_COOKIE, out, cap) != 0)
    out[0] = '\0';
}

int pl_bridge__request_allowed(pl_bridge *b, struct lws *wsi, const char *transport, int *pcross,
                               char *origin, size_t origin_cap) {
  char host[256], peer[64], path[256];
  int has_host = pl_bridge__header(wsi, WSI_TOKEN_HOST, host, sizeof host) > 0;
  int has_origin = pl_bridge__header(wsi, WSI_TOKEN_ORIGIN, origin, origin_cap) > 0;
  pl_bridge_reason r = PL_BRIDGE_R_NONE;
  *pcross = 0;
  if (!pl_bridge_access_host_ok(&b->access, has_host ? host : NULL))
    r = PL_BRIDGE_R_HOST;
  else if (!pl_bridge_access_origin_ok(&b->access, has_origin ? origin : NULL, host, pcross))
    r = PL_BRIDGE_R_ORIGIN;
  if (r == PL_BRIDGE_R_NONE)
    return 1;
  lws_get_peer_simple(wsi, peer, sizeof peer);
  if (pl_bridge__header(wsi, WSI_TOKEN_GET_URI, path, sizeof path) == 0)
    pl_bridge__header(wsi, WSI_TOKEN_POST_URI, path, sizeof path);
  pl_bridge__refuse(b, r, transport, peer, path);
  return 0;
}

static int copy_config(pl_bridge *b, const pl_bridge_config *cfg, char *err, size_t errlen) {
  char host[64];
  int port;
  if (!cfg->listen || pl_hostport_split(cfg->listen, host, &port) != 0) {
    snprintf(err, errlen, "--listen %s: expected HOST:PORT", cfg->listen ? cfg->listen : "");
    return PL_ERR_INVALID;
  }
  b->access.loopback = pl_host_is_loopback(host);
  if (!b->access.loopback && (!cfg->token || !cfg->token[0])) {
    snprintf(err, errlen, "--listen %s: a non-loopback address needs --token", cfg->listen);
    return PL_ERR_INVALID;
  }
  if (cfg->token && !cfg->token[0]) {
    snprintf(err, errlen, "--token: must not be empty");
    return PL_ERR_INVALID;
  }
  b->access.token = cfg->token;
  if (pl_bridge_services_parse(&b->services,
                               cfg->services ? cfg->services : PL_BRIDGE_SERVICES_DEFAULT) != 0) {
    snprintf(err, errlen, "--services %s: expected pkg.Service[,pkg.Service...]",
             cfg->services ? cfg->services : "");
    return PL_ERR_INVALID;
  }
  b->allow_origins = calloc(cfg->n_allow_origins + 1, sizeof *b->allow_origins);
  if (!b->allow_origins)
    return PL_ERR_NOMEM;
  for (size_t i = 0; i < cfg->n_allow_origins; i++) {
    const char *o = cfg->allow_origins[i];
    if (strncmp(o, "http://", 7) != 0 && strncmp(o, "https://", 8) != 0) {
      snprintf(err, errlen, "--allow-origin %s: expected http://HOST[:PORT] or https://...", o);
      return PL_ERR_INVALID;
    }
    if (!(b->allow_origins[i] = strdup(o)))
      return PL_ERR_NOMEM;
  }
  b->access.allow_origins = (const char *const *)b->allow_origins;
  b->access.n_allow_origins = cfg->n_allow_origins;
  if (cfg->ui_dir && !(b->ui_dir = strdup(cfg->ui_dir)))
    return PL_ERR_NOMEM;
  b->max_message = cfg->max_message_bytes ? cfg->max_message_bytes : PL_BRIDGE_MAX_MESSAGE_DEFAULT;
  return 0;
}

static void bridge_free(pl_bridge *b) {
  pl_bridge_services_free(&b->services);
  for (char **o = b->allow_origins; o && *o; o++)
    free(*o);
  free(b->allow_origins);
  free(b->ui_dir);
  free(b);
}

/* The listener: created explicitly so a port that cannot be bound is an error at start. */
static int create_vhost(pl_bridge *b, const char *listen, char *err, size_t errlen) {
  if (pl_lws_listen(b->ctx, "peerlink-bridge", listen, protocols, &b->vhost, &b->access.port) !=
      0) {
    snprintf(err, errlen, "--listen %s: cannot bind (address in use or not local?)", listen);
    return PL_ERR_IO;
  }
  return 0;
}

int pl_bridge_start(pl_bridge **pbridge, uv_loop_t *loop, const pl_bridge_config *cfg, char *err,
                    size_t errlen) {
  *pbridge = NULL;
  pl_bridge *b = calloc(1, sizeof *b);
  if (!b)
    return PL_ERR_NOMEM;
  b->loop = loop;
  int rv = copy_config(b, cfg, err, errlen);
  if (rv != 0)
    goto fail_config;
  rv = pl_rpc_channel_new(&b->channel, loop, cfg->agent ? cfg->agent : "", cfg->agent_token);
  if (rv != 0) {
    snprintf(err, errlen, "--agent %s: %s", cfg->agent ? cfg->agent : "", pl_strerror(rv));
    goto fail_config;
  }
  if (pl_lws_context_new(&b->ctx, loop, b) != 0) {
    snprintf(err, errlen,
             "cannot start libwebsockets on libuv (is Debian's libwebsockets-evlib-uv "
             "installed?)");
    rv = PL_ERR_IO;
    goto fail_context;
  }
  if ((rv = create_vhost(b, cfg->listen, err, errlen)) != 0)
    goto fail_vhost;
  *pbridge = b;
  return 0;

fail_vhost:
  /* lws has handles on the loop now: the caller runs it and then frees the bridge. */
  pl_bridge_stop(b);
  *pbridge = b;
  return rv;

fail_context:
  pl_rpc_channel_free(b->channel);
fail_config:
  bridge_free(b);
  return rv;
}

int pl_bridge_port(const pl_bridge *b) {
  return b->access.port;
}

const pl_bridge_counters *pl_bridge_counters_of(const pl_bridge *b) {
  return &b->counters;
}

void pl_bridge_stop(pl_bridge *b) {
  if (b->stopping)
    return;
  b->stopping = 1;
  /* Closes the listener and every connection, each detaching its call. */
  lws_context_destroy(b->ctx);
  /* Cancels what is left; the statuses still arrive, and free the calls. */
  pl_rpc_channel_free(b->channel);
  b->channel = NULL;
}

int pl_bridge_free(pl_bridge *b) {
  /* With a foreign loop the first lws_context_destroy only closes; once its handles are closed
   * (the loop ran dry) the second one frees the context and sets info.pcontext to NULL. */
  if (b->ctx)
    lws_context_destroy(b->ctx);
  int rv = b->ctx || b->calls ? PL_ERR_STATE : 0;
  bridge_free(b);
  return rv;
}
