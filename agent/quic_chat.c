/* Send with DELIVERY_QUIC_STREAM, and the messages that arrive that way. Each side sends its
 * messages on one MESSAGE stream of the link's QUIC connection (opened with the first message,
 * one-way), each as length(4) + bytes (agent/quic/msg.h), so they arrive exactly once and in
 * order. A Send ends when the peer acknowledged the message's last byte; when the stream or
 * the connection ends first, every message still unacknowledged fails with a status that says
 * so (it may or may not have arrived: never silently lost). */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/quic/msg.h"
#include "control/common/err.h"

#define WAIT_MS 10000                 /* for a connection that is not established yet */
#define PENDING_MAX_BYTES (64u << 20) /* queued or unacknowledged, all peers together */

typedef struct chat_conn chat_conn;

typedef struct chat_msg {
  pl_send_wait wait; /* first: the call's data while it waits */
  struct pl_quic_chat *chat;
  pl_rpc_call *call; /* NULL once the caller went away (the message still goes) */
  char peer_id[PL_LINK_PEER_HEX + 1];
  pl_agent_quic_waiter *waiter; /* waiting for the connection */
  chat_conn *cc;                /* the stream it is queued on */
  uint8_t hdr[PL_QUIC_MSG_HEADER];
  uint8_t *data;
  size_t len;
  size_t written; /* of hdr + data */
  uint64_t end;   /* our offset on the stream after its last byte */
  uint64_t seq;
  struct chat_msg *next;
} chat_msg;

struct chat_conn {
  struct pl_quic_chat *chat;
  pl_quic *q;
  int64_t sid;
  uint64_t offset, seq;
  chat_msg *head, *tail; /* in order; acknowledged ones leave from the head */
  chat_msg *unwritten;   /* the first not completely in the stream's buffer */
  chat_conn *next;
};

typedef struct chat_rx {
  struct pl_quic_chat *chat;
  char peer_id[PL_LINK_PEER_HEX + 1];
  pl_quic *q;
  int64_t sid;
  pl_quic_msg_reader reader;
} chat_rx;

struct pl_quic_chat {
  pl_agent *a;
  chat_conn *conns;
  size_t pending;
};

/* --- ending a Send ----------------------------------------------------------------------- */

static void msg_free(chat_msg *m) {
  m->chat->pending -= m->len;
  free(m->data);
  free(m);
}

static void msg_fail(chat_msg *m, pl_rpc_status code, const char *why) {
  if (m->call) {
    pl_rpc_call_set_data(m->call, NULL);
    pl_rpc_call_finish(m->call, code, "%s", why);
  }
  msg_free(m);
}

static void msg_done(chat_msg *m) {
  Peerlink__V1__SendResponse resp = PEERLINK__V1__SEND_RESPONSE__INIT;
  if (m->call) {
    resp.sequence = m->seq;
    pl_rpc_call_set_data(m->call, NULL);
    if (pl_rpc_call_reply(m->call, &resp.base) != 0)
      pl_rpc_call_finish(m->call, PL_RPC_RESOURCE_EXHAUSTED, "cannot send the answer");
  }
  msg_free(m);
}

/* The caller went away first: forget it; a message already in the stream still goes. */
static void msg_cancel(pl_send_wait *w) {
  chat_msg *m = (chat_msg *)w;
  m->call = NULL;
  if (m->cc == NULL) {
    pl_agent_quic_wait_cancel(m->chat->a, m->waiter);
    msg_free(m);
  }
}

/* --- the sending stream ------------------------------------------------------------------ */

static void pump(chat_conn *cc) {
  while (cc->unwritten) {
    chat_msg *m = cc->unwritten;
    while (m->written < PL_QUIC_MSG_HEADER + m->len) {
      const uint8_t *p = m->written < PL_QUIC_MSG_HEADER
                             ? m->hdr + m->written
                             : m->data + (m->written - PL_QUIC_MSG_HEADER);
      size_t want = m->written < PL_QUIC_MSG_HEADER ? PL_QUIC_MSG_HEADER - m->written
                                                    : PL_QUIC_MSG_HEADER + m->len - m->written;
      size_t acc = 0;
      if (pl_quic_stream_write(cc->q, cc->sid, p, want, &acc) != 0 || acc == 0)
        return; /* full (writable resumes us), or the stream is ending (closed fails us) */
      m->written += acc;
    }
    cc->unwritten = m->next;
  }
}

