/* The server: services, start, the outstanding call requests, shutdown.
 *
 * Every method of every service is registered with gRPC before start, and each has one
 * grpc_server_request_registered_call outstanding (a "slot"), re-armed as soon as a call
 * arrives on it. One more slot keeps a generic grpc_server_request_call outstanding: gRPC
 * hands it calls to paths nobody registered, which are answered UNIMPLEMENTED. Without it such
 * calls would wait, unanswered, for a request that never comes. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "control/common/err.h"
#include "control/rpc/health.h"
#include "control/rpc/reflection.h"
#include "control/rpc/rpc_internal.h"

#define DEFAULT_MAX_MESSAGE_BYTES (4u << 20)

typedef struct slot {
  pl_rpc__tag tag;
  pl_rpc_server *server;
  const pl_rpc_service *svc;   /* NULL for the generic slot */
  const pl_rpc_method *method; /* NULL for the generic slot */
  void *registered;
  int pending;
  grpc_call *gcall;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_call_details details; /* generic slot only */
} slot;

typedef enum { SERVER_NEW, SERVER_STARTED, SERVER_STOPPING } server_state;

struct pl_rpc_server {
  pl_rpc__runtime *rt;
  pl_rpc__call_env env;
  server_state state;
  char *listen;
  char *authorization;
  size_t max_message_bytes;
  size_t read_chunk_bytes; /* 0: gRPC's default */
  pl_health *health;
  pl_reflection *reflection;

  const pl_rpc_service **svcs;
  size_t nsvcs;

  grpc_server *gs;
  slot *slots; /* one per method, then the generic one */
  size_t nslots;
  size_t pending_requests;
  size_t live_calls;

  pl_rpc__tag shutdown_tag;
  int shutdown_done;
  int closing;
  uv_timer_t grace;
  void (*done)(void *arg);
  void *done_arg;
};

static void maybe_finish_shutdown(pl_rpc_server *s);

static void on_call_freed(void *server) {
  pl_rpc_server *s = server;
  s->live_calls--;
  maybe_finish_shutdown(s);
}

static int add_service(pl_rpc_server *s, const pl_rpc_service *svc) {
  const pl_rpc_service **svcs = realloc(s->svcs, (s->nsvcs + 1) * sizeof(*svcs));
  if (!svcs)
    return PL_ERR_NOMEM;
  s->svcs = svcs;
  s->svcs[s->nsvcs++] = svc;
  return 0;
}

static char *bearer(const char *token) {
  size_t len = strlen("Bearer ") + strlen(token) + 1;
  char *auth = malloc(len);
  if (auth)
    snprintf(auth, len, "Bearer %s", token);
  return auth;
}

int pl_rpc_server_new(pl_rpc_server **pserver, uv_loop_t *loop, const pl_rpc_server_config *cfg) {
  int loopback, rv;
  if (!cfg || pl_rpc__parse_hostport(cfg->listen, &loopback) != 0)
    return PL_ERR_INVALID;
  /* Without a token, anyone who can reach the port controls the program. */
  if (!cfg->token && !loopback)
    return PL_ERR_INVALID;
  if (cfg->token && cfg->token[0] == '\0')
    return PL_ERR_INVALID;

  pl_rpc_server *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ERR_NOMEM;
  s->max_message_bytes =
      cfg->max_message_bytes ? cfg->max_message_bytes : DEFAULT_MAX_MESSAGE_BYTES;
  rv = PL_ERR_NOMEM;
  if (!(s->listen = strdup(cfg->listen)))
    goto fail_listen;
  if (cfg->token && !(s->authorization = bearer(cfg->token)))
    goto fail_auth;
  if ((rv = pl_health_new(&s->health)) != 0)
    goto fail_health;
  if (cfg->descriptor_set &&
      (rv = pl_reflection_new(&s->reflection, cfg->descriptor_set, cfg->descriptor_set_len)) != 0)
    goto fail_reflection;
  /* Health and reflection are method tables like any other service. */
  if ((rv = add_service(s, pl_health_service(s->health))) != 0)
    goto fail_services;
  if (s->reflection && ((rv = add_service(s, pl_reflection_service_v1(s->reflection))) != 0 ||
                        (rv = add_service(s, pl_reflection_service_v1alpha(s->reflection))) != 0))
    goto fail_services;
  s->read_chunk_bytes = cfg->read_chunk_bytes;
  /* Read when gRPC first reads from a socket: set before any connection exists. */
  if (s->read_chunk_bytes && getenv("GRPC_EXPERIMENTS") == NULL)
    setenv("GRPC_EXPERIMENTS", "-tcp_read_chunks", 0);
  if ((rv = pl_rpc__runtime_acquire(&s->rt, loop)) != 0)
    goto fail_services;
  uv_timer_init(loop, &s->grace);
  s->grace.data = s;
  s->env.rt = s->rt;
  s->env.authorization = s->authorization;
  s->env.send_limit = cfg->send_queue_limit ? cfg->send_queue_limit : PL_RPC_SEND_QUEUE_DEFAULT;
  s->env.on_freed = on_call_freed;
  s->env.server = s;
  *pserver = s;
  return 0;

fail_services:
  free(s->svcs);
  pl_reflection_free(s->reflection);
fail_reflection:
  pl_health_free(s->health);
fail_health:
  free(s->authorization);
fail_auth:
  free(s->listen);
fail_listen:
  free(s);
  return rv;
}

