/* The receiving side of a file transfer (agent/files/store.h). One file operation at a time:
 * every step is started by advance(), which looks at what is done and what is wanted, and every
 * completion calls advance() again. */
#include "agent/files/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/common/random.h"

#define MAX_WRITE_BUFS 64     /* chunks per writev */
#define CHUNK_MIN (64 * 1024) /* stream pieces (a packet's worth) are gathered into chunks */
/* A directory leaves room for '/' and any name within PATH_MAX; the buffers hold the longest
 * directory, '/', the longest name and NUL, so nothing is ever cut. */
#define DIR_CAP (PATH_MAX - PL_FILES_NAME_MAX - 1)
#define PATH_CAP (DIR_CAP + 1 + PL_FILES_NAME_MAX + 1)

typedef struct chunk {
  struct chunk *next;
  size_t len, cap, off; /* off: already written */
  uint8_t data[];
} chunk;

typedef enum {
  STEP_NONE,
  STEP_STAT,    /* is the final name taken? (without overwrite) */
  STEP_STATFS,  /* is there room for the file? */
  STEP_OPEN,    /* the temporary */
  STEP_WRITE,   /* queued chunks */
  STEP_FSYNC,   /* the temporary's data */
  STEP_CLOSE,   /* the temporary's descriptor */
  STEP_MOVE,    /* link (keeps an existing file) or rename (overwrite) */
  STEP_UNLINK,  /* the temporary's name, after link or on failure */
  STEP_DIROPEN, /* the directory, to make the new name durable */
  STEP_DIRSYNC,
  STEP_DIRCLOSE,
} step;

struct pl_files_store {
  uv_loop_t *loop;
  pl_files_store_cb cb;
  int attached; /* the stream is there: reply and consumed may be called */
  pl_files_rx *rx;
  char dir[DIR_CAP];
  char tmp[PATH_CAP], final[PATH_CAP];

  uv_fs_t req;
  step busy; /* STEP_NONE: no operation in flight */
  uv_file fd, dirfd;
  int checked_exists, checked_space, opened, tmp_made, synced, moved, linked, dir_synced;
  uint64_t file_off;
  chunk *head, *tail;
  size_t queued_bytes;

  int ended, hash_ok, fin;
  char sha_hex[2 * PL_FILES_SHA256_LEN + 1];
  uint8_t sha[PL_FILES_SHA256_LEN];
  int failed;
  uint8_t code;
  char error[PL_FILES_MSG_MAX + 1];
  int finished; /* done has been called */
};

static void advance(pl_files_store *s);

int pl_files_store_new(pl_files_store **ps, uv_loop_t *loop, const char *dir,
                       const pl_files_store_cb *cb) {
  int rv;
  if (ps == NULL || loop == NULL || dir == NULL || *dir == '\0' || cb == NULL || cb->done == NULL ||
      strlen(dir) >= DIR_CAP)
    return PL_ERR_INVALID;
  pl_files_store *s = calloc(1, sizeof *s);
  if (s == NULL)
    return PL_ERR_NOMEM;
  if ((rv = pl_files_rx_new(&s->rx)) != 0) {
    free(s);
    return rv;
  }
  s->loop = loop;
  s->cb = *cb;
  s->attached = 1;
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  s->fd = s->dirfd = -1;
  *ps = s;
  return 0;
}

static void free_chunks(pl_files_store *s) {
  while (s->head) {
    chunk *c = s->head;
    s->head = c->next;
    free(c);
  }
  s->tail = NULL;
  s->queued_bytes = 0;
}

/* The first failure decides the verdict; later ones only add cleanup. Once the file is under
 * its final name it is stored, whatever happens next. */
static void fail(pl_files_store *s, uint8_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(pl_files_store *s, uint8_t code, const char *fmt, ...) {
  va_list ap;
  if (s->failed || s->moved)
    return;
  s->failed = 1;
  s->code = code;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap);
  va_end(ap);
}

static const char *name_of(const pl_files_store *s) {
  const pl_files_header *h = pl_files_rx_header(s->rx);
  return h ? h->name : "";
}

/* A failed file operation: the disk is full (libuv has no name for EDQUOT: errors are -errno),
 * or something else the verdict names. */
/* The verdict goes to the peer: it names the file and "its files directory", never this host's
 * paths (they are no business of the sender's, and a long one would cut the reason off). */
