/* agent/files send + inbox over two real agent/quic connections in memory (the quic tests'
 * simulated link: synthetic time, latency, bandwidth, seeded loss), with real files on disk and
 * a real loop for the file operations. A file arrives verified, also with loss; an existing
 * file is refused early (the sender stops long before the end); cancelling, a dead path and a
 * file that shrinks while it is sent leave no file and no temporary on the receiver, and both
 * sides say why; local errors and a peer that takes no files are reported. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "agent/files/inbox.h"
#include "agent/files/send.h"
#include "tests/unit/quic/harness.h"

static uv_loop_t loop;
static char base[512];

typedef struct sender {
  h_pair *p;
  pl_files_send *s;
  int done, opened, progress_calls, no_conn;
  uint64_t size, last_acked;
  pl_files_send_result res;
} sender;

typedef struct receiver {
  pl_files_inbox in;
  char dir[600];
  int results;
  pl_files_result last;
  char path[1024], error[400], sha[65], peer[65];
} receiver;

static pl_quic *snd_conn(void *arg, char *why, size_t cap) {
  sender *s = arg;
  if (s->no_conn) {
    snprintf(why, cap, "no connection in this test");
    return NULL;
  }
  return s->p->c.q;
}

static void snd_opened(void *arg, uint64_t size) {
  sender *s = arg;
  s->opened++;
  s->size = size;
}

static void snd_progress(void *arg, uint64_t acked, uint64_t total) {
  sender *s = arg;
  CHECK_U64(acked, >, s->last_acked); /* only news is reported */
  CHECK_U64(acked, <=, total);
  CHECK_U64(total, ==, s->size);
  s->last_acked = acked;
  s->progress_calls++;
}

static void snd_done(void *arg, const pl_files_send_result *r) {
  sender *s = arg;
  CHECK(!s->done);
  s->done = 1;
  s->res = *r;
  s->s = NULL;
}

static void rcv_result(void *arg, const char *peer_id, const pl_files_result *r) {
  receiver *rc = arg;
  rc->results++;
  rc->last = *r;
  snprintf(rc->path, sizeof rc->path, "%s", r->path);
  snprintf(rc->error, sizeof rc->error, "%s", r->error);
  snprintf(rc->sha, sizeof rc->sha, "%s", r->sha256);
  snprintf(rc->peer, sizeof rc->peer, "%s", peer_id);
}

static receiver *the_receiver;

static int rcv_stream_open(void *arg, pl_quic *q, int64_t sid, uint8_t kind,
                           const pl_quic_stream_cb **pcb, void **psarg) {
  (void)arg;
  if (kind != PL_QUIC_STREAM_FILE)
    return PL_ERR_STATE;
  return pl_files_inbox_accept(&the_receiver->in, q, sid, "0123456789abcdef0123456789abcdef", pcb,
                               psarg);
}

/* An established pair whose server side takes FILE streams into rc. */
static void pair_up(h_pair *p, receiver *rc, const char *dirname, int with_dir) {
  h_pair_init(p, 1, 0);
  p->s.cb.stream_open = rcv_stream_open;
  memset(rc, 0, sizeof *rc);
  snprintf(rc->dir, sizeof rc->dir, "%s/%s", base, dirname);
  CHECK(mkdir(rc->dir, 0700) == 0);
  pl_files_inbox_init(&rc->in, &loop, with_dir ? rc->dir : NULL, rcv_result, rc);
  the_receiver = rc;
  h_start(p);
  CHECK(h_run(p, h_both_established, 5000000));
}

typedef int (*until_fn)(void *arg);

/* Runs packets, timers and file operations until `until` holds or limit_us of synthetic time
 * passed. File operations go first: time stands still while the disk works. (h_run's steps,
 * with the loop's file operations between them.) */
static int run(h_pair *p, until_fn until, void *arg, uint64_t limit_us) {
  uint64_t end = p->now + limit_us;
  for (;;) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (until(arg))
      return 1;
    h_write_all(p, &p->c, &p->c2s);
    h_write_all(p, &p->s, &p->s2c);
    if (uv_loop_alive(&loop)) {
      uv_run(&loop, UV_RUN_ONCE);
      continue;
    }
    uint64_t next = UINT64_MAX;
    if (p->c2s.len)
      next = h_min(next, p->c2s.ring[p->c2s.head].at);
    if (p->s2c.len)
      next = h_min(next, p->s2c.ring[p->s2c.head].at);
    next = h_min(next, h_min(pl_quic_deadline(p->c.q), pl_quic_deadline(p->s.q)));
    if (next == UINT64_MAX || next > end)
      return until(arg);
    p->now = next > p->now ? next : p->now;
    h_deliver(p, &p->c2s, &p->s);
    h_deliver(p, &p->s2c, &p->c);
    if (pl_quic_deadline(p->c.q) <= p->now)
      pl_quic_handle_expiry(p->c.q, p->now);
    if (pl_quic_deadline(p->s.q) <= p->now)
      pl_quic_handle_expiry(p->s.q, p->now);
  }
}

