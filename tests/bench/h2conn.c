/* The HTTP/2 client of h2conn.h: frames out through uv_try_write (queued only when the socket
 * is full), frames in through one static read buffer. */
#include "tests/bench/h2conn.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/common/err.h"

enum {
  F_DATA = 0,
  F_HEADERS = 1,
  F_RST = 3,
  F_SETTINGS = 4,
  F_PING = 6,
  F_GOAWAY = 7,
  F_WINDOW = 8,
  F_CONT = 9
};
enum { FL_END_STREAM = 1, FL_ACK = 1, FL_END_HEADERS = 4, FL_PADDED = 8, FL_PRIORITY = 0x20 };

#define WINDOW (1u << 20) /* per stream, advertised in SETTINGS */
#define CONN_WINDOW (1u << 30)

/* One call's receive side: a gRPC message split across DATA frames is collected here. */
struct pl_h2stream {
  struct pl_h2stream *next;
  uint32_t id;
  uint32_t unacked; /* DATA bytes since its last WINDOW_UPDATE */
  uint8_t head[5];  /* the message prefix being read */
  size_t head_len;
  uint8_t *msg;
  size_t msg_len, msg_need;
  int status;
  char message[128];
};

static uint8_t read_buf[64 * 1024];

static void put_frame_header(uint8_t *p, size_t len, uint8_t type, uint8_t flags, uint32_t sid) {
  p[0] = (uint8_t)(len >> 16);
  p[1] = (uint8_t)(len >> 8);
  p[2] = (uint8_t)len;
  p[3] = type;
  p[4] = flags;
  p[5] = (uint8_t)(sid >> 24 & 0x7f);
  p[6] = (uint8_t)(sid >> 16);
  p[7] = (uint8_t)(sid >> 8);
  p[8] = (uint8_t)sid;
}

typedef struct pending_write {
  uv_write_t req;
  uint8_t data[];
} pending_write;

static void on_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

/* Writes now when the socket takes it; what it does not take waits in a uv_write. */
static int write_bytes(pl_h2conn *c, const uint8_t *data, size_t len) {
  if (c->closing)
    return PL_ERR_CLOSED;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)len)
    return 0;
  if (n < 0 && n != UV_EAGAIN)
    return PL_ERR_IO;
  if (n < 0)
    n = 0;
  pending_write *w = malloc(sizeof *w + len - (size_t)n);
  if (w == NULL)
    return PL_ERR_NOMEM;
  memcpy(w->data, data + n, len - (size_t)n);
  b = uv_buf_init((char *)w->data, (unsigned)(len - (size_t)n));
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w);
    return PL_ERR_IO;
  }
  return 0;
}

static int write_frame(pl_h2conn *c, uint8_t type, uint8_t flags, uint32_t sid,
                       const uint8_t *payload, size_t len) {
  uint8_t small[9 + 64];
  uint8_t *buf = len <= 64 ? small : malloc(9 + len);
  if (buf == NULL)
    return PL_ERR_NOMEM;
  put_frame_header(buf, len, type, flags, sid);
  if (len)
    memcpy(buf + 9, payload, len);
  int rv = write_bytes(c, buf, 9 + len);
  if (buf != small)
    free(buf);
  return rv;
}