static void fail_io(pl_files_store *s, const char *what, const char *path, ssize_t err) {
  uint8_t code = err == UV_ENOSPC || err == -EDQUOT ? PL_FILES_NO_SPACE : PL_FILES_STORAGE;
  const char *slash = strrchr(path, '/');
  const char *shown = path == s->dir ? "its files directory" : slash ? slash + 1 : path;
  fail(s, code, "the receiver cannot %s %s: %s", what, shown, uv_strerror((int)err));
}

static void consumed(pl_files_store *s, size_t n) {
  if (s->attached && s->cb.consumed && n)
    s->cb.consumed(s->cb.arg, n);
}

static void reply(pl_files_store *s) {
  uint8_t v[PL_FILES_VERDICT_MAX];
  uint8_t code = s->failed ? s->code : PL_FILES_STORED;
  size_t n = pl_files_verdict_encode(v, code, pl_files_rx_received(s->rx), s->ended ? s->sha : NULL,
                                     s->failed ? s->error : NULL);
  if (s->attached) {
    s->attached = 0; /* nothing more goes on the stream */
    s->cb.reply(s->cb.arg, v, n);
  }
}

static void finish(pl_files_store *s) {
  pl_files_result res = {
      .code = s->failed ? s->code : PL_FILES_STORED,
      .name = name_of(s),
      .path = s->failed ? "" : s->final,
      .size = pl_files_rx_received(s->rx),
      .sha256 = s->ended ? s->sha_hex : "",
      .error = s->failed ? s->error : "",
  };
  s->finished = 1;
  reply(s);
  s->cb.done(s->cb.arg, &res);
  free_chunks(s);
  pl_files_rx_del(s->rx);
  free(s);
}

/* ---- the header: name, existing file, room ----------------------------------------------- */

static void on_header(pl_files_store *s) {
  const pl_files_header *h = pl_files_rx_header(s->rx);
  char why[96], id[17];
  uint8_t rnd[8];
  if (pl_files_name_check(h->name, h->name_len, why, sizeof why) != 0) {
    fail(s, PL_FILES_BAD_NAME, "remote_name: the receiver refuses the name: it %s", why);
    return;
  }
  if (pl_random_bytes(rnd, sizeof rnd) != 0) {
    fail(s, PL_FILES_STORAGE, "the receiver cannot make a temporary name");
    return;
  }
  pl_hex_encode(id, rnd, sizeof rnd);
  snprintf(s->final, sizeof s->final, "%s/%s", s->dir, h->name);
  snprintf(s->tmp, sizeof s->tmp, "%s/" PL_FILES_TMP_PREFIX "%s" PL_FILES_TMP_SUFFIX, s->dir, id);
  s->checked_exists = h->overwrite; /* with overwrite there is nothing to check */
}

/* ---- what arrives on the stream ---------------------------------------------------------- */

static int queue_data(pl_files_store *s, const uint8_t *data, size_t len) {
  chunk *c = s->tail;
  /* Appending to a chunk in flight is fine: the kernel reads only the bytes the write named. */
  if (c == NULL || c->cap - c->len < len) {
    size_t cap = len > CHUNK_MIN ? len : CHUNK_MIN;
    if ((c = malloc(sizeof *c + cap)) == NULL)
      return PL_ERR_NOMEM;
    c->next = NULL;
    c->len = c->off = 0;
    c->cap = cap;
    if (s->tail)
      s->tail->next = c;
    else
      s->head = c;
    s->tail = c;
  }
  memcpy(c->data + c->len, data, len);
  c->len += len;
  s->queued_bytes += len;
  return 0;
}

