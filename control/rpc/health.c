#include "control/rpc/health.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "grpc/health/v1/health.pb-c.h"

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

typedef struct health_entry {
  char *name;
  int status;
} health_entry;

typedef struct watcher {
  struct watcher *prev, *next;
  pl_rpc_call *call;
  char *service;
  /* The newest status handed to the call (what the client will see last, so a set() to the same
   * value sends nothing) and the one before it (what the client sees last once the newest is
   * discarded while it waits behind the one in flight). */
  int last_queued;
  int prev_queued;
} watcher;

struct pl_health {
  health_entry *entries;
  size_t n_entries, cap_entries;
  watcher *watchers;
  size_t n_watchers;
  pl_rpc_service service;
};

static void check_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data);
static void watch_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data);
static void watch_on_done(pl_rpc_call *call, int cancelled, void *data);

static const pl_rpc_method health_methods[] = {
    {
        .name = "Check",
        .kind = PL_RPC_UNARY,
        .request = &grpc__health__v1__health_check_request__descriptor,
        .response = &grpc__health__v1__health_check_response__descriptor,
        .on_request = check_on_request,
    },
    {
        .name = "Watch",
        .kind = PL_RPC_SERVER_STREAMING,
        .request = &grpc__health__v1__health_check_request__descriptor,
        .response = &grpc__health__v1__health_check_response__descriptor,
        .on_request = watch_on_request,
        .on_done = watch_on_done,
    },
};

static health_entry *find_entry(const pl_health *h, const char *service) {
  for (size_t i = 0; i < h->n_entries; i++) {
    if (strcmp(h->entries[i].name, service) == 0)
      return &h->entries[i];
  }
  return NULL;
}

static health_entry *add_entry(pl_health *h, const char *service, int status) {
  if (h->n_entries == h->cap_entries) {
    size_t cap = h->cap_entries ? h->cap_entries * 2 : 8;
    health_entry *e = realloc(h->entries, cap * sizeof(*e));
    if (e == NULL)
      return NULL;
    h->entries = e;
    h->cap_entries = cap;
  }
  char *name = strdup(service);
  if (name == NULL)
    return NULL;
  health_entry *e = &h->entries[h->n_entries++];
  e->name = name;
  e->status = status;
  return e;
}

int pl_health_new(pl_health **ph) {
  pl_health *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return PL_ERR_NOMEM;
  if (add_entry(h, "", SERVING) == NULL) {
    free(h->entries);
    free(h);
    return PL_ERR_NOMEM;
  }
  h->service.full_name = "grpc.health.v1.Health";
  h->service.methods = health_methods;
  h->service.n_methods = sizeof(health_methods) / sizeof(health_methods[0]);
  h->service.data = h;
  *ph = h;
  return 0;
}

static void watcher_unlink(pl_health *h, watcher *w) {
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    h->watchers = w->next;
  if (w->next != NULL)
    w->next->prev = w->prev;
  h->n_watchers--;
  free(w->service);
  free(w);
}

void pl_health_free(pl_health *h) {
  if (h == NULL)
    return;
  while (h->watchers != NULL)
    watcher_unlink(h, h->watchers);
  for (size_t i = 0; i < h->n_entries; i++)
    free(h->entries[i].name);
  free(h->entries);
  free(h);
}

/* Sends `status` to one Watch stream unless the client already has it. Only the newest status
 * matters, so a status still waiting behind the one in flight is replaced rather than followed:
 * a client that reads slowly costs at most two queued messages, reads the newest status next,
 * and its stream is never ended for being slow. */
static void watcher_send(watcher *w, int status) {
  pl_rpc_call *call = w->call;
  if (w->last_queued == status)
    return;
  if (pl_rpc_call_discard_queued(call) > 0) {
    w->last_queued = w->prev_queued;
    if (w->last_queued == status)
      return;
  }
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = status;
  int rv = pl_rpc_call_send(call, &resp.base);
  if (rv == 0) {
    w->prev_queued = w->last_queued;
    w->last_queued = status;
    return;
  }
  /* PL_ERR_CLOSED: the call is ending and on_done will unlink the watcher. Anything else ends
   * the stream, with the reason, rather than leave the client believing a stale status; FULL
   * only happens with a send-queue limit of 1. Nothing touches `w` after finishing: the watcher
   * is gone once on_done has run. */
  if (rv != PL_ERR_CLOSED)
    pl_rpc_call_finish(call, rv == PL_ERR_FULL ? PL_RPC_RESOURCE_EXHAUSTED : PL_RPC_INTERNAL,
                       "health update not sent: %s", pl_strerror(rv));
}

void pl_health_set(pl_health *h, const char *service, int serving) {
  if (service == NULL)
    service = "";
  int status = serving ? SERVING : NOT_SERVING;
  health_entry *e = find_entry(h, service);
  if (e == NULL)
    e = add_entry(h, service, status);
  if (e == NULL)
    return;
  e->status = status;
  watcher *next;
  for (watcher *w = h->watchers; w != NULL; w = next) {
    /* Taken first: a send that fails may end the call and unlink this watcher. */
    next = w->next;
    if (strcmp(w->service, service) == 0)
      watcher_send(w, status);
  }
}

int pl_health_check(const pl_health *h, const char *service, int *pstatus) {
  const health_entry *e = find_entry(h, service ? service : "");
  if (e == NULL)
    return PL_ERR_NOT_FOUND;
  *pstatus = e->status;
  return 0;
}

size_t pl_health_watchers(const pl_health *h) {
  return h->n_watchers;
}

const pl_rpc_service *pl_health_service(pl_health *h) {
  return &h->service;
}

static void check_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  const Grpc__Health__V1__HealthCheckRequest *req =
      (const Grpc__Health__V1__HealthCheckRequest *)msg;
  int status;
  if (pl_health_check(data, req->service, &status) != 0) {
    pl_rpc_call_finish(call, PL_RPC_NOT_FOUND, "unknown service %s", req->service);
    return;
  }
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = status;
  pl_rpc_call_reply(call, &resp.base);
}

static void watch_on_request(pl_rpc_call *call, const ProtobufCMessage *msg, void *data) {
  pl_health *h = data;
  const Grpc__Health__V1__HealthCheckRequest *req =
      (const Grpc__Health__V1__HealthCheckRequest *)msg;
  watcher *w = calloc(1, sizeof(*w));
  char *service = strdup(req->service ? req->service : "");
  if (w == NULL || service == NULL) {
    free(w);
    free(service);
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  w->call = call;
  w->service = service;
  w->last_queued = w->prev_queued = -1;
  w->next = h->watchers;
  if (h->watchers != NULL)
    h->watchers->prev = w;
  h->watchers = w;
  h->n_watchers++;
  pl_rpc_call_set_data(call, w);

  /* The protocol: the current status at once, SERVICE_UNKNOWN for a name never set, and the
   * stream stays open because the service may appear later. */
  const health_entry *e = find_entry(h, service);
  watcher_send(w, e != NULL ? e->status : SERVICE_UNKNOWN);
}

static void watch_on_done(pl_rpc_call *call, int cancelled, void *data) {
  (void)cancelled;
  watcher *w = pl_rpc_call_data(call);
  /* NULL when the call ended before its request arrived. */
  if (w != NULL) {
    pl_rpc_call_set_data(call, NULL);
    watcher_unlink(data, w);
  }
}
