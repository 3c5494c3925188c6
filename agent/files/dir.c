/* The files directory at start (agent/files/store.h, pl_files_dir_prepare). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/files/store.h"
#include "control/common/err.h"

static int leftover(const char *name) {
  size_t n = strlen(name), p = strlen(PL_FILES_TMP_PREFIX), s = strlen(PL_FILES_TMP_SUFFIX);
  return n > p + s && strncmp(name, PL_FILES_TMP_PREFIX, p) == 0 &&
         strcmp(name + n - s, PL_FILES_TMP_SUFFIX) == 0;
}

int pl_files_dir_prepare(const char *dir, char *why, size_t cap) {
  struct stat st;
  char path[4096];
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(why, cap, "cannot create it: %s", strerror(errno));
    return PL_ERR_IO;
  }
  if (stat(dir, &st) != 0) {
    snprintf(why, cap, "%s", strerror(errno));
    return PL_ERR_IO;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(why, cap, "not a directory");
    return PL_ERR_IO;
  }
  DIR *d = opendir(dir);
  if (d == NULL) {
    snprintf(why, cap, "cannot read it: %s", strerror(errno));
    return PL_ERR_IO;
  }
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (!leftover(e->d_name))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path); /* one that will not go is only a dot file */
  }
  closedir(d);
  return 0;
}
