#include "control/common/random.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "control/common/err.h"

int pl_random_bytes(void *buf, size_t len) {
  uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return PL_ERR_IO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
