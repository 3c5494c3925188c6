/* Samples, percentiles, RSS and the loop-until-done helper every phase uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/common/err.h"
#include "tests/bench/bench.h"

int pl_bench_samples_init(pl_bench_samples *s, size_t cap) {
  s->n = 0;
  s->cap = cap;
  s->ns = calloc(cap ? cap : 1, sizeof *s->ns);
  return s->ns ? 0 : PL_ERR_NOMEM;
}

void pl_bench_samples_add(pl_bench_samples *s, uint64_t ns) {
  if (s->n < s->cap)
    s->ns[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

double pl_bench_samples_pct_us(pl_bench_samples *s, double p) {
  if (s->n == 0)
    return 0;
  qsort(s->ns, s->n, sizeof *s->ns, cmp_u64);
  /* Nearest rank: the smallest sample with at least p% of the samples at or below it. */
  size_t rank = (size_t)((p / 100.0) * (double)s->n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > s->n)
    rank = s->n;
  return (double)s->ns[rank - 1] / 1000.0;
}

void pl_bench_samples_free(pl_bench_samples *s) {
  free(s->ns);
  memset(s, 0, sizeof *s);
}

void pl_bench_lat_from(pl_bench_lat *lat, pl_bench_samples *s) {
  lat->n = s->n;
  lat->p50_us = pl_bench_samples_pct_us(s, 50);
  lat->p99_us = pl_bench_samples_pct_us(s, 99);
  lat->max_us = pl_bench_samples_pct_us(s, 100);
}

uint64_t pl_bench_now_ns(void) {
  return uv_hrtime();
}

long pl_bench_proc_file_kib(int pid, const char *file, const char *field) {
  char path[64], line[256];
  size_t flen = strlen(field);
  long kib = -1;
  if (pid <= 0)
    return -1;
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, flen) == 0 && line[flen] == ':' &&
        sscanf(line + flen + 1, "%ld", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

long pl_bench_proc_kib(int pid, const char *field) {
  return pl_bench_proc_file_kib(pid, "status", field);
}

int pl_bench_parse_size(const char *s, size_t min, size_t max, size_t *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max)
    return PL_ERR_INVALID;
  *out = (size_t)v;
  return 0;
}

double pl_bench_proc_cpu_s(int pid) {
  char path[64], buf[1024];
  unsigned long long utime, stime;
  if (pid <= 0)
    return -1;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields are counted after the last ')'.
   * utime and stime are fields 14 and 15, so the 12th and 13th after it. */
  const char *p = strrchr(buf, ')');
  if (!p ||
      sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void on_deadline(uv_timer_t *t) {
  pl_bench *b = t->data;
  b->timed_out = 1;
}

int pl_bench_wait(pl_bench *b, const int *done, uint64_t timeout_ms) {
  b->timed_out = 0;
  b->deadline.data = b;
  uv_update_time(b->loop);
  uv_timer_start(&b->deadline, on_deadline, timeout_ms, 0);
  /* The timer keeps UV_RUN_ONCE from blocking past the deadline. */
  while (!*done && !b->timed_out)
    uv_run(b->loop, UV_RUN_ONCE);
  uv_timer_stop(&b->deadline);
  return *done ? 0 : PL_ERR_TIMEOUT;
}
