/* Replays fuzz inputs without libFuzzer: calls LLVMFuzzerTestOneInput on every regular file in
 * each directory (or file) named on the command line. Fails when nothing was run, so a test
 * whose corpus went missing does not pass by accident. */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  size_t cap = 4096, len = 0, n;
  uint8_t *buf = malloc(cap);
  while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  int failed = buf == NULL || ferror(f);
  fclose(f);
  if (failed) {
    fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    return -1;
  }
  /* An exact-size copy, so ASan catches reads past the end as libFuzzer would. */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact == NULL) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

/* Returns the number of inputs run, or -1. */
static long run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode))
    return run_file(path) == 0 ? 1 : -1;
  DIR *dir = opendir(path);
  if (dir == NULL) {
    perror(path);
    return -1;
  }
  long count = 0;
  struct dirent *e;
  while (count >= 0 && (e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    size_t size = strlen(path) + 1 + strlen(e->d_name) + 1;
    char *full = malloc(size);
    if (full == NULL) {
      count = -1;
      break;
    }
    snprintf(full, size, "%s/%s", path, e->d_name);
    if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
      count = run_file(full) == 0 ? count + 1 : -1;
    free(full);
  }
  closedir(dir);
  return count;
}

int main(int argc, char **argv) {
  long total = 0;
  for (int i = 1; i < argc; i++) {
    long n = run_path(argv[i]);
    if (n < 0)
      return 1;
    printf("%s: %ld inputs\n", argv[i], n);
    total += n;
  }
  if (total == 0) {
    fprintf(stderr, "no inputs run\n");
    return 1;
  }
  return 0;
}
