#ifndef PEERLINK_AGENT_FILES_STORE_H
#define PEERLINK_AGENT_FILES_STORE_H

/* The receiving side of one file transfer: takes the sender's stream bytes (agent/files/wire.h),
 * writes the data with libuv's file operations into a temporary file in the files directory
 * (".peerlink-<random>.part", created O_EXCL, mode 0600), and once the trailer's SHA-256
 * matches: fsync, close, move it to its final name, fsync the directory; then answers with the
 * verdict. An existing file is kept unless the sender asked to overwrite (checked when the
 * header arrives, and again atomically at the end: link(2) refuses to replace, rename(2) is
 * used only with overwrite). Whatever fails, no file is left under the final name and the
 * temporary is removed; the verdict and the result say why.
 *
 * The store never blocks the loop and holds at most the bytes its stream gave it that are not
 * on disk yet: it reports what is on disk through `consumed`, so a stream that extends its
 * flow-control window only by that much bounds the memory. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/files/wire.h"

/* Temporaries are PL_FILES_TMP_PREFIX + 16 hex digits + PL_FILES_TMP_SUFFIX. A name starting
 * with '.' is never a file name a peer may give (pl_files_name_check), so they cannot clash. */
#define PL_FILES_TMP_PREFIX ".peerlink-"
#define PL_FILES_TMP_SUFFIX ".part"

typedef struct pl_files_store pl_files_store;

/* How a transfer ended, for the FileReceived event. Strings are valid during `done`. */
typedef struct pl_files_result {
  uint8_t code;       /* pl_files_code: PL_FILES_STORED on success */
  const char *name;   /* the name the sender gave ("" when no header arrived) */
  const char *path;   /* the stored file's full path; "" on failure */
  uint64_t size;      /* bytes received */
  const char *sha256; /* lowercase hex of what was received; "" until the trailer arrived */
  const char *error;  /* "" on success, else why */
} pl_files_result;

typedef struct pl_files_store_cb {
  /* Send `data` (the verdict) on the stream and end our side of it. At most once. */
  void (*reply)(void *arg, const uint8_t *data, size_t len);
  /* n more of the stream's bytes are dealt with (on disk, or parsed): the stream may take n
   * more. Optional. */
  void (*consumed)(void *arg, size_t n);
  /* The transfer is over: last callback, the store is freed when it returns. */
  void (*done)(void *arg, const pl_files_result *res);
  void *arg;
} pl_files_store_cb;

/* A store writing into `dir` (copied; it must exist). Returns 0, PL_ERR_INVALID (NULL or empty
 * dir, no done callback), PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_files_store_new(pl_files_store **ps, uv_loop_t *loop, const char *dir,
                       const pl_files_store_cb *cb);

/* The next bytes of the stream (copied); fin: the sender ended its side after them. Bytes that
 * break the protocol end the transfer (PL_FILES_PROTOCOL). Returns 0, or PL_ERR_STATE once the
 * store has decided (a verdict is on its way): the bytes are then ignored. */
int pl_files_store_recv(pl_files_store *s, const uint8_t *data, size_t len, int fin);

/* The stream is gone (reset by the sender, the path died, the agent stops): no more reply or
 * consumed calls. The store stops, removes its temporary and then calls done with `why`
 * (after the file operation in progress, if any, has finished). */
void pl_files_store_abort(pl_files_store *s, const char *why);

/* At start, before the loop runs (it blocks): makes `dir` (mode 0700) unless it exists as a
 * directory, and removes the temporaries a previous run left there (killed mid-transfer; a
 * running agent removes its own). Returns 0, or PL_ERR_IO with why (errno's words, at most cap
 * bytes) filled in. */
int pl_files_dir_prepare(const char *dir, char *why, size_t cap);

#endif
