/* Reflection: parsing and indexing descriptor sets built here (bad sets, imports, extensions). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/reflection.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "peerlink/descriptor_set.h"

#include "tests/unit/common/check.h"

#define REQ(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESP(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Grpc__Reflection__V1__ServerReflectionResponse response;

/* pl_reflection_new on a set of `n` files. */
static int load(pl_reflection **pr, file_proto **files, size_t n) {
  Google__Protobuf__FileDescriptorSet set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
  set.n_file = n;
  set.file = files;
  size_t len = protobuf_c_message_get_packed_size(&set.base);
  uint8_t *buf = malloc(len ? len : 1);
  CHECK(buf != NULL);
  protobuf_c_message_pack(&set.base, buf);
  int rv = pl_reflection_new(pr, buf, len);
  free(buf);
  return rv;
}

static response *ask(const pl_reflection *r, int which, const char *arg) {
  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case = which;
  req.file_by_filename = (char *)arg; /* the oneof's strings share storage */
  response *resp;
  CHECK(pl_reflection_answer(r, &req, &resp) == 0);
  return resp;
}

/* The names of the files in a file_descriptor_response, comma-separated, in order. */
static void file_names(const response *resp, char *out, size_t size) {
  CHECK(resp->message_response_case == RESP(FILE_DESCRIPTOR_RESPONSE));
  out[0] = '\0';
  for (size_t i = 0; i < resp->file_descriptor_response->n_file_descriptor_proto; i++) {
    const ProtobufCBinaryData *b = &resp->file_descriptor_response->file_descriptor_proto[i];
    file_proto *fd = google__protobuf__file_descriptor_proto__unpack(NULL, b->len, b->data);
    CHECK(fd != NULL);
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s%s", i ? "," : "", fd->name);
    google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
  }
}

static void check_files(const pl_reflection *r, int which, const char *arg, const char *want) {
  char names[256];
  response *resp = ask(r, which, arg);
  file_names(resp, names, sizeof(names));
  if (strcmp(names, want) != 0)
    fprintf(stderr, "%s: got %s, want %s\n", arg, names, want);
  CHECK(strcmp(names, want) == 0);
  pl_reflection_response_free(resp);
}

static void test_bad_sets(void) {
  pl_reflection *r = NULL;
  static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x7f, 0x01};
  CHECK(pl_reflection_new(&r, garbage, sizeof(garbage)) == PL_ERR_PARSE && r == NULL);
  CHECK(pl_reflection_new(&r, pl_descriptor_set, pl_descriptor_set_len / 2) == PL_ERR_PARSE);

  file_proto a = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto b = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto *files[] = {&a, &b};
  CHECK(load(&r, files, 2) == PL_ERR_PARSE); /* files without names */
  a.name = "a.proto";
  b.name = "a.proto";
  CHECK(load(&r, files, 2) == PL_ERR_PARSE); /* one name twice */
  b.name = "b.proto";
  char *deps[] = {"missing.proto"};
  b.n_dependency = 1;
  b.dependency = deps;
  CHECK(load(&r, files, 2) == PL_ERR_PARSE); /* an import not in the set */
  deps[0] = "a.proto";
  CHECK(load(&r, files, 2) == 0);
  pl_reflection_free(r);
}

static void test_empty_set(void) {
  pl_reflection *r;
  CHECK(pl_reflection_new(&r, NULL, 0) == 0);
  response *resp = ask(r, REQ(LIST_SERVICES), "");
  CHECK(resp->list_services_response->n_service == 3);
  pl_reflection_response_free(resp);
  resp = ask(r, REQ(FILE_CONTAINING_SYMBOL), "grpc.health.v1.Health");
  CHECK(resp->message_response_case == RESP(ERROR_RESPONSE));
  pl_reflection_response_free(resp);
  pl_reflection_free(r);
  pl_reflection_free(NULL);
}

/* a imports b and c, both import d; x and y import each other (invalid protobuf, but it must
 * not loop). Every file appears once, the asked-for one first. */