int pl_files_store_recv(pl_files_store *s, const uint8_t *data, size_t len, int fin) {
  if (s->failed || s->finished || !s->attached)
    return PL_ERR_STATE;
  while (len > 0 && !s->failed) {
    size_t used;
    pl_files_rx_event ev;
    int rv = pl_files_rx_feed(s->rx, data, len, &used, &ev);
    if (rv != 0) {
      fail(s, PL_FILES_PROTOCOL,
           rv == PL_ERR_PARSE && s->ended
               ? "the sender sent bytes after the SHA-256 trailer"
               : "the sender's stream is not a peerlink file transfer (%s)",
           pl_strerror(rv));
      break;
    }
    if (ev.kind == PL_FILES_RX_DATA) {
      if (queue_data(s, ev.data, ev.len) != 0)
        fail(s, PL_FILES_STORAGE, "the receiver is out of memory");
    } else {
      consumed(s, used); /* header and trailer bytes are dealt with once parsed */
      if (ev.kind == PL_FILES_RX_HEADER) {
        on_header(s);
      } else if (ev.kind == PL_FILES_RX_END) {
        s->ended = 1;
        s->hash_ok = ev.hash_ok;
        memcpy(s->sha, ev.sha256, sizeof s->sha);
        pl_hex_encode(s->sha_hex, ev.sha256, sizeof ev.sha256);
        if (!ev.hash_ok)
          fail(s, PL_FILES_HASH_MISMATCH,
               "SHA-256 mismatch: the receiver computed %s over %llu bytes, which is not what the "
               "sender's trailer says",
               s->sha_hex, (unsigned long long)pl_files_rx_received(s->rx));
      }
    }
    data += used;
    len -= used;
  }
  if (fin && !s->failed) {
    s->fin = 1;
    if (!s->ended) {
      const pl_files_header *h = pl_files_rx_header(s->rx);
      if (h)
        fail(s, PL_FILES_PROTOCOL, "the sender ended the stream after %llu of %llu bytes",
             (unsigned long long)pl_files_rx_received(s->rx), (unsigned long long)h->size);
      else
        fail(s, PL_FILES_PROTOCOL, "the sender ended the stream before the header was complete");
    }
  }
  advance(s);
  return 0;
}

void pl_files_store_abort(pl_files_store *s, const char *why) {
  s->attached = 0;
  if (!s->moved)
    fail(s, PL_FILES_UNAVAILABLE, "%s", why && *why ? why : "the stream was closed");
  advance(s);
}

/* ---- file operations --------------------------------------------------------------------- */

static void on_fs(uv_fs_t *req);

static void start(pl_files_store *s, step st, int rv) {
  if (rv < 0) {
    /* Could not even be queued: handle it like a failed completion. */
    s->req.result = rv;
    s->req.data = s;
    s->busy = st;
    on_fs(&s->req);
    return;
  }
  s->busy = st;
}

static void start_write(pl_files_store *s) {
  uv_buf_t bufs[MAX_WRITE_BUFS];
  unsigned n = 0;
  for (chunk *c = s->head; c && n < MAX_WRITE_BUFS; c = c->next, n++)
    bufs[n] = uv_buf_init((char *)c->data + c->off, (unsigned)(c->len - c->off));
  start(s, STEP_WRITE, uv_fs_write(s->loop, &s->req, s->fd, bufs, n, (int64_t)s->file_off, on_fs));
}

/* The written bytes leave the queue; the stream may give that many more. */
static void wrote(pl_files_store *s, size_t n) {
  s->file_off += n;
  s->queued_bytes -= n;
  consumed(s, n);
  while (n > 0) {
    chunk *c = s->head;
    size_t left = c->len - c->off;
    if (n < left) {
      c->off += n;
      break;
    }
    n -= left;
    s->head = c->next;
    if (s->head == NULL)
      s->tail = NULL;
    free(c);
  }
}

static void done_step(pl_files_store *s, step st, ssize_t r) {
  switch (st) {
  case STEP_STAT:
    s->checked_exists = 1;
    if (r == 0)
      fail(s, PL_FILES_EXISTS,
           "%s already exists on the receiver (send with overwrite to replace it)", name_of(s));
    else if (r != UV_ENOENT)
      fail_io(s, "check", s->final, r);
    break;
  case STEP_STATFS: {
    const uv_statfs_t *fs = s->req.ptr;
    const pl_files_header *h = pl_files_rx_header(s->rx);
    s->checked_space = 1;
    /* A file system that cannot say (r < 0) is tried anyway: the writes will tell. */
    if (r == 0 && fs != NULL && fs->f_bsize > 0 &&
        h->size / fs->f_bsize + (h->size % fs->f_bsize != 0) > fs->f_bavail)
      fail(s, PL_FILES_NO_SPACE,
           "the receiver has %llu bytes free in its files directory, not enough for %llu",
           (unsigned long long)(fs->f_bavail * fs->f_bsize), (unsigned long long)h->size);
    break;
  }
  case STEP_OPEN:
    if (r < 0)
      fail_io(s, "create a temporary file in", s->dir, r);
    else {
      s->fd = (uv_file)r;
      s->opened = s->tmp_made = 1;
    }
    break;
  case STEP_WRITE:
    if (r < 0)
      fail_io(s, "write", s->tmp, r);
    else if (r == 0)
      fail(s, PL_FILES_STORAGE, "the receiver cannot write %s: no progress", s->tmp);
    else if (!s->failed)
      wrote(s, (size_t)r);
    break;
  case STEP_FSYNC:
    s->synced = 1;
    if (r < 0)
      fail_io(s, "sync", s->tmp, r);
    break;
  case STEP_CLOSE:
    s->fd = -1;
    if (r < 0)
      fail_io(s, "close", s->tmp, r);
    break;
  case STEP_MOVE:
    if (r == UV_EEXIST)
      fail(s, PL_FILES_EXISTS,
           "%s already exists on the receiver (send with overwrite to replace it)", name_of(s));
    else if (r < 0)
      fail_io(s, "store the file as", s->final, r);
    else {
      s->moved = 1;
      s->failed = 0;           /* aborted while moving: the file is stored all the same */
      s->tmp_made = s->linked; /* after a rename the temporary's name is gone */
    }
    break;
  case STEP_UNLINK: s->tmp_made = 0; break; /* a leftover temporary is only a dot file */
  case STEP_DIROPEN:
    s->dirfd = r < 0 ? -1 : (uv_file)r;
    s->dir_synced = r < 0;
    break;
  case STEP_DIRSYNC: s->dir_synced = 1; break; /* the file is stored; durability best effort */
  case STEP_DIRCLOSE: s->dirfd = -1; break;
  default: break;
  }
}

