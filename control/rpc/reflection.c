/* Reflection: parsing the FileDescriptorSet once and indexing it (symbol → file, file name →
 * file, extendee → extensions). Requests are answered in reflection_answer.c. */

#include "control/rpc/reflection.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rpc/reflection_int.h"
#include "google/protobuf/descriptor.pb-c.h"

/* Listed by list_services on every server, whatever was added. */
static const char *const builtin_services[] = {
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
};

/* "scope.name", or "name" at the top level. NULL when out of memory. */
static char *join(const char *scope, const char *name) {
  if (scope[0] == '\0')
    return strdup(name);
  size_t a = strlen(scope), b = strlen(name);
  char *s = malloc(a + 1 + b + 1);
  if (s == NULL)
    return NULL;
  memcpy(s, scope, a);
  s[a] = '.';
  memcpy(s + a + 1, name, b + 1);
  return s;
}

/* Takes ownership of `name` (which may be NULL: out of memory). */
static int add_symbol(pl_reflection *r, char *name, pl_reflection__kind kind, uint32_t file) {
  if (name == NULL)
    return PL_ERR_NOMEM;
  if (r->n_symbols == r->cap_symbols) {
    size_t cap = r->cap_symbols ? r->cap_symbols * 2 : 64;
    pl_reflection__symbol *s = realloc(r->symbols, cap * sizeof(*s));
    if (s == NULL) {
      free(name);
      return PL_ERR_NOMEM;
    }
    r->symbols = s;
    r->cap_symbols = cap;
  }
  r->symbols[r->n_symbols++] = (pl_reflection__symbol){.name = name, .file = file, .kind = kind};
  return 0;
}

static int index_enum(pl_reflection *r, const char *scope,
                      const Google__Protobuf__EnumDescriptorProto *e, uint32_t file) {
  if (e->name == NULL)
    return PL_ERR_PARSE;
  int rv = add_symbol(r, join(scope, e->name), PL_REFLECTION__ENUM, file);
  /* Enum values live in the scope that holds the enum (C++ scoping), not inside the enum. */
  for (size_t i = 0; rv == 0 && i < e->n_value; i++) {
    if (e->value[i]->name == NULL)
      return PL_ERR_PARSE;
    rv = add_symbol(r, join(scope, e->value[i]->name), PL_REFLECTION__ENUM_VALUE, file);
  }
  return rv;
}

static int index_extension(pl_reflection *r, const char *scope,
                           const Google__Protobuf__FieldDescriptorProto *f, uint32_t file) {
  if (f->name == NULL || f->extendee == NULL || !f->has_number)
    return PL_ERR_PARSE;
  int rv = add_symbol(r, join(scope, f->name), PL_REFLECTION__EXTENSION, file);
  if (rv != 0)
    return rv;
  if (r->n_extensions == r->cap_extensions) {
    size_t cap = r->cap_extensions ? r->cap_extensions * 2 : 16;
    pl_reflection__extension *x = realloc(r->extensions, cap * sizeof(*x));
    if (x == NULL)
      return PL_ERR_NOMEM;
    r->extensions = x;
    r->cap_extensions = cap;
  }
  char *extendee = strdup(f->extendee[0] == '.' ? f->extendee + 1 : f->extendee);
  if (extendee == NULL)
    return PL_ERR_NOMEM;
  r->extensions[r->n_extensions++] =
      (pl_reflection__extension){.extendee = extendee, .number = f->number, .file = file};
  return 0;
}

static int index_message(pl_reflection *r, const char *scope,
                         const Google__Protobuf__DescriptorProto *m, uint32_t file) {
  if (m->name == NULL)
    return PL_ERR_PARSE;
  int rv = add_symbol(r, join(scope, m->name), PL_REFLECTION__MESSAGE, file);
  if (rv != 0)
    return rv;
  /* The symbol table owns the string; it stays put when the table grows. */
  const char *full = r->symbols[r->n_symbols - 1].name;
  for (size_t i = 0; rv == 0 && i < m->n_field; i++) {
    if (m->field[i]->name == NULL)
      return PL_ERR_PARSE;
    rv = add_symbol(r, join(full, m->field[i]->name), PL_REFLECTION__FIELD, file);
  }
  for (size_t i = 0; rv == 0 && i < m->n_oneof_decl; i++) {
    if (m->oneof_decl[i]->name == NULL)
      return PL_ERR_PARSE;
    rv = add_symbol(r, join(full, m->oneof_decl[i]->name), PL_REFLECTION__ONEOF, file);
  }
  for (size_t i = 0; rv == 0 && i < m->n_nested_type; i++)
    rv = index_message(r, full, m->nested_type[i], file);
  for (size_t i = 0; rv == 0 && i < m->n_enum_type; i++)
    rv = index_enum(r, full, m->enum_type[i], file);
  for (size_t i = 0; rv == 0 && i < m->n_extension; i++)
    rv = index_extension(r, full, m->extension[i], file);
  return rv;
}

