/* The sending side of a file transfer (agent/files/send.h). One file operation at a time; the
 * bytes to push into the stream are `pending` (the header, a chunk just read, the trailer), and
 * the next read starts only when the stream has taken them all, so at most one chunk plus the
 * stream's send buffer is in memory. */
#include "agent/files/send.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* options.h first: it carries the configure choices the library was built with. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/sha256.h>

#include "control/common/err.h"
#include "control/common/hex.h"

#define CHUNK (256 * 1024)

struct pl_files_send {
  uv_loop_t *loop;
  pl_files_send_cb cb;
  int detached; /* done ran, or the caller cancelled: no more callbacks */
  char path[PATH_MAX];
  char name[PL_FILES_NAME_MAX + 1];
  size_t name_len;
  int overwrite;

  uv_fs_t req;
  int busy; /* a file operation is in flight */
  uv_file fd;
  uint64_t size, read_off;
  wc_Sha256 sha;
  uint8_t digest[PL_FILES_SHA256_LEN];

  pl_quic *q; /* valid while stream_open */
  int64_t sid;
  int stream_open, trailer_queued, finished;
  size_t hdr_len;
  const uint8_t *pending;
  size_t pending_len;
  uint8_t hdr[PL_FILES_HEADER_MAX];
  uint8_t *buf;

  uint8_t vbuf[PL_FILES_VERDICT_MAX];
  size_t vlen;
  pl_files_send_result res;
};

static void push(pl_files_send *s);
static void on_fs(uv_fs_t *req);

/* ---- the end ----------------------------------------------------------------------------- */

/* Frees once nothing refers to it: no callback owed, no stream, no file operation, no file. */
static void maybe_free(pl_files_send *s) {
  if (!s->detached || s->stream_open || s->busy)
    return;
  if (s->fd >= 0) {
    s->busy = 1;
    s->req.data = s;
    int rv = uv_fs_close(s->loop, &s->req, s->fd, on_fs);
    s->fd = -1;
    if (rv == 0)
      return;
    s->busy = 0; /* a descriptor libuv will not close is one we cannot do more about */
  }
  wc_Sha256Free(&s->sha);
  free(s->buf);
  free(s);
}

