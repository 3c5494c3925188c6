#ifndef PEERLINK_AGENT_FILES_SEND_H
#define PEERLINK_AGENT_FILES_SEND_H

/* The sending side of one file transfer. Opens the local file with libuv's file operations
 * (never blocking the loop), then a FILE stream on the peer's QUIC connection, and streams the
 * header, the file in chunks read as the stream takes them (never the whole file; the SHA-256
 * is computed as the chunks pass) and the trailer (agent/files/wire.h). Progress is what the
 * peer acknowledged; the end is the peer's verdict, or why there was none. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/files/wire.h"
#include "agent/quic/quic.h"

typedef struct pl_files_send pl_files_send;

/* How a transfer ended. */
typedef enum {
  PL_FILES_SENT = 0,      /* the peer verified the SHA-256 and stored the file */
  PL_FILES_LOCAL_MISSING, /* the local file does not exist */
  PL_FILES_LOCAL_DENIED,  /* no permission to read it */
  PL_FILES_LOCAL_INVALID, /* not a regular file (a directory, a device) */
  PL_FILES_LOCAL_IO,      /* reading failed, or the file shrank while it was sent */
  PL_FILES_NO_CONN,       /* no QUIC connection to the peer when the file was ready */
  PL_FILES_REFUSED,       /* the peer's verdict was not "stored": see code */
  PL_FILES_RESET,         /* the peer reset the stream (app_error), or ended it without a verdict */
  PL_FILES_CONN_LOST,     /* the connection ended during the transfer (the path died) */
} pl_files_send_outcome;

typedef struct pl_files_send_result {
  pl_files_send_outcome outcome;
  uint8_t code;                             /* PL_FILES_REFUSED: the verdict's pl_files_code */
  uint64_t app_error;                       /* PL_FILES_RESET: the peer's code */
  uint64_t size;                            /* the file's size */
  uint64_t acked;                           /* file bytes the peer acknowledged */
  char sha256[2 * PL_FILES_SHA256_LEN + 1]; /* lowercase hex once the whole file was read */
  char message[PL_QUIC_DETAIL_MAX + 192];   /* what happened, in words */
} pl_files_send_result;

typedef struct pl_files_send_cb {
  /* The connection to open the stream on, asked once the file is open and its size known. NULL:
   * there is none now (the transfer ends PL_FILES_NO_CONN with `why`, at most `cap` bytes). */
  pl_quic *(*conn)(void *arg, char *why, size_t cap);
  /* The file is open: its size, before any byte is sent. Optional. */
  void (*opened)(void *arg, uint64_t size);
  /* The peer acknowledged `acked` of `total` file bytes. Optional. */
  void (*progress)(void *arg, uint64_t acked, uint64_t total);
  /* The transfer is over: last callback. The stream is ended by then; the sender frees itself
   * once its file is closed (a file operation later); drop the pointer now. */
  void (*done)(void *arg, const pl_files_send_result *res);
  void *arg;
} pl_files_send_cb;

/* Starts sending the file at `path` as `name` (name_len bytes: the caller has checked it with
 * pl_files_name_check). Returns 0, PL_ERR_INVALID (NULL or empty path, bad name length, no
 * done or conn callback, or a path libuv refuses), PL_ERR_NOMEM, PL_ERR_CRYPTO; every later
 * failure comes through done, never from inside this call. */
int pl_files_send_new(pl_files_send **ps, uv_loop_t *loop, const char *path, const char *name,
                      size_t name_len, int overwrite, const pl_files_send_cb *cb);

/* The caller gives up (the SendFile call was cancelled): the stream is reset (the receiver
 * removes its temporary), no callback runs any more, and the sender frees itself once its file
 * operation in flight has finished. Not after done. */
void pl_files_send_cancel(pl_files_send *s);

#endif
