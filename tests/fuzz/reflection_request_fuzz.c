/* libFuzzer target: bytes → ServerReflectionRequest → pl_reflection_answer against the real
 * descriptor set. The answer is packed too, as the server would, then everything is freed. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "control/rpc/reflection.h"
#include "peerlink/descriptor_set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built once and kept: a server indexes its set once too. Reachable, so not a leak. */
static pl_reflection *refl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (refl == NULL && pl_reflection_new(&refl, pl_descriptor_set, pl_descriptor_set_len) != 0)
    abort();
  Grpc__Reflection__V1__ServerReflectionRequest *req =
      grpc__reflection__v1__server_reflection_request__unpack(NULL, size, data);
  if (req == NULL)
    return 0;
  Grpc__Reflection__V1__ServerReflectionResponse *resp;
  if (pl_reflection_answer(refl, req, &resp) == 0) {
    size_t len = protobuf_c_message_get_packed_size(&resp->base);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf != NULL && protobuf_c_message_pack(&resp->base, buf) != len)
      abort();
    free(buf);
    pl_reflection_response_free(resp);
  }
  grpc__reflection__v1__server_reflection_request__free_unpacked(req, NULL);
  return 0;
}
