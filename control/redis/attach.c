/* hiredis's libuv adapter, the only includer of its header (its functions are static and one
 * is named on_close). 0.14.1's poll callback returns on a non-zero status, but libuv reports
 * POLLERR (a refused connect, a reset, a failed keepalive) exactly that way, as UV_EBADF after
 * stopping the handle: hiredis would never learn the connection failed. Later hiredis (1.0)
 * hands the error to hiredis as a read/write event instead; so do we, by replacing the four
 * event hooks with copies that start the poll with the fixed callback. The adapter still owns
 * the handle and frees it (its cleanup hook). */
#include "control/redis/redis_int.h"

#include <hiredis/adapters/libuv.h>

#include "control/common/err.h"

static void poll_cb(uv_poll_t *handle, int status, int events) {
  redisLibuvEvents *p = handle->data;
  int ev = status != 0 ? p->events : events;
  /* Reading may free the context (the adapter's cleanup clears p->context; p lives on until
   * the handle's close callback). */
  if (p->context != NULL && (ev & UV_READABLE))
    redisAsyncHandleRead(p->context);
  if (p->context != NULL && (ev & UV_WRITABLE))
    redisAsyncHandleWrite(p->context);
}

static void update(redisLibuvEvents *p) {
  if (p->events)
    uv_poll_start(&p->handle, p->events, poll_cb);
  else
    uv_poll_stop(&p->handle);
}

static void add_read(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events |= UV_READABLE;
  update(p);
}

static void del_read(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events &= ~UV_READABLE;
  update(p);
}

static void add_write(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events |= UV_WRITABLE;
  update(p);
}

static void del_write(void *privdata) {
  redisLibuvEvents *p = privdata;
  p->events &= ~UV_WRITABLE;
  update(p);
}

int pl_redis__attach(redisAsyncContext *ac, uv_loop_t *loop) {
  if (redisLibuvAttach(ac, loop) != REDIS_OK)
    return PL_ERR_IO;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  return 0;
}
