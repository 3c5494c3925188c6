/* agent/files/store: the receiving side on a real loop and a temporary directory (no sockets):
 * a file is stored only when its SHA-256 matches, under its name, atomically; refusals (bad
 * name, existing file, hash mismatch, a stream that ends early or goes on after the trailer, no
 * room, no directory) and an abort leave no file under the final name and no temporary; at start
 * the files directory is made and a killed run's temporaries are removed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "agent/files/store.h"
#include "agent/files/wire.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "tests/unit/common/check.h"

static uv_loop_t loop;
static char base[512];

typedef struct outcome {
  int replies, dones;
  pl_files_verdict verdict;
  uint64_t consumed;
  uint8_t code;
  char name[300], path[1024], sha[65], error[300];
  uint64_t size;
} outcome;

static void on_reply(void *arg, const uint8_t *data, size_t len) {
  outcome *o = arg;
  size_t used;
  o->replies++;
  CHECK_RV(pl_files_verdict_parse(data, len, &o->verdict, &used), 0);
  CHECK_U64(used, ==, len);
}

static void on_consumed(void *arg, size_t n) {
  ((outcome *)arg)->consumed += n;
}

static void on_done(void *arg, const pl_files_result *r) {
  outcome *o = arg;
  o->dones++;
  o->code = r->code;
  o->size = r->size;
  snprintf(o->name, sizeof o->name, "%s", r->name);
  snprintf(o->path, sizeof o->path, "%s", r->path);
  snprintf(o->sha, sizeof o->sha, "%s", r->sha256);
  snprintf(o->error, sizeof o->error, "%s", r->error);
}

static pl_files_store *new_store(const char *dir, outcome *o) {
  pl_files_store_cb cb = {.reply = on_reply, .consumed = on_consumed, .done = on_done, .arg = o};
  pl_files_store *s;
  memset(o, 0, sizeof *o);
  CHECK_RV(pl_files_store_new(&s, &loop, dir, &cb), 0);
  return s;
}

/* A fresh directory for one case. */
static const char *new_dir(const char *name) {
  static char dir[600];
  snprintf(dir, sizeof dir, "%s/%s", base, name);
  CHECK(mkdir(dir, 0700) == 0);
  return dir;
}

/* The bytes a sender writes: header, data, trailer (flipped when corrupt). */
static uint8_t *stream_of(const char *name, const uint8_t *data, size_t n, int overwrite,
                          int corrupt, size_t *plen) {
  uint8_t *s = malloc(PL_FILES_HEADER_MAX + n + PL_FILES_TRAILER_LEN);
  size_t h;
  CHECK(s != NULL);
  CHECK_RV(pl_files_header_encode(s, &h, name, strlen(name), n, overwrite), 0);
  if (n)
    memcpy(s + h, data, n);
  CHECK(wc_Sha256Hash(data, (word32)n, s + h + n) == 0);
  if (corrupt)
    s[h + n + 5] ^= 0x40;
  *plen = h + n + PL_FILES_TRAILER_LEN;
  return s;
}

static uint8_t *pattern(size_t n, unsigned seed) {
  uint8_t *d = malloc(n ? n : 1);
  CHECK(d != NULL);
  for (size_t i = 0; i < n; i++)
    d[i] = (uint8_t)(i * 31 + seed + (i >> 12));
  return d;
}

/* Feeds the stream in pieces of `step`, running the loop now and then so writes are in flight
 * while more arrives, then runs the loop until the store is done. */