static void window_update(pl_h2conn *c, uint32_t sid, uint32_t n) {
  uint8_t p[4] = {(uint8_t)(n >> 24 & 0x7f), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  write_frame(c, F_WINDOW, 0, sid, p, 4);
}

static pl_h2stream *find(pl_h2conn *c, uint32_t id) {
  for (pl_h2stream *s = c->streams; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static void stream_end(pl_h2conn *c, pl_h2stream *s) {
  for (pl_h2stream **p = &c->streams; *p; p = &(*p)->next) {
    if (*p == s) {
      *p = s->next;
      break;
    }
  }
  uint32_t id = s->id;
  int status = s->status;
  char message[sizeof s->message];
  memcpy(message, s->message, sizeof message);
  free(s->msg);
  free(s);
  c->cb->on_end(c, id, status, message);
}

/* DATA payload: gRPC messages (5-byte prefix each), possibly split across frames. */
static void data_in(pl_h2conn *c, pl_h2stream *s, const uint8_t *p, size_t len) {
  while (len > 0) {
    if (s->head_len < 5) {
      size_t k = 5 - s->head_len < len ? 5 - s->head_len : len;
      memcpy(s->head + s->head_len, p, k);
      s->head_len += k;
      p += k;
      len -= k;
      if (s->head_len < 5)
        return;
      s->msg_need = (size_t)s->head[1] << 24 | (size_t)s->head[2] << 16 | (size_t)s->head[3] << 8 |
                    s->head[4];
      s->msg_len = 0;
      if (s->msg_need > 0 && len >= s->msg_need) { /* whole in this frame: no copy */
        c->cb->on_message(c, s->id, p, s->msg_need);
        p += s->msg_need;
        len -= s->msg_need;
        s->head_len = 0;
        continue;
      }
      if (s->msg_need > 0 && (s->msg = malloc(s->msg_need)) == NULL)
        return;
    }
    size_t k = s->msg_need - s->msg_len < len ? s->msg_need - s->msg_len : len;
    if (k)
      memcpy(s->msg + s->msg_len, p, k);
    s->msg_len += k;
    p += k;
    len -= k;
    if (s->msg_len == s->msg_need) {
      c->cb->on_message(c, s->id, s->msg, s->msg_len);
      free(s->msg);
      s->msg = NULL;
      s->head_len = 0;
    }
  }
}

/* Strips padding and priority fields from DATA/HEADERS payloads. */
static int unpad(uint8_t flags, int headers, const uint8_t **p, size_t *len) {
  size_t pad = 0;
  if (flags & FL_PADDED) {
    if (*len < 1)
      return -1;
    pad = **p;
    (*p)++;
    (*len)--;
  }
  if (headers && (flags & FL_PRIORITY)) {
    if (*len < 5)
      return -1;
    *p += 5;
    *len -= 5;
  }
  if (pad > *len)
    return -1;
  *len -= pad;
  return 0;
}

static void frame_in(pl_h2conn *c, uint8_t type, uint8_t flags, uint32_t sid, const uint8_t *p,
                     size_t len) {
  pl_h2stream *s = sid ? find(c, sid) : NULL;
  switch (type) {
  case F_DATA:
    c->unacked += (uint32_t)len;
    if (c->unacked > CONN_WINDOW / 2) {
      window_update(c, 0, c->unacked);
      c->unacked = 0;
    }
    if (s == NULL || unpad(flags, 0, &p, &len) != 0)
      return;
    s->unacked += (uint32_t)len;
    data_in(c, s, p, len);
    if ((s = find(c, sid)) == NULL)
      return; /* its callback ended it */
    if (flags & FL_END_STREAM) {
      stream_end(c, s);
    } else if (s->unacked > WINDOW / 2) {
      window_update(c, sid, s->unacked);
      s->unacked = 0;
    }
    break;
  case F_HEADERS:
  case F_CONT:
    if (s == NULL || (type == F_HEADERS && unpad(flags, 1, &p, &len) != 0))
      return;
    /* Blocks split into CONTINUATION are not reassembled: a status we cannot read is -1. */
    if (flags & FL_END_HEADERS) {
      int status;
      char msg[sizeof s->message];
      if (pl_h2_hpack_grpc_status(p, len, &status, msg, sizeof msg) == 0 && status >= 0) {
        s->status = status;
        memcpy(s->message, msg, sizeof msg);
      }
    }
    if (flags & FL_END_STREAM)
      stream_end(c, s);
    break;
  case F_RST:
    if (s) {
      snprintf(s->message, sizeof s->message, "stream reset by the server (code %u)",
               len >= 4 ? (unsigned)p[3] : 0u);
      stream_end(c, s);
    }
    break;
  case F_SETTINGS:
    if (!(flags & FL_ACK))
      write_frame(c, F_SETTINGS, FL_ACK, 0, NULL, 0);
    break;
  case F_PING:
    if (!(flags & FL_ACK) && len == 8)
      write_frame(c, F_PING, FL_ACK, 0, p, 8);
    break;
  case F_GOAWAY: pl_h2conn_close(c); break;
  default: break; /* WINDOW_UPDATE: we send far less than any window */
  }
}

/* Frames in buf[0..len); a split frame's start goes to c->partial. */
static void frames_in(pl_h2conn *c, const uint8_t *buf, size_t len) {
  while (len >= 9 && !c->closing) {
    size_t flen = (size_t)buf[0] << 16 | (size_t)buf[1] << 8 | buf[2];
    if (len < 9 + flen)
      break;
    uint32_t sid =
        (uint32_t)(buf[5] & 0x7f) << 24 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 8 | buf[8];
    frame_in(c, buf[3], buf[4], sid, buf + 9, flen);
    buf += 9 + flen;
    len -= 9 + flen;
  }
  if (len > 0 && !c->closing) {
    size_t need = len < 9 ? 9 : 9 + ((size_t)buf[0] << 16 | (size_t)buf[1] << 8 | buf[2]);
    if ((c->partial = malloc(need)) == NULL) {
      pl_h2conn_close(c);
      return;
    }
    memcpy(c->partial, buf, len);
    c->partial_len = len;
    c->partial_need = need;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)h;
  (void)suggested;
  *b = uv_buf_init((char *)read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  pl_h2conn *c = (pl_h2conn *)st;
  const uint8_t *p = (const uint8_t *)b->base;
  size_t len = n > 0 ? (size_t)n : 0;
  if (n < 0) {
    pl_h2conn_close(c);
    return;
  }
  /* Finish a split frame first (it may need to grow once its header is in). */
  while (c->partial && len > 0) {
    size_t k = c->partial_need - c->partial_len < len ? c->partial_need - c->partial_len : len;
    memcpy(c->partial + c->partial_len, p, k);
    c->partial_len += k;
    p += k;
    len -= k;
    if (c->partial_len < c->partial_need)
      return;
    size_t full = 9 + ((size_t)c->partial[0] << 16 | (size_t)c->partial[1] << 8 | c->partial[2]);
    if (full > c->partial_need) {
      uint8_t *bigger = realloc(c->partial, full);
      if (bigger == NULL) {
        pl_h2conn_close(c);
        return;
      }
      c->partial = bigger;
      c->partial_need = full;
      continue;
    }
    uint8_t *frame = c->partial;
    c->partial = NULL;
    frames_in(c, frame, c->partial_len);
    free(frame);
  }
  if (len > 0)
    frames_in(c, p, len);
}

static void send_preface(pl_h2conn *c) {
  static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  /* HEADER_TABLE_SIZE 0, ENABLE_PUSH 0, INITIAL_WINDOW_SIZE WINDOW */
  uint8_t settings[18] = {0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 4};
  settings[14] = (uint8_t)(WINDOW >> 24);
  settings[15] = (uint8_t)(WINDOW >> 16);
  settings[16] = (uint8_t)(WINDOW >> 8);
  settings[17] = (uint8_t)WINDOW;
  write_bytes(c, (const uint8_t *)preface, sizeof preface - 1);
  write_frame(c, F_SETTINGS, 0, 0, settings, sizeof settings);
  window_update(c, 0, CONN_WINDOW - 65535);
}

static void on_connect(uv_connect_t *req, int status) {
  pl_h2conn *c = req->data;
  free(req);
  if (status == 0 && !c->closing) {
    c->connected = 1;
    send_preface(c);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
  c->cb->on_connect(c, status);
}

int pl_h2conn_connect(pl_h2conn *c, uv_loop_t *loop, const struct sockaddr *local,
                      const struct sockaddr *remote, const char *authority,
                      const pl_h2conn_callbacks *cb) {
  void *data = c->data;
  memset(c, 0, sizeof *c);
  c->data = data;
  c->cb = cb;
  c->authority = authority;
  c->next_stream = 1;
  int fd = socket(remote->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return uv_translate_sys_error(errno);
  if (local) {
    /* The port is picked at connect(): each source address serves every destination. */
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, local,
             local->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                         : sizeof(struct sockaddr_in6)) != 0) {
      int err = uv_translate_sys_error(errno);
      close(fd);
      return err;
    }
  }
  int rv = uv_tcp_init(loop, &c->tcp);
  if (rv == 0 && (rv = uv_tcp_open(&c->tcp, fd)) != 0) {
    close(fd);
    uv_close((uv_handle_t *)&c->tcp, NULL);
    return rv;
  }
  if (rv != 0) {
    close(fd);
    return rv;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_connect_t *req = malloc(sizeof *req);
  if (req == NULL || (req->data = c, rv = uv_tcp_connect(req, &c->tcp, remote, on_connect)) != 0) {
    free(req);
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, NULL);
    return req ? rv : UV_ENOMEM;
  }
  return 0;
}

/* A literal header field without indexing, its name from the static table (RFC 7541 6.2.2). */
static size_t lit_indexed_name(uint8_t *p, unsigned name_index, const char *value) {
  size_t n = 0, vlen = strlen(value);
  if (name_index < 15) {
    p[n++] = (uint8_t)name_index;
  } else {
    p[n++] = 0x0f;
    p[n++] = (uint8_t)(name_index - 15);
  }
  p[n++] = (uint8_t)vlen; /* values here are < 127 bytes */
  memcpy(p + n, value, vlen);
  return n + vlen;
}

uint32_t pl_h2conn_call(pl_h2conn *c, const char *path) {
  uint8_t block[512];
  size_t n = 0;
  if (!c->connected || c->closing || strlen(path) > 120 || strlen(c->authority) > 120)
    return 0;
  pl_h2stream *s = calloc(1, sizeof *s);
  if (s == NULL)
    return 0;
  block[n++] = 0x83; /* :method POST */
  block[n++] = 0x86; /* :scheme http */
  n += lit_indexed_name(block + n, 4, path);
  n += lit_indexed_name(block + n, 1, c->authority);
  n += lit_indexed_name(block + n, 31, "application/grpc");
  static const uint8_t te[] = {0x00, 2, 't', 'e', 8, 't', 'r', 'a', 'i', 'l', 'e', 'r', 's'};
  memcpy(block + n, te, sizeof te);
  n += sizeof te;
  s->id = c->next_stream;
  c->next_stream += 2;
  s->status = -1;
  if (write_frame(c, F_HEADERS, FL_END_HEADERS, s->id, block, n) != 0) {
    free(s);
    return 0;
  }
  s->next = c->streams;
  c->streams = s;
  return s->id;
}

int pl_h2conn_send(pl_h2conn *c, uint32_t stream, const uint8_t *data, size_t len, int end_stream) {
  uint8_t small[9 + 5 + 512];
  size_t total = 9 + 5 + len;
  uint8_t *buf = total <= sizeof small ? small : malloc(total);
  if (buf == NULL)
    return PL_ERR_NOMEM;
  put_frame_header(buf, 5 + len, F_DATA, end_stream ? FL_END_STREAM : 0, stream);
  buf[9] = 0;
  buf[10] = (uint8_t)(len >> 24);
  buf[11] = (uint8_t)(len >> 16);
  buf[12] = (uint8_t)(len >> 8);
  buf[13] = (uint8_t)len;
  memcpy(buf + 14, data, len);
  int rv = write_bytes(c, buf, total);
  if (buf != small)
    free(buf);
  return rv;
}

void pl_h2conn_cancel(pl_h2conn *c, uint32_t stream) {
  static const uint8_t cancel[4] = {0, 0, 0, 8};
  pl_h2stream *s = find(c, stream);
  if (s == NULL)
    return;
  write_frame(c, F_RST, 0, stream, cancel, 4);
  snprintf(s->message, sizeof s->message, "cancelled");
  stream_end(c, s);
}

static void on_closed(uv_handle_t *h) {
  pl_h2conn *c = (pl_h2conn *)h;
  c->cb->on_close(c, "closed");
}

void pl_h2conn_close(pl_h2conn *c) {
  if (c->closing)
    return;
  c->closing = 1;
  while (c->streams) {
    snprintf(c->streams->message, sizeof c->streams->message, "connection closed");
    stream_end(c, c->streams);
  }
  free(c->partial);
  c->partial = NULL;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}
