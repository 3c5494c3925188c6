/* agent/files: the file-name check refuses every way out of the files directory and every
 * name that is not plain text, and says why. */
#include <stdio.h>
#include <string.h>

#include "agent/files/wire.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"

static void ok(const char *name) {
  char why[128] = "";
  CHECK_MSG(pl_files_name_check(name, strlen(name), why, sizeof why) == 0, "%s: %s", name, why);
}

static void refused(const char *name, size_t len, const char *reason) {
  char why[128] = "";
  CHECK_RV(pl_files_name_check(name, len, why, sizeof why), PL_ERR_INVALID);
  CHECK_STR_CONTAINS(why, reason);
}

#define REFUSED(lit, reason) refused(lit, sizeof lit - 1, reason)

int main(void) {
  ok("report.pdf");
  ok("a");
  ok("with space and-dash_1.tar.gz");
  ok("a.b.c");
  ok("Grüße.txt");            /* UTF-8 */
  ok("\xf0\x9f\x93\x84.txt"); /* U+1F4C4 */
  char max[PL_FILES_NAME_MAX + 2];
  memset(max, 'n', sizeof max);
  max[PL_FILES_NAME_MAX] = '\0';
  ok(max);

  refused(max, PL_FILES_NAME_MAX + 1, "longer than 255 bytes");
  REFUSED("", "empty");
  refused(NULL, 0, "empty");
  REFUSED("/etc/passwd", "absolute path");
  REFUSED("..", "starts with '.'");
  REFUSED(".", "starts with '.'");
  REFUSED(".bashrc", "starts with '.'");
  REFUSED(".peerlink-0123.part", "starts with '.'");
  REFUSED("../x", "starts with '.'");
  REFUSED("a/../../x", "contains '/'");
  REFUSED("dir/file", "contains '/'");
  REFUSED("file/", "contains '/'");
  REFUSED("a..b", "contains \"..\"");
  REFUSED("x..", "contains \"..\"");
  REFUSED("..\\..\\win.ini", "starts with '.'");
  REFUSED("a\\b", "contains '\\'");
  REFUSED("nul\0byte", "NUL");
  REFUSED("line\nbreak", "control character");
  REFUSED("tab\there", "control character");
  REFUSED("del\x7f", "control character");
  REFUSED("esc\x1b[31m", "control character");
  REFUSED("bad\xff", "UTF-8");
  REFUSED("\xc0\xaf", "UTF-8");         /* overlong '/' */
  REFUSED("\xe0\x80\xaf", "UTF-8");     /* overlong '/' */
  REFUSED("\xed\xa0\x80", "UTF-8");     /* a surrogate */
  REFUSED("\xf4\x90\x80\x80", "UTF-8"); /* above U+10FFFF */
  REFUSED("cut\xe2\x82", "UTF-8");      /* a sequence cut short */
  /* A short buffer for the reason is fine. */
  char why[4];
  CHECK_RV(pl_files_name_check("a/b", 3, why, sizeof why), PL_ERR_INVALID);
  CHECK(strlen(why) == 3);
  CHECK_RV(pl_files_name_check("a/b", 3, NULL, 0), PL_ERR_INVALID);
  printf("files_name_test: ok\n");
  return 0;
}
