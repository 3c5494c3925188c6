/* ClusterMessage packing and parsing (cluster_msg.h). */
#include "control/rendezvous/cluster_msg.h"

#include <stdio.h>
#include <stdlib.h>

#include "control/common/err.h"
#include "control/common/hex.h"

int pl_rdv_cmsg_pack(const pl_rdv_cmsg *m, uint8_t **pout, size_t *plen) {
  size_t len = peerlink__cluster__v1__cluster_message__get_packed_size(m);
  /* One byte more: an empty message still gets a buffer malloc cannot refuse as size 0. */
  uint8_t *buf = malloc(len + 1);
  if (buf == NULL)
    return PL_ERR_NOMEM;
  *plen = peerlink__cluster__v1__cluster_message__pack(m, buf);
  *pout = buf;
  return 0;
}

void pl_rdv_cmsg_free(pl_rdv_cmsg *m) {
  if (m)
    peerlink__cluster__v1__cluster_message__free_unpacked(m, NULL);
}

const char *pl_rdv_cmsg_kind_name(const pl_rdv_cmsg *m) {
  switch (m->msg_case) {
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_JOIN: return "join";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_INPUT: return "input";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LEAVE: return "leave";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REQUEST: return "list_request";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_OUTPUT: return "output";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_END: return "end";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_GROW: return "grow";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REPLY: return "list_reply";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_ANNOUNCE: return "announce";
  default: return "none";
  }
}

/* The parts each kind needs; NULL when it has them. */
static const char *missing_part(const pl_rdv_cmsg *m) {
  switch (m->msg_case) {
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_JOIN:
    if (m->join->info == NULL || !pl_hex_is_lower(m->join->info->id, 32))
      return "join.info.id: 32 lowercase hex characters expected";
    if (m->join->public_key.len == 0)
      return "join.public_key: missing";
    return NULL;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_INPUT:
    if (m->input->request == NULL ||
        m->input->request->msg_case == PEERLINK__V1__REGISTER_REQUEST__MSG__NOT_SET)
      return "input.request: missing";
    return NULL;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REQUEST:
    return m->list_request->list ? NULL : "list_request.list: missing";
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_OUTPUT:
    if (m->output->response == NULL ||
        m->output->response->msg_case == PEERLINK__V1__REGISTER_RESPONSE__MSG__NOT_SET)
      return "output.response: missing";
    return NULL;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LIST_REPLY:
    if (m->list_reply->code == 0 && m->list_reply->list == NULL)
      return "list_reply.list: missing on success";
    return NULL;
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_LEAVE:
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_END:
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_GROW:
  case PEERLINK__CLUSTER__V1__CLUSTER_MESSAGE__MSG_ANNOUNCE: return NULL;
  default: return "msg: no message kind set";
  }
}

int pl_rdv_cmsg_parse(const uint8_t *data, size_t len, pl_rdv_cmsg **pm, char *err, size_t cap) {
  *pm = NULL;
  pl_rdv_cmsg *m = peerlink__cluster__v1__cluster_message__unpack(NULL, len, data);
  if (m == NULL) {
    snprintf(err, cap, "not a ClusterMessage (%zu bytes)", len);
    return PL_ERR_PARSE;
  }
  const char *why = NULL;
  if (!pl_hex_is_lower(m->from, PL_RDV_INSTANCE_HEX))
    why = "from: 32 lowercase hex characters expected";
  else
    why = missing_part(m);
  if (why) {
    snprintf(err, cap, "%s message: %s", pl_rdv_cmsg_kind_name(m), why);
    pl_rdv_cmsg_free(m);
    return PL_ERR_PARSE;
  }
  *pm = m;
  return 0;
}
