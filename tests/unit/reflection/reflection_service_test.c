/* Reflection's pl_rpc_service glue, driven through a fake call: one answer per request, OK on
 * half-close, a bound on unread answers, and the same method under v1 and v1alpha. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/reflection.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "peerlink/descriptor_set.h"
#include "tests/unit/health/fake_rpc.h"

#include "tests/unit/common/check.h"

static void send_request(const pl_rpc_service *svc, pl_rpc_call *call, const char *symbol) {
  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  req.file_containing_symbol = (char *)symbol;
  svc->methods[0].on_request(call, &req.base, svc->data);
}

static void test_stream(const pl_rpc_service *svc) {
  CHECK(svc->n_methods == 1);
  CHECK(strcmp(svc->methods[0].name, "ServerReflectionInfo") == 0);
  CHECK(svc->methods[0].kind == PL_RPC_BIDI_STREAMING);
  CHECK(svc->methods[0].on_half_close != NULL);

  pl_rpc_call call;
  fake_call_init(&call);
  send_request(svc, &call, "peerlink.v1.Agent");
  send_request(svc, &call, "no.Such");
  CHECK(call.n_sent == 2 && !call.finished);

  /* What a v1alpha client reads off the wire. */
  Grpc__Reflection__V1alpha__ServerReflectionResponse *r0 =
      grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, call.sent_len[0],
                                                                    call.sent[0]);
  Grpc__Reflection__V1alpha__ServerReflectionResponse *r1 =
      grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, call.sent_len[1],
                                                                    call.sent[1]);
  CHECK(r0 != NULL && r1 != NULL);
  CHECK(r0->file_descriptor_response != NULL &&
        r0->file_descriptor_response->n_file_descriptor_proto == 2);
  CHECK(strcmp(r0->original_request->file_containing_symbol, "peerlink.v1.Agent") == 0);
  CHECK(r1->error_response != NULL && r1->error_response->error_code == PL_RPC_NOT_FOUND);
  grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r0, NULL);
  grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r1, NULL);

  svc->methods[0].on_half_close(&call, svc->data);
  CHECK(call.finished && call.code == PL_RPC_OK);
  if (svc->methods[0].on_done != NULL)
    svc->methods[0].on_done(&call, 0, svc->data);
  fake_call_clear(&call);

  /* A client that stops reading is cut off rather than buffered without limit. */
  fake_call_init(&call);
  call.pending = PL_RPC_SEND_QUEUE_DEFAULT;
  send_request(svc, &call, "peerlink.v1.Agent");
  CHECK(call.n_sent == 0 && call.finished && call.code == PL_RPC_RESOURCE_EXHAUSTED);
  fake_call_clear(&call);

  /* A cancelled call: the answer is dropped quietly. */
  fake_call_init(&call);
  call.closed = 1;
  send_request(svc, &call, "peerlink.v1.Agent");
  CHECK(call.n_sent == 0 && !call.finished);
  fake_call_clear(&call);
}

int main(void) {
  pl_reflection *r;
  CHECK(pl_reflection_new(&r, pl_descriptor_set, pl_descriptor_set_len) == 0);
  const pl_rpc_service *v1 = pl_reflection_service_v1(r);
  const pl_rpc_service *v1alpha = pl_reflection_service_v1alpha(r);
  CHECK(v1 != v1alpha && v1->data == r && v1alpha->data == r);
  CHECK(strcmp(v1->full_name, "grpc.reflection.v1.ServerReflection") == 0);
  CHECK(strcmp(v1alpha->full_name, "grpc.reflection.v1alpha.ServerReflection") == 0);
  CHECK(pl_reflection_service_v1(r) == v1);
  test_stream(v1);
  test_stream(v1alpha);
  pl_reflection_free(r);
  printf("ok\n");
  return 0;
}
