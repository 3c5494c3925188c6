/* agent/files/wire: header and verdict round trips and refusals, and the receiver's parser fed
 * in every split: one byte at a time, all at once, and cut at each boundary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "agent/files/wire.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

static void header_round_trip(void) {
  uint8_t buf[PL_FILES_HEADER_MAX];
  size_t len, used;
  pl_files_header h;
  CHECK_RV(pl_files_header_encode(buf, &len, "report.pdf", 10, 0x0102030405060708ull, 1), 0);
  CHECK_U64(len, ==, PL_FILES_HEADER_MIN + 10);
  CHECK_MEM_EQ(buf, "PLF1\x01\x01\x02\x03\x04\x05\x06\x07\x08\x0a", 14);
  for (size_t n = 0; n < len; n++) {
    CHECK_RV(pl_files_header_parse(buf, n, &h, &used), 0);
    CHECK_U64(used, ==, 0);
  }
  CHECK_RV(pl_files_header_parse(buf, len, &h, &used), 0);
  CHECK_U64(used, ==, len);
  CHECK_STR_EQ(h.name, "report.pdf");
  CHECK_U64(h.name_len, ==, 10);
  CHECK_U64(h.size, ==, 0x0102030405060708ull);
  CHECK(h.overwrite == 1);
  CHECK_RV(pl_files_header_encode(buf, &len, "a", 1, 0, 0), 0);
  CHECK_RV(pl_files_header_parse(buf, len, &h, &used), 0);
  CHECK(h.overwrite == 0 && h.size == 0 && used == PL_FILES_HEADER_MIN + 1);

  char big[PL_FILES_NAME_MAX + 1];
  memset(big, 'x', sizeof big);
  CHECK_RV(pl_files_header_encode(buf, &len, big, PL_FILES_NAME_MAX, 1, 0), 0);
  CHECK_RV(pl_files_header_parse(buf, len, &h, &used), 0);
  CHECK_U64(used, ==, PL_FILES_HEADER_MAX);
  CHECK_RV(pl_files_header_encode(buf, &len, big, PL_FILES_NAME_MAX + 1, 1, 0), PL_ERR_INVALID);
  CHECK_RV(pl_files_header_encode(buf, &len, "", 0, 1, 0), PL_ERR_INVALID);
}

static void header_refusals(void) {
  uint8_t buf[PL_FILES_HEADER_MAX];
  size_t len, used;
  pl_files_header h;
  /* A wrong magic is refused at its first byte. */
  CHECK_RV(pl_files_header_parse((const uint8_t *)"X", 1, &h, &used), PL_ERR_PARSE);
  CHECK_RV(pl_files_header_parse((const uint8_t *)"PLF2", 4, &h, &used), PL_ERR_PARSE);
  CHECK_RV(pl_files_header_encode(buf, &len, "abc", 3, 5, 0), 0);
  buf[4] = 0x02; /* a flag this version does not know */
  CHECK_RV(pl_files_header_parse(buf, 5, &h, &used), PL_ERR_PARSE);
  buf[4] = 0;
  buf[13] = 0; /* no name */
  CHECK_RV(pl_files_header_parse(buf, 14, &h, &used), PL_ERR_PARSE);
  buf[13] = 3;
  buf[15] = '\0';
  CHECK_RV(pl_files_header_parse(buf, len, &h, &used), PL_ERR_PARSE);
}

static void verdict_round_trip(void) {
  uint8_t buf[PL_FILES_VERDICT_MAX], sha[PL_FILES_SHA256_LEN];
  pl_files_verdict v;
  size_t used;
  for (size_t i = 0; i < sizeof sha; i++)
    sha[i] = (uint8_t)i;
  size_t len = pl_files_verdict_encode(buf, PL_FILES_EXISTS, 77, sha, "x.txt exists");
  CHECK_U64(len, ==, PL_FILES_VERDICT_MIN + 12);
  for (size_t n = 0; n < len; n++) {
    CHECK_RV(pl_files_verdict_parse(buf, n, &v, &used), 0);
    CHECK_U64(used, ==, 0);
  }
  CHECK_RV(pl_files_verdict_parse(buf, len, &v, &used), 0);
  CHECK_U64(used, ==, len);
  CHECK(v.code == PL_FILES_EXISTS && v.size == 77);
  CHECK_MEM_EQ(v.sha256, sha, sizeof sha);
  CHECK_STR_EQ(v.msg, "x.txt exists");
  CHECK_STR_EQ(pl_files_code_name(v.code), "already exists");
  CHECK_STR_EQ(pl_files_code_name(200), "unknown");
  /* No sha and no message; a message longer than the limit is cut. */
  len = pl_files_verdict_encode(buf, PL_FILES_STORED, 0, NULL, NULL);
  CHECK_U64(len, ==, PL_FILES_VERDICT_MIN);
  char longmsg[400];
  memset(longmsg, 'm', sizeof longmsg - 1);
  longmsg[sizeof longmsg - 1] = '\0';
  len = pl_files_verdict_encode(buf, PL_FILES_STORAGE, 0, NULL, longmsg);
  CHECK_U64(len, ==, PL_FILES_VERDICT_MAX);
  CHECK_RV(pl_files_verdict_parse(buf, len, &v, &used), 0);
  CHECK_U64(strlen(v.msg), ==, PL_FILES_MSG_MAX);
  len = pl_files_verdict_encode(buf, PL_FILES_STORAGE, 0, NULL, "ab");
  buf[PL_FILES_VERDICT_MIN] = '\0';
  CHECK_RV(pl_files_verdict_parse(buf, len, &v, &used), PL_ERR_PARSE);
}