static int index_service(pl_reflection *r, const char *scope,
                         const Google__Protobuf__ServiceDescriptorProto *s, uint32_t file) {
  if (s->name == NULL)
    return PL_ERR_PARSE;
  int rv = add_symbol(r, join(scope, s->name), PL_REFLECTION__SERVICE, file);
  if (rv != 0)
    return rv;
  const char *full = r->symbols[r->n_symbols - 1].name;
  for (size_t i = 0; rv == 0 && i < s->n_method; i++) {
    if (s->method[i]->name == NULL)
      return PL_ERR_PARSE;
    rv = add_symbol(r, join(full, s->method[i]->name), PL_REFLECTION__METHOD, file);
  }
  return rv;
}

static int index_file(pl_reflection *r, const Google__Protobuf__FileDescriptorProto *fd,
                      uint32_t file) {
  const char *pkg = fd->package ? fd->package : "";
  int rv = 0;
  for (size_t i = 0; rv == 0 && i < fd->n_message_type; i++)
    rv = index_message(r, pkg, fd->message_type[i], file);
  for (size_t i = 0; rv == 0 && i < fd->n_enum_type; i++)
    rv = index_enum(r, pkg, fd->enum_type[i], file);
  for (size_t i = 0; rv == 0 && i < fd->n_service; i++)
    rv = index_service(r, pkg, fd->service[i], file);
  for (size_t i = 0; rv == 0 && i < fd->n_extension; i++)
    rv = index_extension(r, pkg, fd->extension[i], file);
  return rv;
}

/* Qualified names are unique in a valid set; should one repeat, the first file wins. */
static int cmp_symbol(const void *a, const void *b) {
  const pl_reflection__symbol *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c != 0 ? c : (x->file > y->file) - (x->file < y->file);
}

static int cmp_extension(const void *a, const void *b) {
  const pl_reflection__extension *x = a, *y = b;
  int c = strcmp(x->extendee, y->extendee);
  if (c == 0)
    c = (x->number > y->number) - (x->number < y->number);
  return c != 0 ? c : (x->file > y->file) - (x->file < y->file);
}

static void sort_unique(pl_reflection *r) {
  /* qsort's base must not be NULL, even for zero elements. */
  if (r->n_symbols > 1)
    qsort(r->symbols, r->n_symbols, sizeof(*r->symbols), cmp_symbol);
  size_t n = 0;
  for (size_t i = 0; i < r->n_symbols; i++) {
    if (n > 0 && strcmp(r->symbols[n - 1].name, r->symbols[i].name) == 0)
      free(r->symbols[i].name);
    else
      r->symbols[n++] = r->symbols[i];
  }
  r->n_symbols = n;

  if (r->n_extensions > 1)
    qsort(r->extensions, r->n_extensions, sizeof(*r->extensions), cmp_extension);
  n = 0;
  for (size_t i = 0; i < r->n_extensions; i++) {
    pl_reflection__extension *prev = n > 0 ? &r->extensions[n - 1] : NULL;
    if (prev && strcmp(prev->extendee, r->extensions[i].extendee) == 0 &&
        prev->number == r->extensions[i].number)
      free(r->extensions[i].extendee);
    else
      r->extensions[n++] = r->extensions[i];
  }
  r->n_extensions = n;
}

