#ifndef PEERLINK_TESTS_BENCH_H2CONN_H
#define PEERLINK_TESTS_BENCH_H2CONN_H

/* A minimal HTTP/2 client for gRPC calls on a libuv loop, for load generation: one TCP
 * connection per synthetic agent, bound to a source address of our choosing, at a few hundred
 * bytes each (a gRPC C core client channel costs far more: docs/performance.md). It speaks just
 * what a gRPC server needs: the preface and SETTINGS (no server push, a zero HPACK table so the
 * server's header blocks never refer to one), HEADERS for a call, DATA frames carrying
 * length-prefixed messages, WINDOW_UPDATE as messages are read, PING and SETTINGS
 * acknowledgements, RST_STREAM. Header blocks it receives are only read for grpc-status and
 * grpc-message (literal, not Huffman-coded: how the gRPC C core sends them); everything else in
 * them is skipped.
 *
 * It trusts its peer (our own rendezvous on loopback): it is a benchmark tool, not a client
 * library. Reads go through one static buffer (one loop, one thread), so an idle connection
 * holds no read buffer; a frame split across reads is kept in a buffer of its own size. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

typedef struct pl_h2conn pl_h2conn;
typedef struct pl_h2stream pl_h2stream;

typedef struct pl_h2conn_callbacks {
  /* The TCP connection is up (status 0) or failed (a libuv error). Required. */
  void (*on_connect)(pl_h2conn *c, int status);
  /* One gRPC message on `stream`; `data` is valid until return. Required. */
  void (*on_message)(pl_h2conn *c, uint32_t stream, const uint8_t *data, size_t len);
  /* The stream ended: grpc-status (-1 when reset or unreadable) and grpc-message. Required. */
  void (*on_end)(pl_h2conn *c, uint32_t stream, int status, const char *message);
  /* The connection is gone (after every open stream's on_end); `why` for people. Required. */
  void (*on_close)(pl_h2conn *c, const char *why);
} pl_h2conn_callbacks;

struct pl_h2conn {
  uv_tcp_t tcp;
  const pl_h2conn_callbacks *cb;
  void *data; /* the caller's */
  const char *authority;
  pl_h2stream *streams;
  uint32_t next_stream;
  uint8_t *partial; /* a frame split across reads */
  size_t partial_len, partial_need;
  uint32_t unacked; /* DATA bytes read since the last connection WINDOW_UPDATE */
  int connected, closing;
};

/* Opens a TCP connection from `local` (NULL: any; port 0 is chosen at connect time, so one
 * source address serves every destination) to `remote` and sends the preface. `authority` (the
 * :authority header) must outlive the connection. Returns 0 or a negative libuv error; on
 * success on_connect follows. */
int pl_h2conn_connect(pl_h2conn *c, uv_loop_t *loop, const struct sockaddr *local,
                      const struct sockaddr *remote, const char *authority,
                      const pl_h2conn_callbacks *cb);

/* Starts a call to `path` ("/peerlink.v1.Rendezvous/Register"). Returns the stream ID, or 0
 * (not connected, out of memory). */
uint32_t pl_h2conn_call(pl_h2conn *c, const char *path);
/* Sends one message on the stream (end_stream: and half-closes it). Returns 0 or PL_ERR_*. */
int pl_h2conn_send(pl_h2conn *c, uint32_t stream, const uint8_t *data, size_t len, int end_stream);
/* Cancels the stream (RST_STREAM CANCEL); on_end follows at once with status -1. */
void pl_h2conn_cancel(pl_h2conn *c, uint32_t stream);
/* Closes the connection; on_end for open streams, then on_close once the handle closed. */
void pl_h2conn_close(pl_h2conn *c);

/* Header block parsing (h2conn_hpack.c), exposed for tests: finds grpc-status and grpc-message
 * in an HPACK block. *pstatus stays -1 when absent. Returns 0 or PL_ERR_PARSE. */
int pl_h2_hpack_grpc_status(const uint8_t *block, size_t len, int *pstatus, char *msg,
                            size_t msglen);

#endif
