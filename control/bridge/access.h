#ifndef PEERLINK_BRIDGE_ACCESS_H
#define PEERLINK_BRIDGE_ACCESS_H

/* Who may use the bridge (docs/bridge.md, "Security"). I/O-free.
 *   Host    on loopback, the Host header must name a loopback address or localhost with our
 *           port: a page on another name that resolves to 127.0.0.1 (DNS rebinding) is refused.
 *   Origin  absent (not a browser) or the page's own origin "http://<Host>", or one of the
 *           --allow-origin entries, compared exactly; anything else is refused.
 *   Token   with --token, every request presents it: the cookie PL_BRIDGE_COOKIE (set by
 *           opening any page with ?token=T), the header "x-peerlink-token", or (WebSocket
 *           calls) an "x-peerlink-token" line in the headers message. */

#include <stddef.h>

#define PL_BRIDGE_COOKIE "peerlink_bridge_token"
#define PL_BRIDGE_TOKEN_HEADER "x-peerlink-token"

typedef struct pl_bridge_access {
  int loopback; /* the bridge listens on a loopback address */
  int port;     /* the bound port */
  const char *const *allow_origins;
  size_t n_allow_origins;
  const char *token; /* NULL: no token */
} pl_bridge_access;

/* 1 when `host` (the Host header; NULL when absent) may reach us, else 0. */
int pl_bridge_access_host_ok(const pl_bridge_access *a, const char *host);

/* 1 when a request with `origin` (NULL when absent) and `host` may be served, else 0.
 * *pcross is set when the origin is allowed but not the page's own (CORS headers needed). */
int pl_bridge_access_origin_ok(const pl_bridge_access *a, const char *origin, const char *host,
                               int *pcross);

/* 1 when no token is configured or `presented` equals it (constant time), else 0. */
int pl_bridge_access_token_ok(const pl_bridge_access *a, const char *presented);

/* Copies the value of cookie `name` from a Cookie header into out. Returns 0, PL_ERR_NOT_FOUND
 * or PL_ERR_TOO_BIG (longer than cap - 1). */
int pl_bridge_cookie_value(const char *cookie, const char *name, char *out, size_t cap);

#endif
