/* Reflection answers against the real descriptor set (//proto:descriptor_set): what grpcurl and
 * `buf curl` ask, answered by the pure function, no sockets. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/reflection.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "peerlink/descriptor_set.h"

#include "tests/unit/common/check.h"

#define REQ(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESP(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

typedef Grpc__Reflection__V1__ServerReflectionRequest request;
typedef Grpc__Reflection__V1__ServerReflectionResponse response;

static pl_reflection *refl;

static response *ask(int which, const char *arg) {
  request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case = which;
  /* Every string member of the oneof shares the same storage. */
  req.file_containing_symbol = (char *)arg;
  response *resp = NULL;
  CHECK(pl_reflection_answer(refl, &req, &resp) == 0 && resp != NULL);
  return resp;
}

/* Checks that `resp` holds exactly the files named in `want` (NULL-terminated), `want[0]`
 * first, and that each one parses as a FileDescriptorProto. */
static void check_files(const response *resp, const char *const *want) {
  CHECK(resp->message_response_case == RESP(FILE_DESCRIPTOR_RESPONSE));
  const Grpc__Reflection__V1__FileDescriptorResponse *fdr = resp->file_descriptor_response;
  size_t n_want = 0;
  while (want[n_want] != NULL)
    n_want++;
  CHECK(fdr->n_file_descriptor_proto == n_want);
  for (size_t i = 0; i < n_want; i++) {
    const ProtobufCBinaryData *b = &fdr->file_descriptor_proto[i];
    Google__Protobuf__FileDescriptorProto *fd =
        google__protobuf__file_descriptor_proto__unpack(NULL, b->len, b->data);
    CHECK(fd != NULL && fd->name != NULL);
    int found = i == 0 ? strcmp(fd->name, want[0]) == 0 : 0;
    for (size_t j = 1; i > 0 && j < n_want; j++)
      found |= strcmp(fd->name, want[j]) == 0;
    if (!found)
      fprintf(stderr, "unexpected file %s at %zu\n", fd->name, i);
    CHECK(found);
    google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
  }
}

static void check_error(const response *resp, int code, const char *needle) {
  CHECK(resp->message_response_case == RESP(ERROR_RESPONSE));
  CHECK(resp->error_response->error_code == code);
  CHECK(strstr(resp->error_response->error_message, needle) != NULL);
}

static void test_list_services(void) {
  CHECK(pl_reflection_add_service_name(refl, "peerlink.v1.Agent") == 0);
  CHECK(pl_reflection_add_service_name(refl, "peerlink.v1.Agent") == 0);
  CHECK(pl_reflection_add_service_name(refl, "grpc.health.v1.Health") == 0);
  CHECK(pl_reflection_add_service_name(refl, "") == PL_ERR_INVALID);
  CHECK(pl_reflection_add_service_name(refl, NULL) == PL_ERR_INVALID);

  response *resp = ask(REQ(LIST_SERVICES), "*");
  CHECK(resp->message_response_case == RESP(LIST_SERVICES_RESPONSE));
  const Grpc__Reflection__V1__ListServiceResponse *list = resp->list_services_response;
  static const char *const want[] = {
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "peerlink.v1.Agent",
  };
  CHECK(list->n_service == 4);
  for (size_t i = 0; i < 4; i++) {
    int found = 0;
    for (size_t j = 0; j < list->n_service; j++)
      found += strcmp(list->service[j]->name, want[i]) == 0;
    CHECK(found == 1);
  }
  pl_reflection_response_free(resp);
}

static void test_symbols(void) {
  static const char *const agent[] = {"peerlink/v1/agent.proto", "peerlink/v1/common.proto", NULL};
  static const char *const rendezvous[] = {"peerlink/v1/rendezvous.proto",
                                           "peerlink/v1/common.proto", NULL};
  static const char *const common[] = {"peerlink/v1/common.proto", NULL};
  static const char *const health[] = {"grpc/health/v1/health.proto", NULL};
  static const char *const v1alpha[] = {"grpc/reflection/v1alpha/reflection.proto", NULL};
  static const struct {
    const char *symbol;
    const char *const *files;
  } cases[] = {
      {"peerlink.v1.Agent", agent},                    /* service */
      {"peerlink.v1.Agent.GetStatus", agent},          /* method */
      {".peerlink.v1.Agent.WatchEvents", agent},       /* descriptor-style leading dot */
      {"peerlink.v1.GetStatusResponse", agent},        /* message */
      {"peerlink.v1.GetStatusResponse.peers", agent},  /* field */
      {"peerlink.v1.Event.kind", agent},               /* oneof */
      {"peerlink.v1.PathKind", agent},                 /* enum */
      {"peerlink.v1.PATH_KIND_DIRECT", agent},         /* enum value, sibling scope */
      {"peerlink.v1.RegistryChange.Kind", rendezvous}, /* nested enum */
      {"peerlink.v1.RegistryChange.KIND_JOINED", rendezvous},
      {"peerlink.v1.Rendezvous.Register", rendezvous},
      {"peerlink.v1.Endpoint", common},
      {"grpc.health.v1.Health", health},
      {"grpc.health.v1.HealthCheckResponse.ServingStatus", health},
      {"grpc.reflection.v1alpha.ServerReflection", v1alpha},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    response *resp = ask(REQ(FILE_CONTAINING_SYMBOL), cases[i].symbol);
    if (resp->message_response_case != RESP(FILE_DESCRIPTOR_RESPONSE))
      fprintf(stderr, "symbol %s not answered\n", cases[i].symbol);
    check_files(resp, cases[i].files);
    pl_reflection_response_free(resp);
  }
}

