/* Channels: one insecure HTTP/2 channel per target, and the list of its calls.
 *
 * The channel struct outlives pl_rpc_channel_free until its last call has reported its
 * status: the calls need its runtime until then. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "control/common/err.h"
#include "control/rpc/rpc_internal.h"

struct pl_rpc_channel {
  pl_rpc__runtime *rt;
  grpc_channel *gch;
  char *authorization;
  pl_rpc__link calls; /* circular, with this as the head */
  int freeing;
};

int pl_rpc_channel_new(pl_rpc_channel **pchannel, uv_loop_t *loop, const char *target,
                       const char *token) {
  int loopback, rv;
  if (pl_rpc__parse_hostport(target, &loopback) != 0)
    return PL_ERR_INVALID;
  pl_rpc_channel *ch = calloc(1, sizeof(*ch));
  if (!ch)
    return PL_ERR_NOMEM;
  ch->calls.prev = ch->calls.next = &ch->calls;
  if (token) {
    size_t len = strlen("Bearer ") + strlen(token) + 1;
    if (!(ch->authorization = malloc(len))) {
      rv = PL_ERR_NOMEM;
      goto fail_auth;
    }
    snprintf(ch->authorization, len, "Bearer %s", token);
  }
  if ((rv = pl_rpc__runtime_acquire(&ch->rt, loop)) != 0)
    goto fail_runtime;
  /* No service config ever asks for retries here; without the retry filter a call's messages
   * are not kept around for replay. */
  grpc_arg arg;
  arg.type = GRPC_ARG_INTEGER;
  arg.key = GRPC_ARG_ENABLE_RETRIES;
  arg.value.integer = 0;
  grpc_channel_args args = {1, &arg};
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  ch->gch = grpc_channel_create(target, creds, &args);
  grpc_channel_credentials_release(creds);
  if (!ch->gch) {
    rv = PL_ERR_NOMEM;
    goto fail_channel;
  }
  *pchannel = ch;
  return 0;

fail_channel:
  pl_rpc__runtime_release(ch->rt);
fail_runtime:
  free(ch->authorization);
fail_auth:
  free(ch);
  return rv;
}

static void channel_destroy(pl_rpc_channel *ch) {
  pl_rpc__runtime_release(ch->rt);
  free(ch->authorization);
  free(ch);
}

void pl_rpc_channel_free(pl_rpc_channel *channel) {
  pl_rpc_channel *ch = channel;
  if (!ch || ch->freeing)
    return;
  ch->freeing = 1;
  /* Cancelling never frees a call on the spot, so the list stays intact while we walk it. */
  for (pl_rpc__link *l = ch->calls.next; l != &ch->calls; l = l->next)
    pl_rpc_client_call_cancel((pl_rpc_client_call *)l);
  /* Live calls keep what they need of the gRPC channel alive. */
  grpc_channel_destroy(ch->gch);
  ch->gch = NULL;
  if (ch->calls.next == &ch->calls)
    channel_destroy(ch);
}

int pl_rpc__channel_attach(pl_rpc_channel *ch, pl_rpc__link *call) {
  if (ch->freeing)
    return PL_ERR_CLOSED;
  call->next = &ch->calls;
  call->prev = ch->calls.prev;
  ch->calls.prev->next = call;
  ch->calls.prev = call;
  return 0;
}

void pl_rpc__channel_detach(pl_rpc_channel *ch, pl_rpc__link *call) {
  call->prev->next = call->next;
  call->next->prev = call->prev;
  call->prev = call->next = NULL;
  if (ch->freeing && ch->calls.next == &ch->calls)
    channel_destroy(ch);
}

grpc_channel *pl_rpc__channel_grpc(const pl_rpc_channel *ch) {
  return ch->gch;
}

pl_rpc__runtime *pl_rpc__channel_runtime(const pl_rpc_channel *ch) {
  return ch->rt;
}

const char *pl_rpc__channel_authorization(const pl_rpc_channel *ch) {
  return ch->authorization;
}