int pl_rpc_server_add_service(pl_rpc_server *server, const pl_rpc_service *svc) {
  if (server->state != SERVER_NEW)
    return PL_ERR_STATE;
  int rv = add_service(server, svc);
  if (rv != 0)
    return rv;
  pl_health_set(server->health, svc->full_name, 1);
  if (server->reflection &&
      (rv = pl_reflection_add_service_name(server->reflection, svc->full_name)) != 0) {
    server->nsvcs--;
    return rv;
  }
  return 0;
}

static void on_slot(pl_rpc__tag *tag, int ok);

static void arm_slot(slot *sl) {
  pl_rpc_server *s = sl->server;
  grpc_completion_queue *cq = pl_rpc__runtime_cq(s->rt);
  grpc_call_error err;
  if (sl->method)
    err = grpc_server_request_registered_call(s->gs, sl->registered, &sl->gcall, &sl->deadline,
                                              &sl->md, NULL, cq, cq, &sl->tag);
  else
    err = grpc_server_request_call(s->gs, &sl->gcall, &sl->details, &sl->md, cq, cq, &sl->tag);
  if (err != GRPC_CALL_OK) {
    fprintf(stderr, "rpc: event=request_call_refused error=%s\n", grpc_call_error_to_string(err));
    return;
  }
  sl->pending = 1;
  s->pending_requests++;
}

static void on_slot(pl_rpc__tag *tag, int ok) {
  slot *sl = (slot *)tag;
  pl_rpc_server *s = sl->server;
  sl->pending = 0;
  s->pending_requests--;
  if (!ok) {
    /* The server is shutting down and gave the request back. */
    maybe_finish_shutdown(s);
    return;
  }
  grpc_call *gcall = sl->gcall;
  grpc_metadata_array md = sl->md;
  char *path = NULL;
  sl->gcall = NULL;
  grpc_metadata_array_init(&sl->md);
  if (!sl->method) {
    path = pl_rpc__slice_strdup(sl->details.method);
    grpc_call_details_destroy(&sl->details);
    grpc_call_details_init(&sl->details);
  }
  s->live_calls++;
  if (s->state == SERVER_STARTED)
    arm_slot(sl);
  /* Last use of `s`: the call may be freed, and with it the server, before this returns. */
  pl_rpc__server_call_begin(&s->env, gcall, &md, sl->svc, sl->method, path ? path : "?");
  free(path);
}

static void free_slots(pl_rpc_server *s) {
  for (size_t i = 0; i < s->nslots; i++) {
    grpc_metadata_array_destroy(&s->slots[i].md);
    grpc_call_details_destroy(&s->slots[i].details);
  }
  free(s->slots);
  s->slots = NULL;
  s->nslots = 0;
}

