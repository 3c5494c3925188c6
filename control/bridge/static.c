/* The UI's static files from --ui. Paths are checked before they touch the file system: no
 * "..", no hidden files, nothing outside the directory. Without a built UI, "/" explains how
 * to build it. */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "control/bridge/internal.h"

static const struct {
  const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".wasm", "application/wasm"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char not_built[] =
    "<!doctype html><meta charset=utf-8><title>peerlink-bridge</title>"
    "<h1>peerlink-bridge</h1><p>The browser UI is not built. Run <code>make build</code> (it "
    "bundles clients/web into clients/web/dist) or start the bridge with <code>--ui DIR</code>."
    "</p><p>gRPC calls work already: grpc-websockets and gRPC-Web at this address.</p>\n";

static const char *type_of(const char *path) {
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0)
      return types[i].type;
  return "application/octet-stream";
}

static int path_ok(const char *path) {
  if (path[0] != '/' || strchr(path, '\\'))
    return 0;
  /* "/." anywhere rules out "..", "." and hidden files in one test. */
  return strstr(path, "/.") == NULL && strstr(path, "//") == NULL;
}

static int answer(struct lws *wsi, unsigned status, const char *type, const char *body) {
  unsigned char buf[LWS_PRE + 1024 + sizeof not_built], *start = buf + LWS_PRE, *p = start,
                                                        *end = buf + sizeof buf - 1;
  size_t len = strlen(body);
  if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  /* Small enough to go with the headers; then the connection is free for the next request. */
  memcpy(p, body, len);
  if (lws_write(wsi, p, len, LWS_WRITE_HTTP_FINAL) < (int)len)
    return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int pl_bridge__static_serve(pl_bridge *b, struct lws *wsi, const char *path) {
  char file[1024];
  struct stat st;
  if (!path_ok(path))
    return answer(wsi, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n");
  const char *rel = strcmp(path, "/") == 0 ? "/index.html" : path;
  int n = snprintf(file, sizeof file, "%s%s", b->ui_dir ? b->ui_dir : "", rel);
  int found =
      b->ui_dir && n > 0 && (size_t)n < sizeof file && stat(file, &st) == 0 && S_ISREG(st.st_mode);
  if (!found) {
    if (strcmp(rel, "/index.html") == 0)
      return answer(wsi, HTTP_STATUS_OK, "text/html; charset=utf-8", not_built);
    return answer(wsi, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n");
  }
  b->counters.static_files++;
  static const char extra[] = "x-content-type-options: nosniff\r\ncache-control: no-cache\r\n";
  /* lws reads and sends the file in pieces from the loop; FILE_COMPLETION ends the
   * transaction. */
  int rv = lws_serve_http_file(wsi, file, type_of(file), extra, (int)strlen(extra));
  /* >0: sent already, and the transaction is ours to complete. */
  if (rv < 0 || (rv > 0 && lws_http_transaction_completed(wsi)))
    return -1;
  return 0;
}