/* A whole transfer's bytes: header, data, trailer (wrong when `corrupt`). */
static uint8_t *stream_bytes(const uint8_t *data, size_t n, int corrupt, size_t *plen) {
  uint8_t *s = malloc(PL_FILES_HEADER_MAX + n + PL_FILES_TRAILER_LEN);
  size_t h;
  CHECK(s != NULL);
  CHECK_RV(pl_files_header_encode(s, &h, "data.bin", 8, n, 0), 0);
  memcpy(s + h, data, n);
  CHECK(wc_Sha256Hash(data, (word32)n, s + h + n) == 0);
  if (corrupt)
    s[h + n] ^= 1;
  *plen = h + n + PL_FILES_TRAILER_LEN;
  return s;
}

typedef struct seen {
  int headers, ends, hash_ok;
  uint8_t *data;
  size_t len;
} seen;

/* Feeds s in pieces of `step` bytes (0: all at once) and records the events. */
static int feed(const uint8_t *s, size_t len, size_t step, seen *out) {
  pl_files_rx *rx;
  int rv = 0;
  memset(out, 0, sizeof *out);
  out->data = malloc(len);
  CHECK(out->data != NULL);
  CHECK_RV(pl_files_rx_new(&rx), 0);
  for (size_t off = 0; off < len && rv == 0;) {
    size_t piece = step && len - off > step ? step : len - off;
    while (piece > 0 && rv == 0) {
      size_t used;
      pl_files_rx_event ev;
      rv = pl_files_rx_feed(rx, s + off, piece, &used, &ev);
      if (rv != 0)
        break;
      CHECK(used > 0 && used <= piece);
      if (ev.kind == PL_FILES_RX_HEADER) {
        out->headers++;
        CHECK(pl_files_rx_header(rx) != NULL);
        CHECK_STR_EQ(pl_files_rx_header(rx)->name, "data.bin");
      } else if (ev.kind == PL_FILES_RX_DATA) {
        CHECK(ev.data == s + off && ev.len == used);
        memcpy(out->data + out->len, ev.data, ev.len);
        out->len += ev.len;
      } else if (ev.kind == PL_FILES_RX_END) {
        out->ends++;
        out->hash_ok = ev.hash_ok;
        CHECK(pl_files_rx_ended(rx));
      }
      off += used;
      piece -= used;
    }
  }
  CHECK_U64(pl_files_rx_received(rx), ==, out->len);
  pl_files_rx_del(rx);
  return rv;
}

static void rx_splits(void) {
  size_t n = 3000, len;
  uint8_t *data = malloc(n);
  CHECK(data != NULL);
  for (size_t i = 0; i < n; i++)
    data[i] = (uint8_t)(i * 7 + 3);
  uint8_t *s = stream_bytes(data, n, 0, &len);
  size_t steps[] = {0, 1, 2, 13, 22, 31, 1000, 2999};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    seen sn;
    CHECK_RV(feed(s, len, steps[i], &sn), 0);
    CHECK(sn.headers == 1 && sn.ends == 1 && sn.hash_ok == 1);
    CHECK_U64(sn.len, ==, n);
    CHECK_MEM_EQ(sn.data, data, n);
    free(sn.data);
  }
  free(s);
  /* A wrong trailer: the end is reported, with hash_ok 0. */
  s = stream_bytes(data, n, 1, &len);
  seen sn;
  CHECK_RV(feed(s, len, 100, &sn), 0);
  CHECK(sn.ends == 1 && sn.hash_ok == 0);
  free(sn.data);
  free(s);
  /* Bytes after the trailer are a protocol error. */
  s = stream_bytes(data, n, 0, &len);
  uint8_t *more = malloc(len + 1);
  CHECK(more != NULL);
  memcpy(more, s, len);
  more[len] = 'x';
  CHECK_RV(feed(more, len + 1, 0, &sn), PL_ERR_PARSE);
  CHECK(sn.ends == 1);
  free(sn.data);
  free(more);
  free(s);
  /* An empty file: header, then the trailer at once. */
  s = stream_bytes(data, 0, 0, &len);
  CHECK_RV(feed(s, len, 1, &sn), 0);
  CHECK(sn.headers == 1 && sn.ends == 1 && sn.hash_ok == 1 && sn.len == 0);
  free(sn.data);
  free(s);
  free(data);
}

static void rx_failure_sticks(void) {
  pl_files_rx *rx;
  size_t used;
  pl_files_rx_event ev;
  CHECK_RV(pl_files_rx_new(&rx), 0);
  CHECK(pl_files_rx_header(rx) == NULL);
  CHECK_RV(pl_files_rx_feed(rx, (const uint8_t *)"GET /", 5, &used, &ev), PL_ERR_PARSE);
  CHECK_RV(pl_files_rx_feed(rx, (const uint8_t *)"PLF1", 4, &used, &ev), PL_ERR_STATE);
  CHECK(pl_files_rx_header(rx) == NULL && !pl_files_rx_ended(rx));
  pl_files_rx_del(rx);
  pl_files_rx_del(NULL);
}

int main(void) {
  header_round_trip();
  header_refusals();
  verdict_round_trip();
  rx_splits();
  rx_failure_sticks();
  printf("files_wire_test: ok\n");
  return 0;
}
