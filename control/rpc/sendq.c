/* The write queue every call keeps: the C core allows one SEND_MESSAGE in flight per call, so
 * messages wait here in order until the previous send completes. The queue is bounded: a
 * stream's owner learns at once (PL_ERR_FULL) that its reader is behind and decides what that
 * means for its stream, instead of the process growing until it dies. */

#include <stdlib.h>

#include "control/common/err.h"
#include "control/rpc/rpc_internal.h"

pl_rpc__sendq_item *pl_rpc__sendq_item_new(grpc_byte_buffer *bb) {
  if (!bb)
    return NULL;
  pl_rpc__sendq_item *item = malloc(sizeof(*item));
  if (!item) {
    grpc_byte_buffer_destroy(bb);
    return NULL;
  }
  item->bb = bb;
  item->next = NULL;
  return item;
}

void pl_rpc__sendq_append(pl_rpc__sendq *q, pl_rpc__sendq_item *item) {
  item->next = NULL;
  if (q->tail)
    q->tail->next = item;
  else
    q->head = item;
  q->tail = item;
  q->count++;
}

int pl_rpc__sendq_push(pl_rpc__sendq *q, grpc_byte_buffer *bb) {
  if (bb && pl_rpc__sendq_pending(q) >= pl_rpc__sendq_limit(q)) {
    grpc_byte_buffer_destroy(bb);
    return PL_ERR_FULL;
  }
  pl_rpc__sendq_item *item = pl_rpc__sendq_item_new(bb);
  if (!item)
    return PL_ERR_NOMEM;
  pl_rpc__sendq_append(q, item);
  return 0;
}

grpc_byte_buffer *pl_rpc__sendq_next(pl_rpc__sendq *q) {
  pl_rpc__sendq_item *item = q->head;
  if (!item)
    return NULL;
  q->head = item->next;
  if (!q->head)
    q->tail = NULL;
  q->count--;
  q->inflight = item->bb;
  free(item);
  return q->inflight;
}

void pl_rpc__sendq_sent(pl_rpc__sendq *q) {
  if (q->inflight) {
    grpc_byte_buffer_destroy(q->inflight);
    q->inflight = NULL;
  }
}

size_t pl_rpc__sendq_pending(const pl_rpc__sendq *q) {
  return q->count + (q->inflight ? 1 : 0);
}

size_t pl_rpc__sendq_limit(const pl_rpc__sendq *q) {
  return q->limit ? q->limit : PL_RPC_SEND_QUEUE_DEFAULT;
}

size_t pl_rpc__sendq_discard(pl_rpc__sendq *q) {
  size_t n = 0;
  while (q->head) {
    pl_rpc__sendq_item *item = q->head;
    q->head = item->next;
    grpc_byte_buffer_destroy(item->bb);
    free(item);
    n++;
  }
  q->tail = NULL;
  q->count = 0;
  return n;
}

void pl_rpc__sendq_clear(pl_rpc__sendq *q) {
  pl_rpc__sendq_sent(q);
  pl_rpc__sendq_discard(q);
}