static void end(pl_files_send *s, pl_files_send_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void end(pl_files_send *s, pl_files_send_outcome outcome, const char *fmt, ...) {
  va_list ap;
  if (s->detached)
    return;
  s->res.outcome = outcome;
  va_start(ap, fmt);
  vsnprintf(s->res.message, sizeof s->res.message, fmt, ap);
  va_end(ap);
  s->detached = 1;
  s->cb.done(s->cb.arg, &s->res);
}

/* Stops sending: the peer learns at once (RESET_STREAM, STOP_SENDING) and drops what it has. */
static void reset_stream(pl_files_send *s, uint64_t app_error) {
  if (!s->stream_open)
    return;
  pl_quic_stream_reset(s->q, s->sid, app_error);
  s->stream_open = 0;
  s->q = NULL;
}

static void fail_local(pl_files_send *s, const char *what, ssize_t err) {
  pl_files_send_outcome o = err == UV_ENOENT || err == UV_ENOTDIR ? PL_FILES_LOCAL_MISSING
                            : err == UV_EACCES || err == UV_EPERM ? PL_FILES_LOCAL_DENIED
                            : err == UV_EISDIR                    ? PL_FILES_LOCAL_INVALID
                                                                  : PL_FILES_LOCAL_IO;
  reset_stream(s, PL_QUIC_APP_CANCELLED);
  end(s, o, "path: cannot %s %s: %s", what, s->path, uv_strerror((int)err));
}

/* ---- the stream -------------------------------------------------------------------------- */

static void on_verdict(pl_files_send *s, const pl_files_verdict *v) {
  s->res.code = v->code;
  /* The peer has decided, so nothing more needs to go either way: ending the stream here rather
   * than waiting for the last ACKs frees the sender now, even if the connection ends first. */
  reset_stream(s, PL_QUIC_APP_NO_ERROR);
  if (v->code == PL_FILES_STORED && s->finished && v->size == s->size &&
      memcmp(v->sha256, s->digest, sizeof s->digest) == 0) {
    s->res.acked = s->size;
    end(s, PL_FILES_SENT, "stored by the peer, SHA-256 %s verified", s->res.sha256);
    return;
  }
  if (v->code == PL_FILES_STORED)
    end(s, PL_FILES_REFUSED, "the peer says it stored %llu bytes, which is not what was sent",
        (unsigned long long)v->size);
  else
    end(s, PL_FILES_REFUSED, "the peer refused the file (%s): %s", pl_files_code_name(v->code),
        v->msg);
}

static void on_recv(void *sarg, pl_quic *q, int64_t sid, const uint8_t *data, size_t len, int fin) {
  pl_files_send *s = sarg;
  pl_files_verdict v;
  size_t used;
  (void)q;
  (void)sid;
  if (s->detached)
    return;
  size_t take = len < sizeof s->vbuf - s->vlen ? len : sizeof s->vbuf - s->vlen;
  memcpy(s->vbuf + s->vlen, data, take);
  s->vlen += take;
  if (pl_files_verdict_parse(s->vbuf, s->vlen, &v, &used) != 0 || take < len ||
      (used > 0 && used < s->vlen)) {
    reset_stream(s, PL_QUIC_APP_INTERNAL);
    end(s, PL_FILES_RESET, "the peer's answer is not a file-transfer verdict");
  } else if (used > 0) {
    on_verdict(s, &v);
  } else if (fin) {
    reset_stream(s, PL_QUIC_APP_NO_ERROR);
    end(s, PL_FILES_RESET, "the peer ended the stream without a verdict");
  }
  maybe_free(s);
}

static void on_acked(void *sarg, pl_quic *q, int64_t sid, uint64_t acked) {
  pl_files_send *s = sarg;
  (void)q;
  (void)sid;
  uint64_t file = acked > s->hdr_len ? acked - s->hdr_len : 0;
  if (file > s->size)
    file = s->size;
  if (s->detached || file == s->res.acked)
    return;
  s->res.acked = file;
  if (s->cb.progress)
    s->cb.progress(s->cb.arg, file, s->size);
}

static void on_writable(void *sarg, pl_quic *q, int64_t sid) {
  (void)q;
  (void)sid;
  push(sarg);
}

static void on_closed(void *sarg, pl_quic *q, int64_t sid, int err, uint64_t app_error) {
  pl_files_send *s = sarg;
  pl_quic_info info;
  (void)sid;
  s->stream_open = 0;
  s->q = NULL;
  if (err == PL_ERR_CLOSED) {
    pl_quic_get_info(q, &info);
    end(s, PL_FILES_CONN_LOST,
        "the QUIC connection to the peer ended after %llu of %llu bytes were acknowledged: %s",
        (unsigned long long)s->res.acked, (unsigned long long)s->size,
        *info.detail ? info.detail : "closed");
  } else if (err != 0) {
    s->res.app_error = app_error;
    end(s, PL_FILES_RESET, "%s (stream reset, code %llu)",
        app_error == PL_QUIC_APP_REFUSED     ? "the peer does not take files now"
        : app_error == PL_QUIC_APP_CANCELLED ? "the peer cancelled the transfer"
                                             : "the peer ended the transfer",
        (unsigned long long)app_error);
  } else {
    end(s, PL_FILES_RESET, "the peer ended the stream without a verdict");
  }
  maybe_free(s);
}

static const pl_quic_stream_cb stream_cb = {
    .recv = on_recv,
    .acked = on_acked,
    .writable = on_writable,
    .closed = on_closed,
};

/* What comes after the bytes pushed so far: the next chunk, the trailer, the FIN. */
static void next(pl_files_send *s) {
  if (s->read_off < s->size) {
    uint64_t left = s->size - s->read_off;
    uv_buf_t b = uv_buf_init((char *)s->buf, (unsigned)(left < CHUNK ? left : CHUNK));
    s->busy = 1;
    s->req.data = s;
    int rv = uv_fs_read(s->loop, &s->req, s->fd, &b, 1, (int64_t)s->read_off, on_fs);
    if (rv != 0) {
      s->busy = 0;
      fail_local(s, "read", rv);
      maybe_free(s);
    }
  } else if (!s->trailer_queued) {
    s->trailer_queued = 1;
    if (wc_Sha256Final(&s->sha, s->digest) != 0) {
      reset_stream(s, PL_QUIC_APP_INTERNAL);
      end(s, PL_FILES_LOCAL_IO, "cannot compute the SHA-256 of %s", s->path);
      maybe_free(s);
      return;
    }
    pl_hex_encode(s->res.sha256, s->digest, sizeof s->digest);
    s->pending = s->digest;
    s->pending_len = sizeof s->digest;
    push(s);
  } else if (!s->finished) {
    s->finished = 1;
    pl_quic_stream_finish(s->q, s->sid);
  }
}

/* Hands `pending` to the stream as far as its buffer takes it; `writable` brings us back. */
static void push(pl_files_send *s) {
  if (s->detached || !s->stream_open || s->busy)
    return;
  while (s->pending_len > 0) {
    size_t n = 0;
    if (pl_quic_stream_write(s->q, s->sid, s->pending, s->pending_len, &n) != 0) {
      reset_stream(s, PL_QUIC_APP_INTERNAL);
      end(s, PL_FILES_CONN_LOST, "the stream to the peer is gone");
      maybe_free(s);
      return;
    }
    if (n == 0)
      return;
    s->pending += n;
    s->pending_len -= n;
  }
  next(s);
}

/* ---- the file ---------------------------------------------------------------------------- */

/* The file is open and regular: open the stream and send the header. */
static void start_stream(pl_files_send *s) {
  char why[200] = "no QUIC connection to the peer";
  if (s->cb.opened)
    s->cb.opened(s->cb.arg, s->size);
  if (s->detached)
    return;
  pl_quic *q = s->cb.conn(s->cb.arg, why, sizeof why);
  if (q == NULL) {
    end(s, PL_FILES_NO_CONN, "%s", why);
    return;
  }
  int rv = pl_quic_stream_open(q, PL_QUIC_STREAM_FILE, 1, &stream_cb, s, &s->sid);
  if (rv != 0) {
    end(s, PL_FILES_NO_CONN, "cannot open a QUIC stream to the peer: %s",
        rv == PL_ERR_FULL    ? "the peer allows no more streams now; try again shortly"
        : rv == PL_ERR_STATE ? "the connection is not established"
                             : pl_strerror(rv));
    return;
  }
  s->q = q;
  s->stream_open = 1;
  pl_files_header_encode(s->hdr, &s->hdr_len, s->name, s->name_len, s->size, s->overwrite);
  s->pending = s->hdr;
  s->pending_len = s->hdr_len;
  push(s);
}

static void on_read(pl_files_send *s, ssize_t r) {
  if (r < 0) {
    fail_local(s, "read", r);
    return;
  }
  if (r == 0) {
    reset_stream(s, PL_QUIC_APP_CANCELLED);
    end(s, PL_FILES_LOCAL_IO, "path: %s shrank while it was sent (%llu of %llu bytes)", s->path,
        (unsigned long long)s->read_off, (unsigned long long)s->size);
    return;
  }
  if (wc_Sha256Update(&s->sha, s->buf, (word32)r) != 0) {
    reset_stream(s, PL_QUIC_APP_INTERNAL);
    end(s, PL_FILES_LOCAL_IO, "cannot compute the SHA-256 of %s", s->path);
    return;
  }
  s->read_off += (uint64_t)r;
  s->pending = s->buf;
  s->pending_len = (size_t)r;
  push(s);
}

static void on_fs(uv_fs_t *req) {
  pl_files_send *s = req->data;
  ssize_t r = req->result;
  uv_fs_type type = req->fs_type;
  uv_stat_t st = req->statbuf;
  uv_fs_req_cleanup(req);
  s->busy = 0;
  if (s->detached) {
    if (type == UV_FS_OPEN && r >= 0)
      s->fd = (uv_file)r;
    maybe_free(s);
    return;
  }
  switch (type) {
  case UV_FS_OPEN:
    if (r < 0) {
      fail_local(s, "open", r);
      break;
    }
    s->fd = (uv_file)r;
    s->busy = 1;
    s->req.data = s;
    if ((r = uv_fs_fstat(s->loop, &s->req, s->fd, on_fs)) != 0) {
      s->busy = 0;
      fail_local(s, "stat", r);
    }
    break;
  case UV_FS_FSTAT:
    if (r < 0)
      fail_local(s, "stat", r);
    else if (!S_ISREG(st.st_mode))
      end(s, PL_FILES_LOCAL_INVALID, "path: %s is not a regular file", s->path);
    else {
      s->size = s->res.size = st.st_size;
      start_stream(s);
    }
    break;
  case UV_FS_READ: on_read(s, r); break;
  default: break;
  }
  maybe_free(s);
}

int pl_files_send_new(pl_files_send **ps, uv_loop_t *loop, const char *path, const char *name,
                      size_t name_len, int overwrite, const pl_files_send_cb *cb) {
  if (ps == NULL || loop == NULL || path == NULL || *path == '\0' || strlen(path) >= PATH_MAX ||
      name == NULL || name_len == 0 || name_len > PL_FILES_NAME_MAX || cb == NULL ||
      cb->done == NULL || cb->conn == NULL)
    return PL_ERR_INVALID;
  pl_files_send *s = calloc(1, sizeof *s);
  if (s == NULL)
    return PL_ERR_NOMEM;
  if ((s->buf = malloc(CHUNK)) == NULL)
    goto fail_buf;
  if (wc_InitSha256(&s->sha) != 0)
    goto fail_sha;
  s->loop = loop;
  s->cb = *cb;
  snprintf(s->path, sizeof s->path, "%s", path);
  memcpy(s->name, name, name_len);
  s->name_len = name_len;
  s->overwrite = overwrite;
  s->fd = -1;
  s->busy = 1;
  s->req.data = s;
  if (uv_fs_open(loop, &s->req, s->path, O_RDONLY, 0, on_fs) != 0)
    goto fail_open; /* only for arguments libuv refuses outright */
  *ps = s;
  return 0;

fail_open:
  wc_Sha256Free(&s->sha);
  free(s->buf);
  free(s);
  return PL_ERR_INVALID;
fail_sha:
  free(s->buf);
  free(s);
  return PL_ERR_CRYPTO;
fail_buf:
  free(s);
  return PL_ERR_NOMEM;
}

void pl_files_send_cancel(pl_files_send *s) {
  if (s->detached)
    return;
  s->detached = 1;
  reset_stream(s, PL_QUIC_APP_CANCELLED);
  maybe_free(s);
}