typedef struct both {
  sender *s;
  receiver *r;
} both;

static int both_done(void *arg) {
  both *b = arg;
  return b->s->done && b->r->results > 0;
}

static int sender_done(void *arg) {
  return ((sender *)arg)->done;
}

static int received(void *arg) {
  return ((receiver *)arg)->results > 0;
}

static int acked_1mib(void *arg) {
  return ((sender *)arg)->last_acked >= (1u << 20) || ((sender *)arg)->done;
}

static void make_file(const char *path, size_t n, unsigned seed, uint8_t sha[32]) {
  FILE *f = fopen(path, "wb");
  uint8_t buf[4096];
  wc_Sha256 h;
  CHECK(f != NULL && wc_InitSha256(&h) == 0);
  for (size_t off = 0; off < n;) {
    size_t k = n - off < sizeof buf ? n - off : sizeof buf;
    for (size_t i = 0; i < k; i++)
      buf[i] = (uint8_t)((off + i) * 131 + seed + ((off + i) >> 10));
    CHECK(fwrite(buf, 1, k, f) == k);
    CHECK(wc_Sha256Update(&h, buf, (word32)k) == 0);
    off += k;
  }
  CHECK(wc_Sha256Final(&h, sha) == 0);
  wc_Sha256Free(&h);
  CHECK(fclose(f) == 0);
}

static void same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  CHECK_MSG(fa && fb, "%s or %s missing", a, b);
  int ca, cb;
  do {
    ca = fgetc(fa);
    cb = fgetc(fb);
    CHECK_MSG(ca == cb, "%s and %s differ", a, b);
  } while (ca != EOF);
  fclose(fa);
  fclose(fb);
}

/* The directory holds `keep` (may be NULL) and nothing else: no temporaries. */
static void only(const char *dir, const char *keep) {
  DIR *d = opendir(dir);
  struct dirent *e;
  CHECK(d != NULL);
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      CHECK_MSG(keep && strcmp(e->d_name, keep) == 0, "unexpected %s/%s", dir, e->d_name);
  }
  closedir(d);
}

static void start_send(sender *s, h_pair *p, const char *path, const char *name, int overwrite) {
  pl_files_send_cb cb = {
      .conn = snd_conn, .opened = snd_opened, .progress = snd_progress, .done = snd_done, .arg = s};
  int no_conn = s->no_conn;
  memset(s, 0, sizeof *s);
  s->p = p;
  s->no_conn = no_conn;
  CHECK_RV(pl_files_send_new(&s->s, &loop, path, name, strlen(name), overwrite, &cb), 0);
}

static void finish_pair(h_pair *p, receiver *rc) {
  pl_files_inbox_close(&rc->in, "test over");
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_U64(rc->in.active, ==, 0);
  h_pair_free(p);
}

static void arrives(double loss, const char *dirname) {
  h_pair p;
  receiver rc;
  sender s = {0};
  char src[600], dst[700], hex[65];
  uint8_t sha[32];
  size_t n = 4 * 1024 * 1024 + 1234;
  pair_up(&p, &rc, dirname, 1);
  p.c2s.loss = p.s2c.loss = loss;
  snprintf(src, sizeof src, "%s/%s.src", base, dirname);
  make_file(src, n, 7, sha);
  pl_hex_encode(hex, sha, sizeof sha);
  start_send(&s, &p, src, "payload.bin", 0);
  both b = {&s, &rc};
  CHECK(run(&p, both_done, &b, 120000000));
  CHECK_MSG(s.res.outcome == PL_FILES_SENT, "%s", s.res.message);
  CHECK_STR_EQ(s.res.sha256, hex);
  CHECK_U64(s.res.size, ==, n);
  CHECK_U64(s.res.acked, ==, n);
  CHECK(s.opened == 1 && s.size == n && s.progress_calls > 1);
  CHECK_MSG(rc.last.code == PL_FILES_STORED, "%s", rc.error);
  CHECK_STR_EQ(rc.sha, hex);
  CHECK_STR_EQ(rc.peer, "0123456789abcdef0123456789abcdef");
  snprintf(dst, sizeof dst, "%s/payload.bin", rc.dir);
  CHECK_STR_EQ(rc.path, dst);
  same_file(src, dst);
  only(rc.dir, "payload.bin");
  if (loss > 0)
    CHECK_U64(p.c2s.dropped_loss, >, 0);
  finish_pair(&p, &rc);
}

