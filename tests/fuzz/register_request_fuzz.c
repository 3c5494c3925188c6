/* The rendezvous's request decoding path: bytes of a Register stream message are unpacked and
 * validated exactly as control/rendezvous/service.c does before anything is stored. */
#include <stddef.h>
#include <stdint.h>

#include "control/common/candidates.h"
#include "control/rendezvous/hello.h"
#include "peerlink/v1/rendezvous.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  Peerlink__V1__RegisterRequest *req = peerlink__v1__register_request__unpack(NULL, size, data);
  if (req == NULL)
    return 0;
  switch (req->msg_case) {
  case PEERLINK__V1__REGISTER_REQUEST__MSG_HELLO:
    pl_rdv_hello_validate(req->hello, err, sizeof err);
    break;
  case PEERLINK__V1__REGISTER_REQUEST__MSG_CANDIDATES:
    pl_candidates_validate(req->candidates->candidates, req->candidates->n_candidates, "c", err,
                           sizeof err);
    break;
  default: break;
  }
  peerlink__v1__register_request__free_unpacked(req, NULL);
  return 0;
}
