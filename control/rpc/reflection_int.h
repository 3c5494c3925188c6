#ifndef PEERLINK_RPC_REFLECTION_INT_H
#define PEERLINK_RPC_REFLECTION_INT_H

/* Internals shared by reflection.c (index), reflection_answer.c (requests) and
 * reflection_service.c (gRPC glue). Not for use outside those files. */

#include <stddef.h>
#include <stdint.h>

#include "control/rpc/reflection.h"

typedef enum {
  PL_REFLECTION__MESSAGE,
  PL_REFLECTION__ENUM,
  PL_REFLECTION__ENUM_VALUE,
  PL_REFLECTION__FIELD,
  PL_REFLECTION__ONEOF,
  PL_REFLECTION__EXTENSION,
  PL_REFLECTION__SERVICE,
  PL_REFLECTION__METHOD,
} pl_reflection__kind;

typedef struct pl_reflection__symbol {
  char *name; /* fully qualified, no leading dot: "peerlink.v1.Agent.GetStatus" */
  uint32_t file;
  pl_reflection__kind kind;
} pl_reflection__symbol;

typedef struct pl_reflection__extension {
  char *extendee; /* fully qualified, no leading dot */
  int32_t number;
  uint32_t file;
} pl_reflection__extension;

typedef struct pl_reflection__file {
  char *name;     /* "peerlink/v1/agent.proto" */
  uint8_t *bytes; /* the serialized FileDescriptorProto */
  size_t len;
  uint32_t *deps; /* indices of its direct imports */
  size_t n_deps;
} pl_reflection__file;

struct pl_reflection {
  pl_reflection__file *files; /* in the set's order */
  size_t n_files;
  pl_reflection__file **files_by_name; /* into files, sorted by name */
  pl_reflection__symbol *symbols;      /* sorted by name, unique */
  size_t n_symbols, cap_symbols;
  pl_reflection__extension *extensions; /* sorted by (extendee, number), unique */
  size_t n_extensions, cap_extensions;
  char **services; /* list_services, in the order added */
  size_t n_services, cap_services;
  pl_rpc_service service_v1, service_v1alpha;
};

/* The symbol named `name`, or NULL. */
const pl_reflection__symbol *pl_reflection__find_symbol(const pl_reflection *r, const char *name);

/* Index into r->files of the file named `name`, or -1. */
long pl_reflection__find_file(const pl_reflection *r, const char *name);

/* The extensions of `extendee`: *pfirst is the index of the first in r->extensions, the return
 * value how many there are (0 when none). */
size_t pl_reflection__find_extensions(const pl_reflection *r, const char *extendee, size_t *pfirst);

#endif
