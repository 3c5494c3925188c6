#ifndef PEERLINK_RPC_REFLECTION_H
#define PEERLINK_RPC_REFLECTION_H

/* gRPC server reflection (grpc.reflection.v1 and v1alpha), what grpcurl and `buf curl` use to
 * discover services.
 *
 * The FileDescriptorSet is parsed and indexed once; pl_reflection_answer is a pure function from
 * a request to a response, so the protocol is testable and fuzzable without sockets. The
 * pl_rpc_service glue (reflection_service.c) only feeds it and sends what it returns.
 *
 * v1 and v1alpha messages are wire-identical, so both services use the v1 C types. */

#include <stddef.h>
#include <stdint.h>

#include "control/rpc/rpc.h"
#include "grpc/reflection/v1/reflection.pb-c.h"

typedef struct pl_reflection pl_reflection;

/* Parses and indexes a serialized google.protobuf.FileDescriptorSet that holds every import of
 * every file in it (protoc --include_imports). The bytes are not referenced after return.
 * Returns 0, PL_ERR_PARSE (does not parse, a file without a name, two files with one name, or
 * an import missing from the set), PL_ERR_NOMEM. */
int pl_reflection_new(pl_reflection **pr, const uint8_t *fds, size_t len);

/* NULL is a no-op. Only after the server's calls are done. */
void pl_reflection_free(pl_reflection *r);

/* Adds a service name to what list_services reports (the health and reflection services are
 * always listed). The name need not be described by the set. Adding a name twice is a no-op.
 * Returns 0, PL_ERR_INVALID (NULL or empty), PL_ERR_NOMEM. */
int pl_reflection_add_service_name(pl_reflection *r, const char *full_name);

/* Answers one request. On 0, *presp is a response owned by the caller (free it with
 * pl_reflection_response_free); lookups that fail are answered with an error_response in it
 * (NOT_FOUND naming the symbol or file, INVALID_ARGUMENT for an empty request), never with an
 * error code here. Returns 0 or PL_ERR_NOMEM. */
int pl_reflection_answer(const pl_reflection *r,
                         const Grpc__Reflection__V1__ServerReflectionRequest *req,
                         Grpc__Reflection__V1__ServerReflectionResponse **presp);

/* Frees a response from pl_reflection_answer. NULL is a no-op. */
void pl_reflection_response_free(Grpc__Reflection__V1__ServerReflectionResponse *resp);

/* grpc.reflection.v1.ServerReflection/ServerReflectionInfo (bidi). Lives as long as `r`. */
const pl_rpc_service *pl_reflection_service_v1(pl_reflection *r);

/* grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (bidi), same wire format. */
const pl_rpc_service *pl_reflection_service_v1alpha(pl_reflection *r);

#endif