/* Registers every method; the slots follow the order of the services and their tables. */
static int register_methods(pl_rpc_server *s) {
  size_t n = 1;
  for (size_t i = 0; i < s->nsvcs; i++)
    n += s->svcs[i]->n_methods;
  s->slots = calloc(n, sizeof(*s->slots));
  if (!s->slots)
    return PL_ERR_NOMEM;
  s->nslots = n;
  for (size_t i = 0; i < n; i++) {
    pl_rpc__tag_init(&s->slots[i].tag, s->rt, on_slot);
    s->slots[i].server = s;
    grpc_metadata_array_init(&s->slots[i].md);
    grpc_call_details_init(&s->slots[i].details);
  }
  size_t k = 0;
  for (size_t i = 0; i < s->nsvcs; i++) {
    const pl_rpc_service *svc = s->svcs[i];
    for (size_t j = 0; j < svc->n_methods; j++, k++) {
      char path[512];
      snprintf(path, sizeof(path), "/%s/%s", svc->full_name, svc->methods[j].name);
      slot *sl = &s->slots[k];
      sl->svc = svc;
      sl->method = &svc->methods[j];
      /* NULL host: any :authority. gRPC refuses a path registered twice. */
      sl->registered = grpc_server_register_method(s->gs, path, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
      if (!sl->registered) {
        fprintf(stderr, "rpc: event=register_method_failed path=%s\n", path);
        return PL_ERR_INVALID;
      }
    }
  }
  return 0;
}

int pl_rpc_server_start(pl_rpc_server *server, int *pbound_port) {
  pl_rpc_server *s = server;
  int rv;
  if (s->state != SERVER_NEW)
    return PL_ERR_STATE;
  grpc_arg argv[4];
  size_t argc = 2;
  argv[0].type = GRPC_ARG_INTEGER;
  argv[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  argv[0].value.integer = s->max_message_bytes > INT_MAX ? INT_MAX : (int)s->max_message_bytes;
  /* gRPC sets SO_REUSEPORT by default: a second server on a taken port would bind too and
   * quietly share the connections instead of failing. */
  argv[1].type = GRPC_ARG_INTEGER;
  argv[1].key = GRPC_ARG_ALLOW_REUSEPORT;
  argv[1].value.integer = 0;
  if (s->read_chunk_bytes) {
    int chunk = s->read_chunk_bytes > INT_MAX ? INT_MAX : (int)s->read_chunk_bytes;
    argv[argc].type = GRPC_ARG_INTEGER;
    argv[argc].key = GRPC_ARG_TCP_READ_CHUNK_SIZE;
    argv[argc++].value.integer = chunk;
    argv[argc].type = GRPC_ARG_INTEGER;
    argv[argc].key = GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE;
    argv[argc++].value.integer = chunk < 256 ? chunk : 256;
  }
  grpc_channel_args args = {argc, argv};
  s->gs = grpc_server_create(&args, NULL);
  if (!s->gs)
    return PL_ERR_NOMEM;
  grpc_server_register_completion_queue(s->gs, pl_rpc__runtime_cq(s->rt), NULL);
  if ((rv = register_methods(s)) != 0)
    goto fail;
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  int port = grpc_server_add_http2_port(s->gs, s->listen, creds);
  grpc_server_credentials_release(creds);
  if (port == 0) {
    rv = PL_ERR_IO;
    goto fail;
  }
  grpc_server_start(s->gs);
  s->state = SERVER_STARTED;
  for (size_t i = 0; i < s->nslots; i++)
    arm_slot(&s->slots[i]);
  if (pbound_port)
    *pbound_port = port;
  return 0;

fail:
  /* A server that never started and has no listener may be destroyed at once. */
  grpc_server_destroy(s->gs);
  s->gs = NULL;
  free_slots(s);
  return rv;
}

void pl_rpc_server_set_health(pl_rpc_server *server, const char *service, int serving) {
  pl_health_set(server->health, service, serving);
}

static void on_grace(uv_timer_t *timer) {
  pl_rpc_server *s = timer->data;
  /* Each cancelled call sees its close and runs on_done. */
  grpc_server_cancel_all_calls(s->gs);
}

static void on_shutdown(pl_rpc__tag *tag, int ok) {
  pl_rpc_server *s = (pl_rpc_server *)((char *)tag - offsetof(pl_rpc_server, shutdown_tag));
  (void)ok;
  s->shutdown_done = 1;
  maybe_finish_shutdown(s);
}

void pl_rpc_server_shutdown(pl_rpc_server *server, uint64_t grace_ms, void (*done)(void *arg),
                            void *arg) {
  pl_rpc_server *s = server;
  if (s->state == SERVER_STOPPING)
    return;
  server_state was = s->state;
  s->state = SERVER_STOPPING;
  s->done = done;
  s->done_arg = arg;
  /* Watch streams learn that the server is going away. */
  pl_health_set(s->health, "", 0);
  pl_rpc__tag_init(&s->shutdown_tag, s->rt, on_shutdown);
  if (was == SERVER_NEW) {
    pl_rpc__tag_post(&s->shutdown_tag, 1);
    return;
  }
  grpc_server_shutdown_and_notify(s->gs, pl_rpc__runtime_cq(s->rt), &s->shutdown_tag);
  uv_timer_start(&s->grace, on_grace, grace_ms, 0);
}

static void on_grace_closed(uv_handle_t *handle) {
  pl_rpc_server *s = handle->data;
  void (*done)(void *) = s->done;
  void *done_arg = s->done_arg;
  if (s->gs)
    grpc_server_destroy(s->gs);
  free_slots(s);
  /* No call is left, so no handler can reach these any more. */
  pl_reflection_free(s->reflection);
  pl_health_free(s->health);
  free(s->svcs);
  free(s->authorization);
  free(s->listen);
  pl_rpc__runtime_release(s->rt);
  free(s);
  if (done)
    done(done_arg);
}

static void maybe_finish_shutdown(pl_rpc_server *s) {
  if (s->state != SERVER_STOPPING || !s->shutdown_done || s->live_calls > 0 ||
      s->pending_requests > 0 || s->closing)
    return;
  s->closing = 1;
  uv_timer_stop(&s->grace);
  uv_close((uv_handle_t *)&s->grace, on_grace_closed);
}