static void test_imports(void) {
  file_proto a = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto b = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto c = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto d = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto x = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto y = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  char *a_deps[] = {"b.proto", "c.proto"}, *to_d[] = {"d.proto"};
  char *to_x[] = {"x.proto"}, *to_y[] = {"y.proto"};
  a.name = "a.proto", a.n_dependency = 2, a.dependency = a_deps;
  b.name = "b.proto", b.n_dependency = 1, b.dependency = to_d;
  c.name = "c.proto", c.n_dependency = 1, c.dependency = to_d;
  d.name = "d.proto";
  x.name = "x.proto", x.n_dependency = 1, x.dependency = to_y;
  y.name = "y.proto", y.n_dependency = 1, y.dependency = to_x;
  file_proto *files[] = {&d, &y, &c, &a, &x, &b};
  pl_reflection *r;
  CHECK(load(&r, files, 6) == 0);
  check_files(r, REQ(FILE_BY_FILENAME), "a.proto", "a.proto,b.proto,c.proto,d.proto");
  check_files(r, REQ(FILE_BY_FILENAME), "c.proto", "c.proto,d.proto");
  check_files(r, REQ(FILE_BY_FILENAME), "d.proto", "d.proto");
  check_files(r, REQ(FILE_BY_FILENAME), "y.proto", "y.proto,x.proto");
  pl_reflection_free(r);
}

/* base.proto defines t.Base; ext.proto extends it at the top level (100) and inside t.Holder
 * (7), and also defines t.Base again (the first file to define a name wins). */
static void test_extensions(void) {
  Google__Protobuf__DescriptorProto base_msg = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
  Google__Protobuf__DescriptorProto holder = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
  Google__Protobuf__FieldDescriptorProto ext_a = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
  Google__Protobuf__FieldDescriptorProto ext_b = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
  base_msg.name = "Base";
  ext_a.name = "ext_a", ext_a.extendee = ".t.Base", ext_a.has_number = 1, ext_a.number = 100;
  ext_b.name = "ext_b", ext_b.extendee = "t.Base", ext_b.has_number = 1, ext_b.number = 7;
  Google__Protobuf__FieldDescriptorProto *holder_ext[] = {&ext_b}, *top_ext[] = {&ext_a};
  holder.name = "Holder", holder.n_extension = 1, holder.extension = holder_ext;
  Google__Protobuf__DescriptorProto *base_msgs[] = {&base_msg}, *ext_msgs[] = {&holder, &base_msg};

  file_proto base = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  file_proto ext = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
  char *deps[] = {"base.proto"};
  base.name = "base.proto", base.package = "t", base.n_message_type = 1;
  base.message_type = base_msgs;
  ext.name = "ext.proto", ext.package = "t", ext.n_dependency = 1, ext.dependency = deps;
  ext.n_message_type = 2, ext.message_type = ext_msgs, ext.n_extension = 1;
  ext.extension = top_ext;
  file_proto *files[] = {&base, &ext};
  pl_reflection *r;
  CHECK(load(&r, files, 2) == 0);

  response *resp = ask(r, REQ(ALL_EXTENSION_NUMBERS_OF_TYPE), "t.Base");
  CHECK(resp->message_response_case == RESP(ALL_EXTENSION_NUMBERS_RESPONSE));
  const Grpc__Reflection__V1__ExtensionNumberResponse *en = resp->all_extension_numbers_response;
  CHECK(strcmp(en->base_type_name, "t.Base") == 0 && en->n_extension_number == 2);
  CHECK(en->extension_number[0] == 7 && en->extension_number[1] == 100);
  pl_reflection_response_free(resp);

  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  Grpc__Reflection__V1__ExtensionRequest er = GRPC__REFLECTION__V1__EXTENSION_REQUEST__INIT;
  req.message_request_case = REQ(FILE_CONTAINING_EXTENSION);
  req.file_containing_extension = &er;
  er.containing_type = "t.Base", er.extension_number = 100;
  char names[256];
  CHECK(pl_reflection_answer(r, &req, &resp) == 0);
  file_names(resp, names, sizeof(names));
  CHECK(strcmp(names, "ext.proto,base.proto") == 0);
  pl_reflection_response_free(resp);
  er.extension_number = 8;
  CHECK(pl_reflection_answer(r, &req, &resp) == 0);
  CHECK(resp->message_response_case == RESP(ERROR_RESPONSE));
  CHECK(resp->error_response->error_code == 5);
  pl_reflection_response_free(resp);

  check_files(r, REQ(FILE_CONTAINING_SYMBOL), "t.Holder.ext_b", "ext.proto,base.proto");
  check_files(r, REQ(FILE_CONTAINING_SYMBOL), "t.ext_a", "ext.proto,base.proto");
  check_files(r, REQ(FILE_CONTAINING_SYMBOL), "t.Base", "base.proto");
  pl_reflection_free(r);
}

int main(void) {
  test_bad_sets();
  test_empty_set();
  test_imports();
  test_extensions();
  printf("ok\n");
  return 0;
}