static void feed(pl_files_store *s, const uint8_t *bytes, size_t len, size_t step, int fin,
                 outcome *o) {
  size_t pieces = 0;
  for (size_t off = 0; off < len && o->dones == 0;) {
    size_t n = len - off < step ? len - off : step;
    int rv = pl_files_store_recv(s, bytes + off, n, fin && off + n == len);
    CHECK(rv == 0 || rv == PL_ERR_STATE);
    if (rv != 0)
      break;
    off += n;
    if (++pieces % 7 == 0)
      uv_run(&loop, UV_RUN_NOWAIT);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_U64(o->dones, ==, 1);
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Nothing but `keep` (may be NULL) in dir: no temporaries. */
static void only(const char *dir, const char *keep) {
  DIR *d = opendir(dir);
  struct dirent *e;
  CHECK(d != NULL);
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    CHECK_MSG(keep && strcmp(e->d_name, keep) == 0, "unexpected %s/%s", dir, e->d_name);
  }
  closedir(d);
}

static void check_file(const char *path, const uint8_t *data, size_t n) {
  FILE *f = fopen(path, "rb");
  CHECK_MSG(f != NULL, "%s missing", path);
  uint8_t *got = malloc(n + 1);
  CHECK(got != NULL);
  CHECK_U64(fread(got, 1, n + 1, f), ==, n);
  fclose(f);
  if (n)
    CHECK_MEM_EQ(got, data, n);
  free(got);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  fputs(text, f);
  fclose(f);
}

static void stored(void) {
  const char *dir = new_dir("stored");
  size_t n = 3 * 1024 * 1024 + 17, len;
  uint8_t *data = pattern(n, 1), *bytes = stream_of("big.bin", data, n, 0, 0, &len);
  uint8_t sha[32];
  char hex[65], path[700];
  outcome o;
  pl_files_store *s = new_store(dir, &o);
  feed(s, bytes, len, 1200, 1, &o);
  CHECK_MSG(o.code == PL_FILES_STORED, "%s", o.error);
  CHECK(o.replies == 1 && o.verdict.code == PL_FILES_STORED && o.verdict.size == n);
  CHECK_U64(o.consumed, ==, len); /* every stream byte was reported dealt with */
  CHECK(wc_Sha256Hash(data, (word32)n, sha) == 0);
  pl_hex_encode(hex, sha, sizeof sha);
  CHECK_STR_EQ(o.sha, hex);
  CHECK_MEM_EQ(o.verdict.sha256, sha, 32);
  snprintf(path, sizeof path, "%s/big.bin", dir);
  CHECK_STR_EQ(o.path, path);
  CHECK_STR_EQ(o.name, "big.bin");
  CHECK_STR_EQ(o.error, "");
  CHECK_U64(o.size, ==, n);
  check_file(path, data, n);
  only(dir, "big.bin");
  free(bytes);
  free(data);
}

static void empty_file(void) {
  const char *dir = new_dir("empty");
  size_t len;
  uint8_t *bytes = stream_of("nothing", NULL, 0, 0, 0, &len);
  char path[700];
  outcome o;
  pl_files_store *s = new_store(dir, &o);
  feed(s, bytes, len, 1, 0, &o); /* the verdict does not wait for the sender's FIN */
  CHECK_MSG(o.code == PL_FILES_STORED, "%s", o.error);
  snprintf(path, sizeof path, "%s/nothing", dir);
  check_file(path, NULL, 0);
  CHECK_STR_EQ(o.sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  only(dir, "nothing");
  free(bytes);
}

static void existing_kept_or_replaced(void) {
  const char *dir = new_dir("existing");
  char path[700];
  size_t n = 5000, len;
  uint8_t *data = pattern(n, 2), *bytes = stream_of("notes.txt", data, n, 0, 0, &len);
  outcome o;
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  write_file(path, "old");
  pl_files_store *s = new_store(dir, &o);
  feed(s, bytes, len, 100, 1, &o);
  CHECK(o.code == PL_FILES_EXISTS && o.verdict.code == PL_FILES_EXISTS && o.replies == 1);
  CHECK_STR_CONTAINS(o.verdict.msg, "notes.txt already exists");
  CHECK_STR_CONTAINS(o.error, "overwrite");
  CHECK_STR_EQ(o.path, "");
  check_file(path, (const uint8_t *)"old", 3);
  only(dir, "notes.txt");
  free(bytes);

  bytes = stream_of("notes.txt", data, n, 1, 0, &len);
  s = new_store(dir, &o);
  feed(s, bytes, len, 100, 1, &o);
  CHECK_MSG(o.code == PL_FILES_STORED, "%s", o.error);
  check_file(path, data, n);
  only(dir, "notes.txt");
  free(bytes);
  free(data);
}

/* A file that appears under the name while the data arrives is not replaced either. */
static void existing_appears_meanwhile(void) {
  const char *dir = new_dir("meanwhile");
  char path[700];
  size_t n = 100000, len;
  uint8_t *data = pattern(n, 3), *bytes = stream_of("race.bin", data, n, 0, 0, &len);
  outcome o;
  pl_files_store *s = new_store(dir, &o);
  CHECK_RV(pl_files_store_recv(s, bytes, 1000, 0), 0);
  uv_run(&loop, UV_RUN_DEFAULT); /* the header's checks ran; the temporary is open */
  snprintf(path, sizeof path, "%s/race.bin", dir);
  write_file(path, "theirs");
  feed(s, bytes + 1000, len - 1000, 4096, 1, &o);
  CHECK(o.code == PL_FILES_EXISTS);
  check_file(path, (const uint8_t *)"theirs", 6);
  only(dir, "race.bin");
  free(bytes);
  free(data);
}

static void hash_mismatch(void) {
  const char *dir = new_dir("mismatch");
  size_t n = 200000, len;
  uint8_t *data = pattern(n, 4), *bytes = stream_of("bad.bin", data, n, 0, 1, &len);
  outcome o;
  pl_files_store *s = new_store(dir, &o);
  feed(s, bytes, len, 1200, 1, &o);
  CHECK(o.code == PL_FILES_HASH_MISMATCH && o.verdict.code == PL_FILES_HASH_MISMATCH);
  CHECK_STR_CONTAINS(o.error, "SHA-256 mismatch");
  CHECK_U64(o.verdict.size, ==, n);
  only(dir, NULL);
  free(bytes);
  free(data);
}

static void bad_names(void) {
  const char *dir = new_dir("names");
  const char *names[] = {"../escape", "a/b", "..", ".hidden", "tab\tname"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t len;
    uint8_t *bytes = stream_of(names[i], (const uint8_t *)"x", 1, 1, 0, &len);
    outcome o;
    pl_files_store *s = new_store(dir, &o);
    feed(s, bytes, len, 3, 1, &o);
    CHECK(o.code == PL_FILES_BAD_NAME && o.verdict.code == PL_FILES_BAD_NAME);
    CHECK_STR_CONTAINS(o.verdict.msg, "remote_name");
    free(bytes);
  }
  only(dir, NULL);
  char escape[600];
  snprintf(escape, sizeof escape, "%s/escape", base);
  CHECK(!exists(escape));
}

static void protocol_errors(void) {
  const char *dir = new_dir("protocol");
  size_t n = 70000, len;
  uint8_t *data = pattern(n, 5), *bytes = stream_of("p.bin", data, n, 0, 0, &len);
  outcome o;
  /* The sender ends its side early. */
  pl_files_store *s = new_store(dir, &o);
  feed(s, bytes, len - 40, 1000, 1, &o);
  CHECK(o.code == PL_FILES_PROTOCOL);
  CHECK_STR_CONTAINS(o.error, "ended the stream after");
  only(dir, NULL);
  /* Bytes after the trailer. */
  uint8_t *more = malloc(len + 3);
  CHECK(more != NULL);
  memcpy(more, bytes, len);
  memcpy(more + len, "xyz", 3);
  s = new_store(dir, &o);
  feed(s, more, len + 3, len + 3, 1, &o);
  CHECK(o.code == PL_FILES_PROTOCOL);
  CHECK_STR_CONTAINS(o.error, "after the SHA-256 trailer");
  only(dir, NULL);
  /* Not this protocol at all. */
  s = new_store(dir, &o);
  feed(s, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, 16, 0, &o);
  CHECK(o.code == PL_FILES_PROTOCOL && o.replies == 1);
  CHECK_STR_EQ(o.name, "");
  only(dir, NULL);
  free(more);
  free(bytes);
  free(data);
}

static void aborted(void) {
  const char *dir = new_dir("aborted");
  size_t n = 1 << 20, len;
  uint8_t *data = pattern(n, 6), *bytes = stream_of("half.bin", data, n, 0, 0, &len);
  outcome o;
  /* Mid-transfer, with a write in flight. */
  pl_files_store *s = new_store(dir, &o);
  CHECK_RV(pl_files_store_recv(s, bytes, len / 2, 0), 0);
  uv_run(&loop, UV_RUN_NOWAIT);
  pl_files_store_abort(s, "the path to the sender died");
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(o.dones == 1 && o.replies == 0 && o.code == PL_FILES_UNAVAILABLE);
  CHECK_STR_EQ(o.error, "the path to the sender died");
  only(dir, NULL);
  /* Before any byte. */
  s = new_store(dir, &o);
  pl_files_store_abort(s, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(o.dones == 1 && o.replies == 0);
  CHECK_STR_CONTAINS(o.error, "closed");
  only(dir, NULL);
  free(bytes);
  free(data);
}

static void no_room_or_no_dir(void) {
  const char *dir = new_dir("room");
  uint8_t hdr[PL_FILES_HEADER_MAX];
  size_t hlen;
  outcome o;
  CHECK_RV(pl_files_header_encode(hdr, &hlen, "huge", 4, 1ull << 62, 0), 0);
  pl_files_store *s = new_store(dir, &o);
  feed(s, hdr, hlen, hlen, 0, &o);
  CHECK(o.code == PL_FILES_NO_SPACE);
  CHECK_STR_CONTAINS(o.error, "not enough for");
  only(dir, NULL);

  char gone[700];
  snprintf(gone, sizeof gone, "%s/missing", dir);
  CHECK_RV(pl_files_header_encode(hdr, &hlen, "x", 1, 10, 0), 0);
  s = new_store(gone, &o);
  feed(s, hdr, hlen, hlen, 0, &o);
  CHECK(o.code == PL_FILES_STORAGE || o.code == PL_FILES_NO_SPACE);
  CHECK_STR_CONTAINS(o.error, "no such file or directory");
  CHECK_STR_CONTAINS(o.error, "its files directory");
  CHECK(strstr(o.error, dir) == NULL); /* the peer never learns this host's paths */
}

static void bad_arguments(void) {
  pl_files_store *s;
  pl_files_store_cb cb = {0};
  CHECK_RV(pl_files_store_new(&s, &loop, "/tmp", &cb), PL_ERR_INVALID); /* no done */
  cb.done = on_done;
  CHECK_RV(pl_files_store_new(&s, &loop, "", &cb), PL_ERR_INVALID);
  CHECK_RV(pl_files_store_new(&s, &loop, NULL, &cb), PL_ERR_INVALID);
}

/* At start: the directory is made (0700), a killed run's temporaries go, everything else stays. */
static void dir_prepare(void) {
  char dir[700], path[800], why[128];
  struct stat st;
  snprintf(dir, sizeof dir, "%s/prepared", base);
  CHECK_RV(pl_files_dir_prepare(dir, why, sizeof why), 0);
  CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
  const char *names[] = {".peerlink-0123456789abcdef.part", "keep.txt", ".peerlink-x", "x.part"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    write_file(path, "x");
  }
  CHECK_RV(pl_files_dir_prepare(dir, why, sizeof why), 0);
  snprintf(path, sizeof path, "%s/%s", dir, names[0]);
  CHECK(!exists(path));
  for (size_t i = 1; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    CHECK_MSG(exists(path), "%s was removed", path);
  }
  snprintf(path, sizeof path, "%s/keep.txt", dir);
  CHECK_RV(pl_files_dir_prepare(path, why, sizeof why), PL_ERR_IO);
  CHECK_STR_CONTAINS(why, "not a directory");
  snprintf(path, sizeof path, "%s/no/such/parent", dir);
  CHECK_RV(pl_files_dir_prepare(path, why, sizeof why), PL_ERR_IO);
  CHECK_STR_CONTAINS(why, "cannot create it: No such file or directory");
}

int main(void) {
  const char *t = getenv("TEST_TMPDIR");
  snprintf(base, sizeof base, "%s/store_test.XXXXXX", t ? t : "/tmp");
  CHECK(mkdtemp(base) != NULL);
  CHECK(uv_loop_init(&loop) == 0);
  stored();
  empty_file();
  existing_kept_or_replaced();
  existing_appears_meanwhile();
  hash_mismatch();
  bad_names();
  protocol_errors();
  aborted();
  no_room_or_no_dir();
  bad_arguments();
  dir_prepare();
  CHECK(uv_loop_close(&loop) == 0);
  printf("files_store_test: ok\n");
  return 0;
}