static void tx_recv(void *sarg, pl_quic *q, int64_t sid, const uint8_t *d, size_t n, int fin) {
  (void)sarg, (void)q, (void)sid, (void)d, (void)n, (void)fin; /* one-way: nothing comes */
}

static void tx_acked(void *sarg, pl_quic *q, int64_t sid, uint64_t acked) {
  chat_conn *cc = sarg;
  (void)q;
  (void)sid;
  while (cc->head && cc->head->end <= acked && cc->head != cc->unwritten) {
    chat_msg *m = cc->head;
    cc->head = m->next;
    if (cc->head == NULL)
      cc->tail = NULL;
    msg_done(m);
  }
}

static void tx_writable(void *sarg, pl_quic *q, int64_t sid) {
  (void)q;
  (void)sid;
  pump(sarg);
}

static void tx_closed(void *sarg, pl_quic *q, int64_t sid, int err, uint64_t code) {
  chat_conn *cc = sarg;
  struct pl_quic_chat *chat = cc->chat;
  pl_quic_info info;
  char why[PL_QUIC_DETAIL_MAX + 160];
  (void)sid;
  pl_quic_get_info(q, &info);
  for (chat_conn **p = &chat->conns; *p; p = &(*p)->next)
    if (*p == cc) {
      *p = cc->next;
      break;
    }
  while (cc->head) {
    chat_msg *m = cc->head;
    cc->head = m->next;
    if (err == PL_ERR_STATE)
      snprintf(why, sizeof why,
               "message to %s may not have arrived: the peer reset the QUIC message stream "
               "(code %llu)",
               m->peer_id, (unsigned long long)code);
    else
      snprintf(why, sizeof why,
               "message to %s may not have arrived: the QUIC connection closed before the peer "
               "acknowledged it (%s)",
               m->peer_id, info.detail[0] ? info.detail : "closed");
    msg_fail(m, info.auth_failed ? PL_RPC_UNAUTHENTICATED : PL_RPC_UNAVAILABLE, why);
  }
  free(cc);
}

static const pl_quic_stream_cb tx_cb = {
    .recv = tx_recv, .acked = tx_acked, .writable = tx_writable, .closed = tx_closed};

static chat_conn *conn_for(struct pl_quic_chat *chat, pl_quic *q, int *prv) {
  for (chat_conn *cc = chat->conns; cc; cc = cc->next)
    if (cc->q == q)
      return cc;
  chat_conn *cc = calloc(1, sizeof *cc);
  if (cc == NULL) {
    *prv = PL_ERR_NOMEM;
    return NULL;
  }
  cc->chat = chat;
  cc->q = q;
  if ((*prv = pl_quic_stream_open(q, PL_QUIC_STREAM_MESSAGE, 0, &tx_cb, cc, &cc->sid)) != 0) {
    free(cc);
    return NULL;
  }
  cc->next = chat->conns;
  chat->conns = cc;
  return cc;
}

/* The connection is there (or cannot be): queue the message on its stream. */
static void on_ready(void *arg, pl_quic *q, pl_rpc_status code, const char *why) {
  chat_msg *m = arg;
  char msg[PL_QUIC_DETAIL_MAX + 120];
  int rv = 0;
  m->waiter = NULL;
  if (q == NULL) {
    snprintf(msg, sizeof msg, "message not sent over QUIC: %s", why);
    msg_fail(m, code, msg);
    return;
  }
  chat_conn *cc = conn_for(m->chat, q, &rv);
  if (cc == NULL) {
    snprintf(msg, sizeof msg, "message not sent: cannot open a QUIC stream to %s: %s", m->peer_id,
             rv == PL_ERR_FULL ? "the peer allows no more streams now" : pl_strerror(rv));
    msg_fail(m, PL_RPC_RESOURCE_EXHAUSTED, msg);
    return;
  }
  m->cc = cc;
  m->seq = ++cc->seq;
  m->end = cc->offset + PL_QUIC_MSG_HEADER + m->len;
  cc->offset = m->end;
  if (cc->tail)
    cc->tail->next = m;
  else
    cc->head = m;
  cc->tail = m;
  if (cc->unwritten == NULL)
    cc->unwritten = m;
  pump(cc);
}

