/* The parser of the messages rendezvous instances exchange over Redis
 * (control/rendezvous/cluster_msg.c): any bytes are parsed (Redis carries any client's bytes);
 * the error path's reason is always terminated; what parses is packed again, and those bytes
 * must parse too (a message the parser accepted is one an instance can forward), to the same
 * kind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/rendezvous/cluster_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  pl_rdv_cmsg *m;
  memset(err, 'x', sizeof err);
  if (pl_rdv_cmsg_parse(data, size, &m, err, sizeof err) != 0) {
    if (m != NULL || memchr(err, '\0', sizeof err) == NULL)
      abort();
    return 0;
  }
  if (!protobuf_c_message_check(&m->base))
    abort();
  (void)pl_rdv_cmsg_kind_name(m);
  uint8_t *buf;
  size_t len;
  if (pl_rdv_cmsg_pack(m, &buf, &len) != 0) {
    pl_rdv_cmsg_free(m);
    return 0;
  }
  pl_rdv_cmsg *again;
  memset(err, 'x', sizeof err);
  if (pl_rdv_cmsg_parse(buf, len, &again, err, sizeof err) != 0)
    abort();
  if (again->msg_case != m->msg_case || strcmp(again->from, m->from) != 0 ||
      again->leader_epoch != m->leader_epoch)
    abort();
  pl_rdv_cmsg_free(again);
  free(buf);
  pl_rdv_cmsg_free(m);
  return 0;
}
