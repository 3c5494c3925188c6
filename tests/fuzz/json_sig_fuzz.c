/* The JSON signalling parser of WS /ws/register (control/rendezvous/json_sig.c): any text is
 * parsed; what parses is validated as register.c would, packed (a message the decoder built
 * must be a valid protobuf-c message) and the error path's message is always terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/candidates.h"
#include "control/rendezvous/hello.h"
#include "control/rendezvous/json_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  Peerlink__V1__RegisterRequest *req;
  memset(err, 'x', sizeof err);
  if (pl_rdv_json_request((const char *)data, size, &req, err, sizeof err) != 0) {
    if (memchr(err, '\0', sizeof err) == NULL)
      abort();
    return 0;
  }
  if (!protobuf_c_message_check(&req->base))
    abort();
  size_t n = protobuf_c_message_get_packed_size(&req->base);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf) {
    protobuf_c_message_pack(&req->base, buf);
    free(buf);
  }
  if (req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO)
    pl_rdv_hello_validate(req->hello, err, sizeof err);
  else if (req->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES)
    pl_candidates_validate(req->candidates->candidates, req->candidates->n_candidates, "c", err,
                           sizeof err);
  pl_rdv_json_request_free(req);
  return 0;
}
