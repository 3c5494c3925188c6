/* Benchmark frames: header, keys (HKDF-SHA256 from the frame key), CTRL bodies, DATA frames. */
#include "agent/bench/bench_wire.h"

#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "control/common/err.h"

#define VERSION 1
#define COUNTS_LEN 56
#define START_LEN 30

static const char salt_label[] = "peerlink bench v1";

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 3; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint64_t get(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

int pl_bench_peek(const uint8_t *frame, size_t len, pl_bench_head *h) {
  memset(h, 0, sizeof *h);
  if (frame == NULL || len < PL_BENCH_HEADER + PL_BENCH_TAG || frame[1] != VERSION ||
      (frame[0] != PL_FRAME_BENCH_DATA && frame[0] != PL_FRAME_BENCH_CTRL))
    return PL_ERR_PARSE;
  h->type = frame[0];
  h->session = get(frame + 10, 8);
  h->seq = get(frame + 18, 8);
  if (h->type == PL_FRAME_BENCH_CTRL) {
    if (len < PL_BENCH_HEADER + 1 + PL_BENCH_TAG)
      return PL_ERR_PARSE;
    h->kind = frame[PL_BENCH_HEADER];
    if (h->kind == PL_BENCH_START_ACK) {
      if (len < PL_BENCH_HEADER + 9 + PL_BENCH_TAG)
        return PL_ERR_PARSE;
      h->nonce = get(frame + PL_BENCH_HEADER + 1, 8);
    }
  }
  return 0;
}

/* --- keys ---------------------------------------------------------------------------------- */

/* key || iv for sender → receiver. */
static int expand(uint8_t *okm, const pl_bench_ends *e, const char *label, int outward,
                  uint64_t session, const uint64_t *nonce) {
  uint8_t salt[sizeof salt_label - 1 + PL_FRAME_PAIRING_LEN + 16], info[8 + 2 * PL_FRAME_ID_LEN];
  size_t off = sizeof salt_label - 1, llen = strlen(label);
  memcpy(salt, salt_label, off);
  memcpy(salt + off, e->pairing, PL_FRAME_PAIRING_LEN);
  put64(salt + off + PL_FRAME_PAIRING_LEN, session);
  size_t saltlen = off + PL_FRAME_PAIRING_LEN + 8;
  if (nonce) {
    put64(salt + saltlen, *nonce);
    saltlen += 8;
  }
  memcpy(info, label, llen);
  memcpy(info + llen, outward ? e->self : e->peer, PL_FRAME_ID_LEN);
  memcpy(info + llen + PL_FRAME_ID_LEN, outward ? e->peer : e->self, PL_FRAME_ID_LEN);
  return wc_HKDF(WC_SHA256, e->frame_key, 32, salt, (word32)saltlen, info,
                 (word32)(llen + 2 * PL_FRAME_ID_LEN), okm, PL_SEAL_KEY_LEN + PL_SEAL_IV_LEN) == 0
             ? 0
             : PL_ERR_CRYPTO;
}

static int make(pl_seal_keys **pk, const pl_bench_ends *e, const char *label, uint64_t session,
                const uint64_t *nonce) {
  uint8_t out[PL_SEAL_KEY_LEN + PL_SEAL_IV_LEN], in[PL_SEAL_KEY_LEN + PL_SEAL_IV_LEN];
  pl_seal_secrets s;
  int rv = expand(out, e, label, 1, session, nonce);
  if (rv == 0)
    rv = expand(in, e, label, 0, session, nonce);
  if (rv == 0) {
    memcpy(s.send_key, out, PL_SEAL_KEY_LEN);
    memcpy(s.send_iv, out + PL_SEAL_KEY_LEN, PL_SEAL_IV_LEN);
    memcpy(s.recv_key, in, PL_SEAL_KEY_LEN);
    memcpy(s.recv_iv, in + PL_SEAL_KEY_LEN, PL_SEAL_IV_LEN);
    rv = pl_seal_keys_new(pk, &s);
  }
  explicit_bzero(out, sizeof out);
  explicit_bzero(in, sizeof in);
  explicit_bzero(&s, sizeof s);
  return rv;
}

int pl_bench_keys_start(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session) {
  return make(&k->start, e, "start", session, NULL);
}

int pl_bench_keys_session(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session,
                          uint64_t nonce) {
  int rv = make(&k->ctrl, e, "ctrl", session, &nonce);
  if (rv == 0 && (rv = make(&k->data, e, "data", session, &nonce)) != 0) {
    pl_seal_keys_del(k->ctrl);
    k->ctrl = NULL;
  }
  return rv;
}

void pl_bench_keys_free(pl_bench_keys *k) {
  pl_seal_keys_del(k->start);
  pl_seal_keys_del(k->ctrl);
  pl_seal_keys_del(k->data);
  memset(k, 0, sizeof *k);
}

/* --- frames -------------------------------------------------------------------------------- */

static void header(uint8_t *buf, uint8_t type, const pl_bench_ends *e, uint64_t session,
                   uint64_t seq) {
  buf[0] = type;
  buf[1] = VERSION;
  memcpy(buf + 2, e->pairing, PL_FRAME_PAIRING_LEN);
  put64(buf + 10, session);
  put64(buf + 18, seq);
}

static void counts_encode(uint8_t *p, const pl_bench_counts *c) {
  const uint64_t v[7] = {c->elapsed_us,   c->bytes,     c->packets, c->lost,
                         c->out_of_order, c->jitter_ns, c->cpu_us};
  for (int i = 0; i < 7; i++)
    put64(p + 8 * i, v[i]);
}

static void counts_decode(const uint8_t *p, pl_bench_counts *c) {
  uint64_t *v[7] = {&c->elapsed_us,   &c->bytes,     &c->packets, &c->lost,
                    &c->out_of_order, &c->jitter_ns, &c->cpu_us};
  for (int i = 0; i < 7; i++)
    *v[i] = get(p + 8 * i, 8);
}

/* The body in the clear; returns its length, or PL_ERR_INVALID. */
static int body_encode(const pl_bench_msg *m, uint8_t *p) {
  size_t n;
  switch (m->kind) {
  case PL_BENCH_START:
    p[0] = m->params.transport;
    p[1] = m->params.reverse ? 1 : 0;
    put32(p + 2, m->params.chunk);
    put64(p + 6, m->params.rate_bps);
    put32(p + 14, m->params.duration_ms);
    put64(p + 18, m->params.bytes);
    put32(p + 26, m->params.interval_ms);
    return START_LEN;
  case PL_BENCH_START_ACK:
  case PL_BENCH_ABORT: {
    int off = m->kind == PL_BENCH_START_ACK;
    n = strnlen(m->reason, PL_BENCH_REASON_MAX);
    if (off)
      p[0] = m->status;
    p[off] = (uint8_t)n;
    memcpy(p + off + 1, m->reason, n);
    return (int)(off + 1 + n);
  }
  case PL_BENCH_GO: return 0;
  case PL_BENCH_PROGRESS:
  case PL_BENCH_FIN:
  case PL_BENCH_RESULT: counts_encode(p, &m->counts); return COUNTS_LEN;
  default: return PL_ERR_INVALID;
  }
}

static int reason_decode(const uint8_t *p, size_t len, pl_bench_msg *m) {
  if (len < 1 || p[0] != len - 1 || p[0] > PL_BENCH_REASON_MAX)
    return PL_ERR_PARSE;
  memcpy(m->reason, p + 1, p[0]);
  m->reason[p[0]] = '\0';
  return memchr(m->reason, '\0', p[0]) ? PL_ERR_PARSE : 0;
}

static int body_decode(pl_bench_msg *m, const uint8_t *p, size_t len) {
  switch (m->kind) {
  case PL_BENCH_START:
    if (len != START_LEN || p[1] > 1)
      return PL_ERR_PARSE;
    m->params.transport = p[0];
    m->params.reverse = p[1];
    m->params.chunk = (uint32_t)get(p + 2, 4);
    m->params.rate_bps = get(p + 6, 8);
    m->params.duration_ms = (uint32_t)get(p + 14, 4);
    m->params.bytes = get(p + 18, 8);
    m->params.interval_ms = (uint32_t)get(p + 26, 4);
    return 0;
  case PL_BENCH_START_ACK:
    if (len < 2)
      return PL_ERR_PARSE;
    m->status = p[0];
    return reason_decode(p + 1, len - 1, m);
  case PL_BENCH_ABORT: return reason_decode(p, len, m);
  case PL_BENCH_GO: return len == 0 ? 0 : PL_ERR_PARSE;
  case PL_BENCH_PROGRESS:
  case PL_BENCH_FIN:
  case PL_BENCH_RESULT:
    if (len != COUNTS_LEN)
      return PL_ERR_PARSE;
    counts_decode(p, &m->counts);
    return 0;
  default: return PL_ERR_PARSE;
  }
}

int pl_bench_ctrl_encode(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session, uint64_t seq,
                         const pl_bench_msg *m, uint8_t *buf, size_t cap, size_t *plen) {
  uint8_t body[PL_BENCH_CTRL_MAX];
  pl_seal_keys *key = m->kind == PL_BENCH_START ? k->start : k->ctrl;
  if (cap < PL_BENCH_CTRL_MAX)
    return PL_ERR_TOO_BIG;
  if (key == NULL)
    return PL_ERR_STATE;
  int n = body_encode(m, body);
  if (n < 0)
    return n;
  header(buf, PL_FRAME_BENCH_CTRL, e, session, seq);
  size_t aad = PL_BENCH_HEADER + 1;
  buf[PL_BENCH_HEADER] = m->kind;
  if (m->kind == PL_BENCH_START_ACK) {
    put64(buf + aad, m->nonce);
    aad += 8;
  }
  size_t sealed;
  int rv = pl_seal(key, seq, buf, aad, body, (size_t)n, buf + aad, cap - aad, &sealed);
  if (rv != 0)
    return rv;
  *plen = aad + sealed;
  return 0;
}

int pl_bench_ctrl_decode(pl_bench_keys *k, const pl_bench_head *h, const uint8_t *frame, size_t len,
                         pl_bench_msg *m) {
  uint8_t body[PL_BENCH_CTRL_MAX];
  size_t aad = PL_BENCH_HEADER + 1 + (h->kind == PL_BENCH_START_ACK ? 8 : 0), n;
  pl_seal_keys *key = h->kind == PL_BENCH_START ? k->start : k->ctrl;
  memset(m, 0, sizeof *m);
  if (h->type != PL_FRAME_BENCH_CTRL || len < aad + PL_BENCH_TAG || len > PL_BENCH_CTRL_MAX)
    return PL_ERR_PARSE;
  if (key == NULL)
    return PL_ERR_STATE;
  int rv = pl_open(key, h->seq, frame, aad, frame + aad, len - aad, body, sizeof body, &n);
  if (rv != 0)
    return rv == PL_ERR_AUTH ? PL_ERR_AUTH : PL_ERR_PARSE;
  m->kind = h->kind;
  m->nonce = h->nonce;
  return body_decode(m, body, n);
}

int pl_bench_data_encode(pl_bench_keys *k, const pl_bench_ends *e, uint64_t session, uint64_t seq,
                         uint64_t send_us, uint8_t *buf, size_t len) {
  size_t sealed;
  if (len < PL_BENCH_DATA_MIN || len > PL_FRAME_MAX_LEN)
    return PL_ERR_INVALID;
  if (k->data == NULL)
    return PL_ERR_STATE;
  header(buf, PL_FRAME_BENCH_DATA, e, session, seq);
  uint8_t *body = buf + PL_BENCH_HEADER;
  size_t bodylen = len - PL_BENCH_HEADER - PL_BENCH_TAG;
  put64(body, send_us);
  memset(body + PL_BENCH_DATA_BODY, 0, bodylen - PL_BENCH_DATA_BODY);
  return pl_seal(k->data, seq, buf, PL_BENCH_HEADER, body, bodylen, body, bodylen + PL_BENCH_TAG,
                 &sealed);
}

int pl_bench_data_decode(pl_bench_keys *k, const pl_bench_head *h, const uint8_t *frame, size_t len,
                         uint8_t *scratch, size_t cap, uint64_t *psend_us) {
  size_t n;
  if (h->type != PL_FRAME_BENCH_DATA || len < PL_BENCH_DATA_MIN)
    return PL_ERR_PARSE;
  if (k->data == NULL)
    return PL_ERR_STATE;
  int rv = pl_open(k->data, h->seq, frame, PL_BENCH_HEADER, frame + PL_BENCH_HEADER,
                   len - PL_BENCH_HEADER, scratch, cap, &n);
  if (rv != 0)
    return rv == PL_ERR_AUTH ? PL_ERR_AUTH : PL_ERR_PARSE;
  *psend_us = get(scratch, 8);
  return 0;
}
