/* Reflection: one ServerReflectionRequest in, one ServerReflectionResponse out. No I/O.
 *
 * Responses are built with malloc so protobuf_c_message_free_unpacked (system allocator) frees
 * them; empty strings stay protobuf-c's shared default, which that function knows not to free. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/reflection.h"
#include "control/rpc/reflection_int.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest request;
typedef Grpc__Reflection__V1__ServerReflectionResponse response;

#define CASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESP_CASE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

/* Caller-built requests may leave a selected string NULL; parsed ones never do. */
static const char *str(const char *s) {
  return s != NULL ? s : "";
}

/* grpcurl sends names without the leading dot descriptors use; accept both. */
static const char *strip_dot(const char *s) {
  return s[0] == '.' ? s + 1 : s;
}

/* A deep copy through the wire format: as faithful as it gets, unknown fields included. */
static request *copy_request(const request *req) {
  size_t len = protobuf_c_message_get_packed_size(&req->base);
  uint8_t *buf = malloc(len ? len : 1);
  if (buf == NULL)
    return NULL;
  protobuf_c_message_pack(&req->base, buf);
  request *copy = grpc__reflection__v1__server_reflection_request__unpack(NULL, len, buf);
  free(buf);
  return copy;
}

static int error_response(response *resp, pl_rpc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int error_response(response *resp, pl_rpc_status code, const char *fmt, ...) {
  Grpc__Reflection__V1__ErrorResponse *err = malloc(sizeof(*err));
  if (err == NULL)
    return PL_ERR_NOMEM;
  grpc__reflection__v1__error_response__init(err);
  resp->message_response_case = RESP_CASE(ERROR_RESPONSE);
  resp->error_response = err;
  err->error_code = code;
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  char *msg = n < 0 ? NULL : malloc((size_t)n + 1);
  if (msg != NULL)
    vsnprintf(msg, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  va_end(ap);
  if (msg == NULL)
    return PL_ERR_NOMEM;
  err->error_message = msg;
  return 0;
}

/* The file `root` first, then every file it imports, directly or not, each once. */
static int file_response(const pl_reflection *r, response *resp, uint32_t root) {
  int rv = PL_ERR_NOMEM;
  uint8_t *seen = calloc(r->n_files, 1);
  uint32_t *order = malloc(r->n_files * sizeof(*order));
  Grpc__Reflection__V1__FileDescriptorResponse *fdr = malloc(sizeof(*fdr));
  if (seen == NULL || order == NULL || fdr == NULL) {
    free(fdr);
    goto out;
  }
  grpc__reflection__v1__file_descriptor_response__init(fdr);
  resp->message_response_case = RESP_CASE(FILE_DESCRIPTOR_RESPONSE);
  resp->file_descriptor_response = fdr;

  size_t n = 0;
  order[n++] = root;
  seen[root] = 1;
  for (size_t i = 0; i < n; i++) {
    const pl_reflection__file *f = &r->files[order[i]];
    for (size_t d = 0; d < f->n_deps; d++) {
      if (!seen[f->deps[d]]) {
        seen[f->deps[d]] = 1;
        order[n++] = f->deps[d];
      }
    }
  }

  fdr->file_descriptor_proto = calloc(n, sizeof(*fdr->file_descriptor_proto));
  if (fdr->file_descriptor_proto == NULL)
    goto out;
  for (size_t i = 0; i < n; i++) {
    const pl_reflection__file *f = &r->files[order[i]];
    ProtobufCBinaryData *b = &fdr->file_descriptor_proto[fdr->n_file_descriptor_proto];
    b->data = malloc(f->len ? f->len : 1);
    if (b->data == NULL)
      goto out;
    memcpy(b->data, f->bytes, f->len);
    b->len = f->len;
    fdr->n_file_descriptor_proto++;
  }
  rv = 0;
out:
  free(seen);
  free(order);
  return rv;
}

static int list_services(const pl_reflection *r, response *resp) {
  Grpc__Reflection__V1__ListServiceResponse *list = malloc(sizeof(*list));
  if (list == NULL)
    return PL_ERR_NOMEM;
  grpc__reflection__v1__list_service_response__init(list);
  resp->message_response_case = RESP_CASE(LIST_SERVICES_RESPONSE);
  resp->list_services_response = list;
  list->service = calloc(r->n_services ? r->n_services : 1, sizeof(*list->service));
  if (list->service == NULL)
    return PL_ERR_NOMEM;
  for (size_t i = 0; i < r->n_services; i++) {
    Grpc__Reflection__V1__ServiceResponse *s = malloc(sizeof(*s));
    if (s == NULL)
      return PL_ERR_NOMEM;
    grpc__reflection__v1__service_response__init(s);
    list->service[list->n_service++] = s;
    if ((s->name = strdup(r->services[i])) == NULL)
      return PL_ERR_NOMEM;
  }
  return 0;
}

static int file_by_filename(const pl_reflection *r, response *resp, const char *name) {
  long f = pl_reflection__find_file(r, name);
  if (f < 0)
    return error_response(resp, PL_RPC_NOT_FOUND, "file not found: %s", name);
  return file_response(r, resp, (uint32_t)f);
}

static int file_containing_symbol(const pl_reflection *r, response *resp, const char *name) {
  const pl_reflection__symbol *s = pl_reflection__find_symbol(r, strip_dot(name));
  if (s == NULL)
    return error_response(resp, PL_RPC_NOT_FOUND, "symbol not found: %s", name);
  return file_response(r, resp, s->file);
}

static int file_containing_extension(const pl_reflection *r, response *resp,
                                     const Grpc__Reflection__V1__ExtensionRequest *ext) {
  const char *type = ext != NULL ? str(ext->containing_type) : "";
  int32_t number = ext != NULL ? ext->extension_number : 0;
  size_t first, n = pl_reflection__find_extensions(r, strip_dot(type), &first);
  for (size_t i = first; i < first + n; i++) {
    if (r->extensions[i].number == number)
      return file_response(r, resp, r->extensions[i].file);
  }
  return error_response(resp, PL_RPC_NOT_FOUND, "extension not found: number %d of %s", (int)number,
                        type);
}

static int all_extension_numbers(const pl_reflection *r, response *resp, const char *type) {
  const pl_reflection__symbol *s = pl_reflection__find_symbol(r, strip_dot(type));
  if (s == NULL || s->kind != PL_REFLECTION__MESSAGE)
    return error_response(resp, PL_RPC_NOT_FOUND, "message type not found: %s", type);
  Grpc__Reflection__V1__ExtensionNumberResponse *en = malloc(sizeof(*en));
  if (en == NULL)
    return PL_ERR_NOMEM;
  grpc__reflection__v1__extension_number_response__init(en);
  resp->message_response_case = RESP_CASE(ALL_EXTENSION_NUMBERS_RESPONSE);
  resp->all_extension_numbers_response = en;
  if ((en->base_type_name = strdup(s->name)) == NULL)
    return PL_ERR_NOMEM;
  size_t first, n = pl_reflection__find_extensions(r, s->name, &first);
  if (n == 0)
    return 0;
  en->extension_number = malloc(n * sizeof(*en->extension_number));
  if (en->extension_number == NULL)
    return PL_ERR_NOMEM;
  for (size_t i = 0; i < n; i++)
    en->extension_number[en->n_extension_number++] = r->extensions[first + i].number;
  return 0;
}

int pl_reflection_answer(const pl_reflection *r, const request *req, response **presp) {
  int rv;
  response *resp = malloc(sizeof(*resp));
  if (resp == NULL)
    return PL_ERR_NOMEM;
  grpc__reflection__v1__server_reflection_response__init(resp);
  /* The protocol echoes the host and the whole request so clients can match answers. */
  if (req->host != NULL && req->host[0] != '\0' && (resp->valid_host = strdup(req->host)) == NULL)
    goto fail;
  if ((resp->original_request = copy_request(req)) == NULL)
    goto fail;

  switch (req->message_request_case) {
  case CASE(FILE_BY_FILENAME): rv = file_by_filename(r, resp, str(req->file_by_filename)); break;
  case CASE(FILE_CONTAINING_SYMBOL):
    rv = file_containing_symbol(r, resp, str(req->file_containing_symbol));
    break;
  case CASE(FILE_CONTAINING_EXTENSION):
    rv = file_containing_extension(r, resp, req->file_containing_extension);
    break;
  case CASE(ALL_EXTENSION_NUMBERS_OF_TYPE):
    rv = all_extension_numbers(r, resp, str(req->all_extension_numbers_of_type));
    break;
  case CASE(LIST_SERVICES): rv = list_services(r, resp); break;
  default:
    rv = error_response(resp, PL_RPC_INVALID_ARGUMENT,
                        "empty request: set one of file_by_filename, file_containing_symbol, "
                        "file_containing_extension, all_extension_numbers_of_type, "
                        "list_services");
    break;
  }
  if (rv != 0)
    goto fail;
  *presp = resp;
  return 0;

fail:
  pl_reflection_response_free(resp);
  return PL_ERR_NOMEM;
}

void pl_reflection_response_free(response *resp) {
  if (resp != NULL)
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}
