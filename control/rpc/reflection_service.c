/* Reflection: the pl_rpc_service glue. Each request message gets one response message; the
 * client's half-close ends the stream with OK. The answers come from pl_reflection_answer. */

#include "control/common/err.h"
#include "control/rpc/reflection.h"
#include "control/rpc/reflection_int.h"

static void info_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const pl_reflection *r = data;
  Grpc__Reflection__V1__ServerReflectionResponse *resp;
  int rv =
      pl_reflection_answer(r, (const Grpc__Reflection__V1__ServerReflectionRequest *)msg, &resp);
  if (rv != 0) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "reflection answer: %s", pl_strerror(rv));
    return;
  }
  rv = pl_rpc_call_send(call, &resp->base);
  pl_reflection_response_free(resp);
  /* A client that keeps asking without reading the answers fills the send queue; an answer
   * cannot be skipped (each request gets one), so its stream ends. */
  if (rv == PL_ERR_FULL)
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "reflection client reads too slowly: %zu answers unread",
                       pl_rpc_call_send_limit(call));
  else if (rv != 0 && rv != PL_ERR_CLOSED)
    pl_rpc_call_finish(call, PL_RPC_INTERNAL, "reflection answer not sent: %s", pl_strerror(rv));
}

static void info_on_half_close(pl_rpc_call *call, void *data) {
  (void)data;
  pl_rpc_call_finish(call, PL_RPC_OK, NULL);
}

/* v1alpha is registered with the v1 message descriptors: the two are wire-identical, and
 * protobuf-c only needs a descriptor with the right field numbers and types. */
static const pl_rpc_method info_methods[] = {
    {
        .name = "ServerReflectionInfo",
        .kind = PL_RPC_BIDI_STREAMING,
        .request = &grpc__reflection__v1__server_reflection_request__descriptor,
        .response = &grpc__reflection__v1__server_reflection_response__descriptor,
        .on_request = info_on_request,
        .on_half_close = info_on_half_close,
    },
};

static const pl_rpc_service *fill(pl_rpc_service *svc, const char *full_name, pl_reflection *r) {
  svc->full_name = full_name;
  svc->methods = info_methods;
  svc->n_methods = sizeof(info_methods) / sizeof(info_methods[0]);
  svc->data = r;
  return svc;
}

const pl_rpc_service *pl_reflection_service_v1(pl_reflection *r) {
  return fill(&r->service_v1, "grpc.reflection.v1.ServerReflection", r);
}

const pl_rpc_service *pl_reflection_service_v1alpha(pl_reflection *r) {
  return fill(&r->service_v1alpha, "grpc.reflection.v1alpha.ServerReflection", r);
}