static void existing_refused_early(void) {
  h_pair p;
  receiver rc;
  sender s = {0};
  char src[600], dst[700];
  uint8_t sha[32];
  size_t n = 8 * 1024 * 1024;
  pair_up(&p, &rc, "exists", 1);
  snprintf(src, sizeof src, "%s/exists.src", base);
  make_file(src, n, 9, sha);
  snprintf(dst, sizeof dst, "%s/taken.txt", rc.dir);
  FILE *f = fopen(dst, "w");
  CHECK(f && fputs("mine", f) >= 0 && fclose(f) == 0);
  start_send(&s, &p, src, "taken.txt", 0);
  both b = {&s, &rc};
  CHECK(run(&p, both_done, &b, 30000000));
  CHECK(s.res.outcome == PL_FILES_REFUSED && s.res.code == PL_FILES_EXISTS);
  CHECK_STR_CONTAINS(s.res.message, "taken.txt already exists");
  CHECK_U64(s.res.acked, <, n / 2); /* refused at the header, not after the whole file */
  CHECK(rc.last.code == PL_FILES_EXISTS);
  only(rc.dir, "taken.txt");
  f = fopen(dst, "r");
  char got[8] = "";
  CHECK(f && fgets(got, sizeof got, f) && fclose(f) == 0);
  CHECK_STR_EQ(got, "mine");
  /* With overwrite it is replaced. */
  start_send(&s, &p, src, "taken.txt", 1);
  rc.results = 0;
  CHECK(run(&p, both_done, &b, 120000000));
  CHECK_MSG(s.res.outcome == PL_FILES_SENT, "%s", s.res.message);
  same_file(src, dst);
  only(rc.dir, "taken.txt");
  finish_pair(&p, &rc);
}

/* A 32 MiB transfer under way (more than the stream buffer, so the sender still reads): 1 MiB of
 * it acknowledged. src receives the source's path. */
static void under_way(h_pair *p, receiver *rc, sender *s, const char *name, char *src, size_t cap) {
  uint8_t sha[32];
  pair_up(p, rc, name, 1);
  snprintf(src, cap, "%s/%s.src", base, name);
  make_file(src, 32 * 1024 * 1024, 3, sha);
  start_send(s, p, src, name, 0);
  CHECK(run(p, acked_1mib, s, 30000000));
  CHECK(!s->done);
}

/* Both sides failed, and the receiver left nothing behind. */
static void both_failed(h_pair *p, receiver *rc, sender *s, pl_files_send_outcome outcome,
                        const char *sender_says, const char *receiver_says) {
  both b = {s, rc};
  CHECK(run(p, both_done, &b, 300000000));
  CHECK_MSG(s->res.outcome == outcome, "%s", s->res.message);
  CHECK_STR_CONTAINS(s->res.message, sender_says);
  CHECK(rc->last.code == PL_FILES_UNAVAILABLE);
  CHECK_STR_CONTAINS(rc->error, receiver_says);
  CHECK_STR_EQ(rc->path, "");
  only(rc->dir, NULL);
  finish_pair(p, rc);
}

static void cancelled(void) {
  h_pair p;
  receiver rc;
  sender s = {0};
  char src[600];
  under_way(&p, &rc, &s, "cancel", src, sizeof src);
  pl_files_send_cancel(s.s);
  CHECK(run(&p, received, &rc, 30000000));
  CHECK(rc.last.code == PL_FILES_UNAVAILABLE);
  CHECK_STR_CONTAINS(rc.error, "the sender cancelled the transfer");
  CHECK_STR_EQ(rc.path, "");
  CHECK(!s.done); /* no callback after cancel */
  only(rc.dir, NULL);
  finish_pair(&p, &rc);
}

static void path_dies(void) {
  h_pair p;
  receiver rc;
  sender s = {0};
  char src[600];
  under_way(&p, &rc, &s, "dead", src, sizeof src);
  p.c2s.down = p.s2c.down = 1; /* every packet dropped from now on */
  both_failed(&p, &rc, &s, PL_FILES_CONN_LOST, "the QUIC connection to the peer ended after",
              "the QUIC connection to the sender ended");
}