void pl_api_send_quic(pl_agent *a, pl_rpc_call *call, const Peerlink__V1__SendRequest *req) {
  struct pl_quic_chat *chat = a->quic_chat;
  pl_link *l = pl_links_find_peer(&a->links, req->peer_id);
  if (l == NULL) {
    pl_rpc_call_finish(call, PL_RPC_NOT_FOUND, "peer_id: not connected to %s (call Connect)",
                       req->peer_id);
    return;
  }
  if (req->data.len > PL_QUIC_MSG_MAX) {
    pl_rpc_call_finish(call, PL_RPC_INVALID_ARGUMENT,
                       "data: a QUIC_STREAM message holds at most %u bytes", PL_QUIC_MSG_MAX);
    return;
  }
  if (chat == NULL) {
    pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "QUIC is not available on this agent");
    return;
  }
  if (chat->pending + req->data.len > PENDING_MAX_BYTES) {
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED,
                       "%zu bytes of QUIC messages are waiting for acknowledgement (the limit is "
                       "%u); try again shortly",
                       chat->pending, PENDING_MAX_BYTES);
    return;
  }
  chat_msg *m = calloc(1, sizeof *m);
  if (m == NULL || (req->data.len && (m->data = malloc(req->data.len)) == NULL)) {
    free(m);
    pl_rpc_call_finish(call, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
    return;
  }
  m->wait.cancel = msg_cancel;
  m->chat = chat;
  m->call = call;
  m->len = req->data.len;
  if (m->len)
    memcpy(m->data, req->data.data, m->len);
  pl_quic_msg_header(m->hdr, (uint32_t)m->len);
  snprintf(m->peer_id, sizeof m->peer_id, "%s", l->peer_id);
  chat->pending += m->len;
  pl_rpc_call_set_data(call, &m->wait);
  if (pl_agent_quic_wait(a, l, WAIT_MS, on_ready, m, &m->waiter) != 0)
    msg_fail(m, PL_RPC_RESOURCE_EXHAUSTED, "agent out of memory");
}

/* --- the receiving side ------------------------------------------------------------------ */

static void on_msg(void *arg, const uint8_t *data, size_t len) {
  chat_rx *rx = arg;
  pl_agent *a = rx->chat->a;
  if (a->closing)
    return;
  pl_events_publish_message(&a->events, rx->peer_id, PEERLINK__V1__DELIVERY__DELIVERY_QUIC_STREAM,
                            data, len);
}

static void rx_free(chat_rx *rx) {
  pl_quic_msg_reader_free(&rx->reader);
  free(rx);
}

static void rx_recv(void *sarg, pl_quic *q, int64_t sid, const uint8_t *data, size_t len, int fin) {
  chat_rx *rx = sarg;
  (void)fin;
  if (pl_quic_msg_reader_feed(&rx->reader, data, len, on_msg, rx) != 0) {
    /* A length over the limit, or no memory for it: this stream cannot go on. The sender's
     * waiting messages fail when it hears of the reset. */
    pl_quic_stream_reset(q, sid, PL_QUIC_APP_INTERNAL);
    rx_free(rx);
  }
}

static void rx_acked(void *sarg, pl_quic *q, int64_t sid, uint64_t acked) {
  (void)sarg, (void)q, (void)sid, (void)acked;
}

static void rx_closed(void *sarg, pl_quic *q, int64_t sid, int err, uint64_t code) {
  (void)q, (void)sid, (void)err, (void)code;
  rx_free(sarg);
}

static const pl_quic_stream_cb rx_cb = {.recv = rx_recv, .acked = rx_acked, .closed = rx_closed};

static int rx_open(void *arg, pl_link *l, pl_quic *q, int64_t sid, const pl_quic_stream_cb **pcb,
                   void **psarg) {
  struct pl_quic_chat *chat = arg;
  chat_rx *rx = calloc(1, sizeof *rx);
  if (rx == NULL)
    return PL_ERR_NOMEM;
  rx->chat = chat;
  rx->q = q;
  rx->sid = sid;
  snprintf(rx->peer_id, sizeof rx->peer_id, "%s", l->peer_id);
  pl_quic_msg_reader_init(&rx->reader, 0);
  *pcb = &rx_cb;
  *psarg = rx;
  return 0;
}

int pl_agent_quic_chat_init(pl_agent *a) {
  struct pl_quic_chat *chat = calloc(1, sizeof *chat);
  if (chat == NULL)
    return PL_ERR_NOMEM;
  chat->a = a;
  a->quic_chat = chat;
  pl_agent_quic_set_handler(a, PL_QUIC_STREAM_MESSAGE, rx_open, chat);
  return 0;
}

void pl_agent_quic_chat_close(pl_agent *a) {
  /* pl_agent_quic_close ran first: every stream has closed, every wait has been answered. */
  free(a->quic_chat);
  a->quic_chat = NULL;
}
