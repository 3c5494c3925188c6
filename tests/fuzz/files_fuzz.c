/* agent/files/wire: the receiver's parser of a sender's stream, the verdict parser and the
 * file-name check on arbitrary bytes. Input: step(1) body.
 *   step bit 7 clear: body is a sender's stream. It is fed to one parser all at once and to a
 *                     second in pieces of (step % 64) + 1 bytes: both must agree (result,
 *                     header, data, end, hash verdict); DATA events point into the input and
 *                     never exceed the header's size; a parsed header re-encodes to the bytes
 *                     it came from; pl_files_name_check runs on its name.
 *   step bit 7 set:   body is a verdict; one that parses re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/files/wire.h"
#include "control/common/err.h"

#define ASSERT(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      abort();                                                                                     \
  } while (0)

typedef struct outcome {
  int rv, headers, ends, hash_ok;
  uint64_t data;
  pl_files_header header;
} outcome;

static void run(const uint8_t *s, size_t len, size_t step, outcome *o) {
  pl_files_rx *rx;
  memset(o, 0, sizeof *o);
  ASSERT(pl_files_rx_new(&rx) == 0);
  for (size_t off = 0; off < len && o->rv == 0;) {
    size_t piece = len - off < step ? len - off : step, used;
    pl_files_rx_event ev;
    o->rv = pl_files_rx_feed(rx, s + off, piece, &used, &ev);
    if (o->rv != 0)
      break;
    ASSERT(used > 0 && used <= piece);
    if (ev.kind == PL_FILES_RX_HEADER) {
      o->headers++;
      o->header = *pl_files_rx_header(rx);
    } else if (ev.kind == PL_FILES_RX_DATA) {
      ASSERT(ev.data == s + off && ev.len == used);
      o->data += ev.len;
      ASSERT(o->data <= o->header.size);
    } else if (ev.kind == PL_FILES_RX_END) {
      o->ends++;
      o->hash_ok = ev.hash_ok;
      ASSERT(o->data == o->header.size);
    }
    off += used;
  }
  ASSERT(pl_files_rx_received(rx) == o->data);
  if (o->rv != 0)
    ASSERT(o->rv == PL_ERR_PARSE);
  pl_files_rx_del(rx);
}

static void sender_stream(const uint8_t *s, size_t len, size_t step) {
  outcome whole, split;
  run(s, len, len ? len : 1, &whole);
  run(s, len, step, &split);
  ASSERT(whole.rv == split.rv && whole.headers == split.headers && whole.ends == split.ends);
  ASSERT(whole.hash_ok == split.hash_ok && whole.data == split.data);
  if (whole.headers) {
    uint8_t again[PL_FILES_HEADER_MAX];
    size_t n;
    ASSERT(memcmp(&whole.header, &split.header, sizeof whole.header) == 0);
    ASSERT(pl_files_header_encode(again, &n, whole.header.name, whole.header.name_len,
                                  whole.header.size, whole.header.overwrite) == 0);
    ASSERT(n <= len && memcmp(again, s, n) == 0);
    char why[64];
    if (pl_files_name_check(whole.header.name, whole.header.name_len, why, sizeof why) == 0)
      ASSERT(memchr(whole.header.name, '/', whole.header.name_len) == NULL &&
             whole.header.name[0] != '.');
  }
}

static void verdict(const uint8_t *s, size_t len) {
  pl_files_verdict v;
  size_t used;
  int rv = pl_files_verdict_parse(s, len, &v, &used);
  ASSERT(rv == 0 || rv == PL_ERR_PARSE);
  if (rv == 0 && used > 0) {
    uint8_t again[PL_FILES_VERDICT_MAX];
    ASSERT(pl_files_verdict_encode(again, v.code, v.size, v.sha256, v.msg) == used);
    ASSERT(memcmp(again, s, used) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  /* A copy, so ASan sees reads past its end. */
  size_t len = size - 1;
  uint8_t *body = malloc(len ? len : 1);
  ASSERT(body != NULL);
  memcpy(body, data + 1, len);
  if (data[0] & 0x80)
    verdict(body, len);
  else
    sender_stream(body, len, (size_t)(data[0] % 64) + 1);
  free(body);
  return 0;
}
