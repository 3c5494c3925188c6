/* agent/tcp: the TCP record decoder and the sessions that read it, on arbitrary bytes.
 * Input: split(1) then the stream, fed in pieces of (split % 64) + 1 bytes to
 *   - a decoder: every record it hands out has a length its type allows and lies inside what
 *     it was given;
 *   - an accepted session (bound by a HELLO naming pairing 5a..5a) and a session of ours
 *     (agent bb..bb expecting aa..aa): neither may ever deliver a message or bulk data nor be
 *     selected, since that needs the peer's AUTH, a MAC over a nonce drawn at random for
 *     each run, which no input can hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/tcp/tcp_session.h"
#include "agent/tcp/tcp_wire.h"
#include "control/common/err.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

static int on_record(void *arg, uint8_t type, const uint8_t *data, size_t len, size_t offset,
                     size_t total) {
  (void)arg;
  ASSERT(offset + len <= total && total <= PL_TCP_MAX_RECORD);
  ASSERT(data != NULL || len == 0);
  if (type != PL_TCP_BULK)
    ASSERT(offset == 0 && len == total);
  switch (type) {
  case PL_TCP_HELLO: ASSERT(len == PL_TCP_HELLO_LEN); break;
  case PL_TCP_AUTH: ASSERT(len == PL_TCP_AUTH_LEN); break;
  case PL_TCP_ACK: ASSERT(len == PL_TCP_ACK_LEN); break;
  case PL_TCP_SELECT:
  case PL_TCP_PING: ASSERT(len == 0); break;
  case PL_TCP_CLOSE: ASSERT(len <= PL_TCP_CLOSE_MAX); break;
  case PL_TCP_MSG:
  case PL_TCP_BULK: break;
  default: ASSERT(0);
  }
  /* Touch every byte, so ASan sees a read outside what was handed out. */
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < len; i++)
    sum += data[i];
  (void)sum;
  return 0;
}

static int emit(void *arg, const struct iovec *iov, int n) {
  (void)arg;
  (void)iov;
  (void)n;
  return 0;
}

static void config(pl_tcp_session_config *c, int controlling) {
  memset(c, 0, sizeof *c);
  memset(c->self_id, 0xbb, sizeof c->self_id);
  memset(c->peer_id, 0xaa, sizeof c->peer_id);
  memset(c->pairing, 0x5a, sizeof c->pairing);
  memset(c->key, 7, sizeof c->key);
  c->controlling = controlling;
}

static int bind(void *arg, const pl_tcp_hello *peer, pl_tcp_session_config *cfg) {
  (void)arg;
  config(cfg, 1);
  return memcmp(peer->pairing, cfg->pairing, PL_TCP_PAIRING_LEN) == 0 ? 0 : PL_ERR_NOT_FOUND;
}

static void never(void *arg, uint64_t seq, const uint8_t *data, size_t len) {
  (void)arg;
  (void)seq;
  (void)data;
  (void)len;
  abort();
}

static void never_bulk(void *arg, const uint8_t *data, size_t len, size_t offset, size_t total) {
  (void)arg;
  (void)data;
  (void)len;
  (void)offset;
  (void)total;
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t piece = (size_t)(data[0] % 64) + 1;
  data++;
  size--;
  pl_tcp_decoder d;
  pl_tcp_session theirs, ours;
  pl_tcp_session_config cfg;
  pl_tcp_session_callbacks cb = {emit, bind, NULL, never, NULL, never_bulk, NULL};
  pl_tcp_decoder_init(&d);
  config(&cfg, 0);
  ASSERT(pl_tcp_session_init(&theirs, NULL, &cb, 1000, 8000, 5000, 0) == 0);
  ASSERT(pl_tcp_session_init(&ours, &cfg, &cb, 1000, 8000, 5000, 0) == 0);
  ASSERT(pl_tcp_session_start(&ours, 0) == 0);
  int drv = 0, trv = 0, orv = 0;
  for (size_t off = 0; off < size; off += piece) {
    size_t n = size - off < piece ? size - off : piece;
    /* A copy per piece, so a read past it is caught. */
    uint8_t *copy = malloc(n);
    ASSERT(copy != NULL);
    memcpy(copy, data + off, n);
    if (drv == 0)
      drv = pl_tcp_decode(&d, copy, n, on_record, NULL);
    if (trv == 0)
      trv = pl_tcp_session_recv(&theirs, copy, n, off);
    if (orv == 0)
      orv = pl_tcp_session_recv(&ours, copy, n, off);
    free(copy);
  }
  ASSERT(drv == 0 || drv == PL_ERR_PARSE || drv == PL_ERR_NOMEM);
  ASSERT(theirs.state != PL_TCP_SESSION_SELECTED && ours.state != PL_TCP_SESSION_SELECTED);
  pl_tcp_session_tick(&theirs, size + 10000);
  pl_tcp_session_close(&ours, "fuzz", size);
  pl_tcp_decoder_free(&d);
  pl_tcp_session_free(&theirs);
  pl_tcp_session_free(&ours);
  return 0;
}