static void on_fs(uv_fs_t *req) {
  pl_files_store *s = req->data;
  step st = s->busy;
  ssize_t r = req->result;
  done_step(s, st, r);
  uv_fs_req_cleanup(req);
  s->busy = STEP_NONE;
  advance(s);
}

/* After a failure: close and remove what was made, then answer. */
static void advance_failed(pl_files_store *s) {
  free_chunks(s);
  if (s->fd >= 0)
    start(s, STEP_CLOSE, uv_fs_close(s->loop, &s->req, s->fd, on_fs));
  else if (s->dirfd >= 0)
    start(s, STEP_DIRCLOSE, uv_fs_close(s->loop, &s->req, s->dirfd, on_fs));
  else if (s->tmp_made)
    start(s, STEP_UNLINK, uv_fs_unlink(s->loop, &s->req, s->tmp, on_fs));
  else
    finish(s);
}

/* All data is on disk and verified: make it durable under its name. */
static void advance_commit(pl_files_store *s) {
  const pl_files_header *h = pl_files_rx_header(s->rx);
  if (!s->synced)
    start(s, STEP_FSYNC, uv_fs_fsync(s->loop, &s->req, s->fd, on_fs));
  else if (s->fd >= 0)
    start(s, STEP_CLOSE, uv_fs_close(s->loop, &s->req, s->fd, on_fs));
  else if (!s->moved) {
    s->linked = !h->overwrite;
    if (s->linked) /* link(2) never replaces: an existing file (even a new one) stays */
      start(s, STEP_MOVE, uv_fs_link(s->loop, &s->req, s->tmp, s->final, on_fs));
    else
      start(s, STEP_MOVE, uv_fs_rename(s->loop, &s->req, s->tmp, s->final, on_fs));
  } else if (s->tmp_made)
    start(s, STEP_UNLINK, uv_fs_unlink(s->loop, &s->req, s->tmp, on_fs));
  else if (s->dirfd < 0 && !s->dir_synced)
    start(s, STEP_DIROPEN, uv_fs_open(s->loop, &s->req, s->dir, O_RDONLY | O_DIRECTORY, 0, on_fs));
  else if (s->dirfd >= 0 && !s->dir_synced)
    start(s, STEP_DIRSYNC, uv_fs_fsync(s->loop, &s->req, s->dirfd, on_fs));
  else if (s->dirfd >= 0)
    start(s, STEP_DIRCLOSE, uv_fs_close(s->loop, &s->req, s->dirfd, on_fs));
  else
    finish(s);
}

static void advance(pl_files_store *s) {
  const pl_files_header *h = pl_files_rx_header(s->rx);
  if (s->busy != STEP_NONE || s->finished)
    return;
  s->req.data = s;
  if (s->failed) {
    advance_failed(s);
    return;
  }
  if (h == NULL)
    return; /* the header is not complete yet */
  if (!s->checked_exists)
    start(s, STEP_STAT, uv_fs_stat(s->loop, &s->req, s->final, on_fs));
  else if (!s->checked_space)
    start(s, STEP_STATFS, uv_fs_statfs(s->loop, &s->req, s->dir, on_fs));
  else if (!s->opened)
    start(
        s, STEP_OPEN,
        uv_fs_open(s->loop, &s->req, s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, on_fs));
  else if (s->head)
    start_write(s);
  else if (s->ended && s->hash_ok)
    advance_commit(s);
}