static void shrinks(void) {
  h_pair p;
  receiver rc;
  sender s = {0};
  char src[600];
  under_way(&p, &rc, &s, "shrink", src, sizeof src);
  CHECK(truncate(src, 1536 * 1024) == 0);
  both_failed(&p, &rc, &s, PL_FILES_LOCAL_IO, "shrank while it was sent",
              "the sender cancelled the transfer");
}

static void local_errors_and_refusals(void) {
  h_pair p;
  receiver rc;
  sender s = {0};
  char missing[600];
  pair_up(&p, &rc, "local", 0); /* this receiver takes no files */
  snprintf(missing, sizeof missing, "%s/no-such-file", base);
  start_send(&s, &p, missing, "x", 0);
  CHECK(run(&p, sender_done, &s, 1000000));
  CHECK(s.res.outcome == PL_FILES_LOCAL_MISSING && !s.opened);
  CHECK_STR_CONTAINS(s.res.message, "no such file or directory");
  start_send(&s, &p, base, "x", 0);
  CHECK(run(&p, sender_done, &s, 1000000));
  CHECK(s.res.outcome == PL_FILES_LOCAL_INVALID);
  CHECK_STR_CONTAINS(s.res.message, "not a regular file");
  s.no_conn = 1;
  start_send(&s, &p, "/dev/null", "x", 0);
  CHECK(run(&p, sender_done, &s, 1000000));
  CHECK(s.res.outcome == PL_FILES_LOCAL_INVALID); /* a device is not a regular file either */
  char src[600];
  uint8_t sha[32];
  snprintf(src, sizeof src, "%s/local.src", base);
  make_file(src, 1000, 1, sha);
  start_send(&s, &p, src, "x", 0);
  CHECK(run(&p, sender_done, &s, 1000000));
  CHECK(s.res.outcome == PL_FILES_NO_CONN);
  CHECK_STR_EQ(s.res.message, "no connection in this test");
  s.no_conn = 0;
  start_send(&s, &p, src, "x", 0);
  CHECK(run(&p, sender_done, &s, 10000000));
  CHECK_MSG(s.res.outcome == PL_FILES_RESET, "%s", s.res.message);
  CHECK_STR_CONTAINS(s.res.message, "does not take files");
  CHECK(rc.results == 0);
  finish_pair(&p, &rc);
}

static void two_at_once(void) {
  h_pair p;
  receiver rc;
  sender s1 = {0}, s2 = {0};
  char a[600], b[600], da[700], db[700];
  uint8_t sha[32];
  pair_up(&p, &rc, "two", 1);
  snprintf(a, sizeof a, "%s/two_a.src", base);
  snprintf(b, sizeof b, "%s/two_b.src", base);
  make_file(a, 3 * 1024 * 1024, 11, sha);
  make_file(b, 2 * 1024 * 1024 + 5, 12, sha);
  start_send(&s1, &p, a, "a.bin", 0);
  start_send(&s2, &p, b, "b.bin", 0);
  sender *pair_of[2] = {&s1, &s2};
  for (int i = 0; i < 2; i++)
    CHECK(run(&p, sender_done, pair_of[i], 120000000));
  CHECK_MSG(s1.res.outcome == PL_FILES_SENT, "%s", s1.res.message);
  CHECK_MSG(s2.res.outcome == PL_FILES_SENT, "%s", s2.res.message);
  CHECK(run(&p, received, &rc, 1000000));
  snprintf(da, sizeof da, "%s/a.bin", rc.dir);
  snprintf(db, sizeof db, "%s/b.bin", rc.dir);
  same_file(a, da);
  same_file(b, db);
  CHECK_U64(rc.in.stored, ==, 2);
  finish_pair(&p, &rc);
}

int main(void) {
  const char *t = getenv("TEST_TMPDIR");
  snprintf(base, sizeof base, "%s/transfer_test.XXXXXX", t ? t : "/tmp");
  CHECK(mkdtemp(base) != NULL);
  CHECK(uv_loop_init(&loop) == 0);
  arrives(0, "clean");
  arrives(0.05, "lossy");
  existing_refused_early();
  cancelled();
  path_dies();
  shrinks();
  local_errors_and_refusals();
  two_at_once();
  CHECK(uv_loop_close(&loop) == 0);
  printf("files_transfer_test: ok\n");
  return 0;
}