static void test_files(void) {
  static const char *const rendezvous[] = {"peerlink/v1/rendezvous.proto",
                                           "peerlink/v1/common.proto", NULL};
  static const char *const v1[] = {"grpc/reflection/v1/reflection.proto", NULL};
  response *resp = ask(REQ(FILE_BY_FILENAME), "peerlink/v1/rendezvous.proto");
  check_files(resp, rendezvous);
  pl_reflection_response_free(resp);
  resp = ask(REQ(FILE_BY_FILENAME), "grpc/reflection/v1/reflection.proto");
  check_files(resp, v1);
  pl_reflection_response_free(resp);
}

static void test_not_found(void) {
  response *resp = ask(REQ(FILE_CONTAINING_SYMBOL), "peerlink.v1.NoSuchThing");
  check_error(resp, 5, "peerlink.v1.NoSuchThing");
  pl_reflection_response_free(resp);
  /* A package is not a symbol we serve; neither is a prefix of one. */
  resp = ask(REQ(FILE_CONTAINING_SYMBOL), "peerlink.v1");
  check_error(resp, 5, "peerlink.v1");
  pl_reflection_response_free(resp);
  resp = ask(REQ(FILE_CONTAINING_SYMBOL), "");
  check_error(resp, 5, "symbol not found");
  pl_reflection_response_free(resp);
  resp = ask(REQ(FILE_BY_FILENAME), "peerlink/v1/nope.proto");
  check_error(resp, 5, "peerlink/v1/nope.proto");
  pl_reflection_response_free(resp);

  request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  Grpc__Reflection__V1__ExtensionRequest ext = GRPC__REFLECTION__V1__EXTENSION_REQUEST__INIT;
  ext.containing_type = "peerlink.v1.Endpoint";
  ext.extension_number = 1000;
  req.message_request_case = REQ(FILE_CONTAINING_EXTENSION);
  req.file_containing_extension = &ext;
  CHECK(pl_reflection_answer(refl, &req, &resp) == 0);
  check_error(resp, 5, "1000 of peerlink.v1.Endpoint");
  pl_reflection_response_free(resp);

  /* A known message has no extensions here: an empty list, not an error. */
  resp = ask(REQ(ALL_EXTENSION_NUMBERS_OF_TYPE), "peerlink.v1.Endpoint");
  CHECK(resp->message_response_case == RESP(ALL_EXTENSION_NUMBERS_RESPONSE));
  CHECK(strcmp(resp->all_extension_numbers_response->base_type_name, "peerlink.v1.Endpoint") == 0);
  CHECK(resp->all_extension_numbers_response->n_extension_number == 0);
  pl_reflection_response_free(resp);
  resp = ask(REQ(ALL_EXTENSION_NUMBERS_OF_TYPE), "peerlink.v1.PathKind"); /* an enum */
  check_error(resp, 5, "peerlink.v1.PathKind");
  pl_reflection_response_free(resp);

  resp = ask(REQ(_NOT_SET), NULL); /* nothing selected */
  check_error(resp, 3, "empty request");
  pl_reflection_response_free(resp);
}

/* valid_host and original_request echo the request, and the response is the same bytes a
 * v1alpha client parses. */
static void test_echo_and_v1alpha(void) {
  request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.host = "localhost:50051";
  req.message_request_case = REQ(FILE_CONTAINING_SYMBOL);
  req.file_containing_symbol = "peerlink.v1.Agent";
  response *resp;
  CHECK(pl_reflection_answer(refl, &req, &resp) == 0);
  CHECK(strcmp(resp->valid_host, "localhost:50051") == 0);
  CHECK(resp->original_request != NULL && resp->original_request != &req);
  CHECK(strcmp(resp->original_request->host, "localhost:50051") == 0);
  CHECK(resp->original_request->message_request_case == REQ(FILE_CONTAINING_SYMBOL));
  CHECK(strcmp(resp->original_request->file_containing_symbol, "peerlink.v1.Agent") == 0);

  size_t len = protobuf_c_message_get_packed_size(&resp->base);
  uint8_t *buf = malloc(len);
  CHECK(buf != NULL && protobuf_c_message_pack(&resp->base, buf) == len);
  Grpc__Reflection__V1alpha__ServerReflectionResponse *alpha =
      grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, len, buf);
  CHECK(alpha != NULL);
  CHECK(strcmp(alpha->valid_host, "localhost:50051") == 0);
  CHECK(
      alpha->message_response_case ==
      GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
  CHECK(alpha->file_descriptor_response->n_file_descriptor_proto ==
        resp->file_descriptor_response->n_file_descriptor_proto);
  grpc__reflection__v1alpha__server_reflection_response__free_unpacked(alpha, NULL);
  free(buf);
  pl_reflection_response_free(resp);
}

int main(void) {
  CHECK(pl_reflection_new(&refl, pl_descriptor_set, pl_descriptor_set_len) == 0);
  test_list_services();
  test_symbols();
  test_files();
  test_not_found();
  test_echo_and_v1alpha();
  pl_reflection_free(refl);
  pl_reflection_response_free(NULL);
  printf("ok\n");
  return 0;
}