static int cmp_file(const void *a, const void *b) {
  const pl_reflection__file *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

/* Copies names and serialized bytes out of the parsed set, which is then no longer needed. */
static int load_files(pl_reflection *r, const Google__Protobuf__FileDescriptorSet *set) {
  r->files = calloc(set->n_file ? set->n_file : 1, sizeof(*r->files));
  r->files_by_name = calloc(set->n_file ? set->n_file : 1, sizeof(*r->files_by_name));
  if (r->files == NULL || r->files_by_name == NULL)
    return PL_ERR_NOMEM;
  for (size_t i = 0; i < set->n_file; i++) {
    const Google__Protobuf__FileDescriptorProto *fd = set->file[i];
    pl_reflection__file *f = &r->files[r->n_files++];
    if (fd->name == NULL)
      return PL_ERR_PARSE;
    f->name = strdup(fd->name);
    f->len = protobuf_c_message_get_packed_size(&fd->base);
    f->bytes = malloc(f->len ? f->len : 1);
    f->deps = calloc(fd->n_dependency ? fd->n_dependency : 1, sizeof(*f->deps));
    if (f->name == NULL || f->bytes == NULL || f->deps == NULL)
      return PL_ERR_NOMEM;
    /* Re-packed rather than cut out of the set: the same message, and no wire scanning here. */
    protobuf_c_message_pack(&fd->base, f->bytes);
    r->files_by_name[i] = f;
  }
  qsort(r->files_by_name, r->n_files, sizeof(*r->files_by_name), cmp_file);
  for (size_t i = 1; i < r->n_files; i++) {
    if (strcmp(r->files_by_name[i - 1]->name, r->files_by_name[i]->name) == 0)
      return PL_ERR_PARSE;
  }
  for (size_t i = 0; i < set->n_file; i++) {
    const Google__Protobuf__FileDescriptorProto *fd = set->file[i];
    for (size_t d = 0; d < fd->n_dependency; d++) {
      /* Answers must carry every import, or clients cannot build the descriptors. */
      long dep = pl_reflection__find_file(r, fd->dependency[d]);
      if (dep < 0)
        return PL_ERR_PARSE;
      r->files[i].deps[r->files[i].n_deps++] = (uint32_t)dep;
    }
  }
  return 0;
}

int pl_reflection_new(pl_reflection **pr, const uint8_t *fds, size_t len) {
  int rv;
  Google__Protobuf__FileDescriptorSet *set =
      google__protobuf__file_descriptor_set__unpack(NULL, len, fds);
  if (set == NULL)
    return PL_ERR_PARSE; /* also on out of memory: protobuf-c does not tell them apart */
  pl_reflection *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    rv = PL_ERR_NOMEM;
    goto fail_alloc;
  }
  rv = load_files(r, set);
  for (size_t i = 0; rv == 0 && i < set->n_file; i++)
    rv = index_file(r, set->file[i], (uint32_t)i);
  for (size_t i = 0; rv == 0 && i < sizeof(builtin_services) / sizeof(builtin_services[0]); i++)
    rv = pl_reflection_add_service_name(r, builtin_services[i]);
  if (rv != 0)
    goto fail_index;
  sort_unique(r);
  google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
  *pr = r;
  return 0;

fail_index:
  pl_reflection_free(r);
fail_alloc:
  google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
  return rv;
}

void pl_reflection_free(pl_reflection *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_files; i++) {
    free(r->files[i].name);
    free(r->files[i].bytes);
    free(r->files[i].deps);
  }
  free(r->files);
  free(r->files_by_name);
  for (size_t i = 0; i < r->n_symbols; i++)
    free(r->symbols[i].name);
  free(r->symbols);
  for (size_t i = 0; i < r->n_extensions; i++)
    free(r->extensions[i].extendee);
  free(r->extensions);
  for (size_t i = 0; i < r->n_services; i++)
    free(r->services[i]);
  free(r->services);
  free(r);
}

int pl_reflection_add_service_name(pl_reflection *r, const char *full_name) {
  if (full_name == NULL || full_name[0] == '\0')
    return PL_ERR_INVALID;
  for (size_t i = 0; i < r->n_services; i++) {
    if (strcmp(r->services[i], full_name) == 0)
      return 0;
  }
  if (r->n_services == r->cap_services) {
    size_t cap = r->cap_services ? r->cap_services * 2 : 8;
    char **s = realloc(r->services, cap * sizeof(*s));
    if (s == NULL)
      return PL_ERR_NOMEM;
    r->services = s;
    r->cap_services = cap;
  }
  char *name = strdup(full_name);
  if (name == NULL)
    return PL_ERR_NOMEM;
  r->services[r->n_services++] = name;
  return 0;
}

const pl_reflection__symbol *pl_reflection__find_symbol(const pl_reflection *r, const char *name) {
  size_t lo = 0, hi = r->n_symbols;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, r->symbols[mid].name);
    if (c == 0)
      return &r->symbols[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

long pl_reflection__find_file(const pl_reflection *r, const char *name) {
  size_t lo = 0, hi = r->n_files;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const pl_reflection__file *f = r->files_by_name[mid];
    int c = strcmp(name, f->name);
    if (c == 0)
      return f - r->files;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return -1;
}

size_t pl_reflection__find_extensions(const pl_reflection *r, const char *extendee,
                                      size_t *pfirst) {
  size_t lo = 0, hi = r->n_extensions;
  while (lo < hi) { /* first index whose extendee is >= the one asked for */
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(r->extensions[mid].extendee, extendee) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  size_t n = 0;
  while (lo + n < r->n_extensions && strcmp(r->extensions[lo + n].extendee, extendee) == 0)
    n++;
  *pfirst = lo;
  return n;
}
