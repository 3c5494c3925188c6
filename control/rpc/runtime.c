/* The completion-queue thread and the per-loop dispatchers.
 *
 * gRPC's C core reports every finished operation on a completion queue that someone must block
 * on. One thread per process does that and hands each event to the libuv loop that owns its
 * tag; that loop runs the callback. So all call state lives on loop threads, and the only
 * state shared with the thread is each runtime's event list, under its mutex. */

#include <stdio.h>
#include <stdlib.h>

#include "control/common/err.h"
#include "control/rpc/rpc_internal.h"

struct pl_rpc__runtime {
  uv_loop_t *loop;
  grpc_completion_queue *cq;
  uv_async_t async;
  uv_mutex_t mu; /* guards head/tail */
  pl_rpc__tag *head;
  pl_rpc__tag *tail;
  int refs; /* servers and channels on this loop; loop thread only */
  pl_rpc__runtime *next;
};

/* The process-wide part: created with the first runtime, torn down with the last. */
static uv_once_t g_once = UV_ONCE_INIT;
static uv_mutex_t g_mu; /* guards the fields below */
static pl_rpc__runtime *g_runtimes;
static int g_nruntimes;
static grpc_completion_queue *g_cq;
static uv_thread_t g_thread;

/* absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore), by its C++ name in
 * Debian's abseil (inline namespace debian3), weak so another abseil just leaves it alone.
 * Debian builds abseil without NDEBUG, which turns on absl::Mutex's deadlock detector: every
 * lock updates a graph of every mutex the process ever locked. Measured on the rendezvous
 * (docs/performance.md): ~15% of a registration's CPU and ~1.7 KiB per connection; gRPC's own
 * release builds never run it. */
extern void _ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE(int)
    __attribute__((weak));

static void quiet_absl_deadlock_detector(void) {
  if (_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE)
    _ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE(0 /* kIgnore */);
}

static void g_init_mutex(void) {
  if (uv_mutex_init(&g_mu) != 0)
    abort();
}

/* Appends under the lock and wakes the loop before unlocking: once the loop can see the event
 * it may free `rt`, so this thread must not touch `rt` after the unlock. */
static void enqueue(pl_rpc__tag *tag, int ok) {
  pl_rpc__runtime *rt = tag->rt;
  uv_mutex_lock(&rt->mu);
  tag->ok = ok;
  tag->next = NULL;
  if (rt->tail)
    rt->tail->next = tag;
  else
    rt->head = tag;
  rt->tail = tag;
  uv_async_send(&rt->async);
  uv_mutex_unlock(&rt->mu);
}

static void cq_thread(void *arg) {
  grpc_completion_queue *cq = arg;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN)
      return;
    if (ev.type == GRPC_OP_COMPLETE)
      enqueue(ev.tag, ev.success);
  }
}

/* Takes the whole list at once: events that arrive meanwhile come with a new wake-up. */
static void on_async(uv_async_t *async) {
  pl_rpc__runtime *rt = async->data;
  uv_mutex_lock(&rt->mu);
  pl_rpc__tag *tag = rt->head;
  rt->head = rt->tail = NULL;
  uv_mutex_unlock(&rt->mu);
  while (tag) {
    /* The callback may free the tag's owner; an owner is only freed once none of its tags is
     * outstanding, so the tags still in this list stay valid. */
    pl_rpc__tag *next = tag->next;
    tag->next = NULL;
    tag->fn(tag, tag->ok);
    tag = next;
  }
}

static int process_start(void) {
  quiet_absl_deadlock_detector();
  grpc_init();
  g_cq = grpc_completion_queue_create_for_next(NULL);
  if (!g_cq)
    goto fail_cq;
  if (uv_thread_create(&g_thread, cq_thread, g_cq) != 0)
    goto fail_thread;
  return 0;

fail_thread:
  grpc_completion_queue_shutdown(g_cq);
  grpc_completion_queue_destroy(g_cq);
  g_cq = NULL;
fail_cq:
  grpc_shutdown();
  return PL_ERR_IO;
}

/* Nothing is outstanding any more, so the thread sees the shutdown event right away. */
static void process_stop(void) {
  grpc_completion_queue_shutdown(g_cq);
  uv_thread_join(&g_thread);
  grpc_completion_queue_destroy(g_cq);
  g_cq = NULL;
  grpc_shutdown();
}

int pl_rpc__runtime_acquire(pl_rpc__runtime **prt, uv_loop_t *loop) {
  int rv = 0;
  uv_once(&g_once, g_init_mutex);
  uv_mutex_lock(&g_mu);
  pl_rpc__runtime *rt;
  for (rt = g_runtimes; rt; rt = rt->next)
    if (rt->loop == loop)
      break;
  if (!rt) {
    rt = calloc(1, sizeof(*rt));
    if (!rt) {
      rv = PL_ERR_NOMEM;
      goto out;
    }
    if (g_nruntimes == 0 && (rv = process_start()) != 0)
      goto fail_process;
    if (uv_mutex_init(&rt->mu) != 0) {
      rv = PL_ERR_IO;
      goto fail_mutex;
    }
    if (uv_async_init(loop, &rt->async, on_async) != 0) {
      rv = PL_ERR_IO;
      goto fail_async;
    }
    rt->async.data = rt;
    rt->loop = loop;
    rt->cq = g_cq;
    rt->next = g_runtimes;
    g_runtimes = rt;
    g_nruntimes++;
  }
  rt->refs++;
  *prt = rt;
  goto out;

fail_async:
  uv_mutex_destroy(&rt->mu);
fail_mutex:
  if (g_nruntimes == 0)
    process_stop();
fail_process:
  free(rt);
out:
  uv_mutex_unlock(&g_mu);
  return rv;
}

static void on_async_closed(uv_handle_t *handle) {
  pl_rpc__runtime *rt = handle->data;
  uv_mutex_destroy(&rt->mu);
  free(rt);
}

void pl_rpc__runtime_release(pl_rpc__runtime *rt) {
  if (--rt->refs > 0)
    return;
  uv_mutex_lock(&g_mu);
  pl_rpc__runtime **pp = &g_runtimes;
  while (*pp != rt)
    pp = &(*pp)->next;
  *pp = rt->next;
  if (--g_nruntimes == 0)
    process_stop();
  uv_mutex_unlock(&g_mu);
  /* Closing the async lets the loop exit; the thread is gone or no longer knows `rt`. */
  uv_close((uv_handle_t *)&rt->async, on_async_closed);
}

grpc_completion_queue *pl_rpc__runtime_cq(const pl_rpc__runtime *rt) {
  return rt->cq;
}

uv_loop_t *pl_rpc__runtime_loop(const pl_rpc__runtime *rt) {
  return rt->loop;
}

void pl_rpc__tag_init(pl_rpc__tag *tag, pl_rpc__runtime *rt, pl_rpc__tag_fn fn) {
  tag->fn = fn;
  tag->rt = rt;
  tag->next = NULL;
  tag->ok = 0;
}

void pl_rpc__tag_post(pl_rpc__tag *tag, int ok) {
  enqueue(tag, ok);
}

void pl_rpc__start_batch(grpc_call *call, const grpc_op *ops, size_t nops, pl_rpc__tag *tag) {
  grpc_call_error err = grpc_call_start_batch(call, ops, nops, tag, NULL);
  if (err != GRPC_CALL_OK) {
    fprintf(stderr, "rpc: event=start_batch_refused error=%s\n", grpc_call_error_to_string(err));
    pl_rpc__tag_post(tag, 0);
  }
}
