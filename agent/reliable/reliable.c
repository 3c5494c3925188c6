/* The reliable channel's API: configuration, lifetime, sending, dispatch and events. The
 * sender's and receiver's halves are in reliable_send.c and reliable_recv.c. */
#include "agent/reliable/reliable.h"

#include <stdlib.h>
#include <string.h>

#include "agent/reliable/reliable_impl.h"
#include "control/common/err.h"

#define MAX_WINDOW 16384 /* ACK ranges carry 16-bit gaps and lengths */

void pl_reliable_config_default(pl_reliable_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  /* 1100: under the 1148 bytes a DATA payload can carry on every path, relayed or not, with
   * room for a channel byte in front. */
  cfg->max_payload = 1100;
  cfg->max_message = PL_RELIABLE_DEFAULT_MAX_MESSAGE;
  cfg->send_buffer = 4 * PL_RELIABLE_DEFAULT_MAX_MESSAGE;
  cfg->send_queue = 1024;
  cfg->window = 256;
  cfg->recv_buffer = 4 * PL_RELIABLE_DEFAULT_MAX_MESSAGE;
  cfg->recv_queue = 1024;
  cfg->rto_initial_us = 1000000;
  cfg->rto_min_us = 200000;
  /* Far below RFC 6298's 60 s: the path layer declares a silent peer dead after 8 s, and a
   * channel must say FAILED while a caller still waits. */
  cfg->rto_max_us = 2000000;
  cfg->max_retransmits = 20;
  cfg->give_up_us = 15000000;
  cfg->ack_delay_us = 10000;
}

static int config_valid(const pl_reliable_config *c) {
  return c->max_payload >= 64 && c->max_payload <= 65535 && c->max_message <= UINT32_MAX &&
         c->send_buffer >= c->max_message && c->send_queue >= 1 && c->window >= 1 &&
         c->window <= MAX_WINDOW && c->recv_buffer >= c->max_message && c->recv_queue >= 1 &&
         c->rto_min_us >= 1 && c->rto_min_us <= c->rto_initial_us &&
         c->rto_initial_us <= c->rto_max_us && c->rto_max_us <= UINT32_MAX &&
         c->ack_delay_us < c->rto_min_us && c->give_up_us >= 1 && c->max_retransmits >= 1;
}

int pl_reliable_new(pl_reliable **pr, const pl_reliable_config *cfg) {
  pl_reliable_config def;
  pl_reliable *r;
  if (pr == NULL)
    return PL_ERR_INVALID;
  if (cfg == NULL) {
    pl_reliable_config_default(&def);
    cfg = &def;
  }
  if (!config_valid(cfg))
    return PL_ERR_INVALID;
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return PL_ERR_NOMEM;
  r->cfg = *cfg;
  r->frag_cap = cfg->max_payload - PL_RELIABLE_FRAG_HEADER;
  r->max_ranges = (cfg->max_payload - PL_RELIABLE__ACK_HEADER) / PL_RELIABLE__ACK_RANGE;
  if (r->max_ranges > PL_RELIABLE_MAX_ACK_RANGES)
    r->max_ranges = PL_RELIABLE_MAX_ACK_RANGES;
  r->next_msg_id = 1;
  r->peer_window = cfg->window;
  r->rto = cfg->rto_initial_us;
  r->sent = calloc(cfg->window, sizeof *r->sent);
  if (r->sent == NULL)
    goto fail_sent;
  r->slots = calloc(cfg->window, sizeof *r->slots);
  if (r->slots == NULL)
    goto fail_slots;
  /* The reassembly window's data up front: a peer can fill it, so it is the bound anyway. */
  r->slab = malloc(cfg->window * r->frag_cap);
  if (r->slab == NULL)
    goto fail_slab;
  *pr = r;
  return 0;

fail_slab:
  free(r->slots);
fail_slots:
  free(r->sent);
fail_sent:
  free(r);
  return PL_ERR_NOMEM;
}

static void events_free(pl_reliable *r) {
  pl_reliable__event_node *e = r->ev_head, *next;
  for (; e != NULL; e = next) {
    next = e->next;
    free(e->owned);
    free(e);
  }
  r->ev_head = r->ev_tail = NULL;
}

void pl_reliable_del(pl_reliable *r) {
  if (r == NULL)
    return;
  pl_reliable__send_free(r);
  events_free(r);
  free(r->held);
  free(r->asm_buf);
  free(r->slab);
  free(r->slots);
  free(r->sent);
  free(r);
}

int pl_reliable__event_push(pl_reliable *r, pl_reliable_event_type type, uint64_t msg_id,
                            pl_reliable_fail_reason reason, uint8_t *owned, size_t len) {
  pl_reliable__event_node *e = calloc(1, sizeof *e);
  if (e == NULL)
    return PL_ERR_NOMEM;
  e->ev.type = type;
  e->ev.msg_id = msg_id;
  e->ev.reason = reason;
  e->ev.data = owned;
  e->ev.len = len;
  e->owned = owned;
  if (r->ev_tail != NULL)
    r->ev_tail->next = e;
  else
    r->ev_head = e;
  r->ev_tail = e;
  if (type == PL_RELIABLE_EV_DELIVERED) {
    r->undrained_count++;
    r->undrained_bytes += len;
  }
  return 0;
}

int pl_reliable_next_event(pl_reliable *r, pl_reliable_event *ev) {
  free(r->held);
  r->held = NULL;
  pl_reliable__event_node *e = r->ev_head;
  if (e == NULL)
    return 0;
  r->ev_head = e->next;
  if (r->ev_head == NULL)
    r->ev_tail = NULL;
  *ev = e->ev;
  if (e->ev.type == PL_RELIABLE_EV_DELIVERED) {
    r->undrained_count--;
    r->undrained_bytes -= e->ev.len;
  }
  r->held = e->owned;
  free(e);
  return 1;
}

void pl_reliable__fail(pl_reliable *r, pl_reliable_fail_reason reason) {
  if (r->state == PL_RELIABLE__DEAD)
    return;
  r->state = PL_RELIABLE__DEAD;
  r->fail_reason = reason;
  /* Oldest first, so FAILED events come in send order like ACKED ones. A FAILED event that
   * cannot be allocated is the one way to lose one: the messages are freed either way. */
  for (pl_reliable__msg *m = r->head; m != NULL; m = m->next)
    (void)pl_reliable__event_push(r, PL_RELIABLE_EV_FAILED, m->id, reason, NULL, 0);
  pl_reliable__send_free(r);
}

void pl_reliable_close(pl_reliable *r) {
  if (r != NULL)
    pl_reliable__fail(r, PL_RELIABLE_FAIL_CLOSED);
}

int pl_reliable_send(pl_reliable *r, const uint8_t *msg, size_t len, uint64_t now,
                     uint64_t *pmsg_id) {
  (void)now; /* fragments are timed when they are polled out */
  if (r == NULL || (msg == NULL && len != 0) || pmsg_id == NULL)
    return PL_ERR_INVALID;
  if (r->state != PL_RELIABLE__OPEN)
    return PL_ERR_CLOSED;
  if (len > r->cfg.max_message)
    return PL_ERR_TOO_BIG;
  if (r->queued_count >= r->cfg.send_queue || r->queued_bytes + len > r->cfg.send_buffer)
    return PL_ERR_FULL;
  pl_reliable__msg *m = calloc(1, sizeof *m);
  if (m == NULL)
    return PL_ERR_NOMEM;
  m->data = malloc(len ? len : 1);
  if (m->data == NULL) {
    free(m);
    return PL_ERR_NOMEM;
  }
  if (len > 0)
    memcpy(m->data, msg, len);
  m->len = len;
  m->id = r->next_msg_id++;
  if (r->tail != NULL)
    r->tail->next = m;
  else
    r->head = m;
  r->tail = m;
  if (r->uncut == NULL)
    r->uncut = m;
  r->queued_bytes += len;
  r->queued_count++;
  *pmsg_id = m->id;
  return 0;
}

int pl_reliable_recv(pl_reliable *r, const uint8_t *data, size_t len, uint64_t now) {
  pl_reliable__frag f;
  pl_reliable__ack a;
  int type = 0;
  if (r == NULL || (data == NULL && len != 0))
    return PL_ERR_INVALID;
  if (r->state != PL_RELIABLE__OPEN)
    return PL_ERR_CLOSED;
  int rv = pl_reliable__parse(data, len, &type, &f, &a);
  if (rv == 0)
    rv = type == PL_RELIABLE__TYPE_FRAG ? pl_reliable__on_frag(r, &f, now)
                                        : pl_reliable__on_ack(r, &a, now);
  if (rv == PL_ERR_PARSE)
    r->stats.dropped_parse++;
  return rv;
}

int pl_reliable_poll(pl_reliable *r, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  if (r == NULL || buf == NULL || plen == NULL)
    return PL_ERR_INVALID;
  *plen = 0;
  if (cap < r->cfg.max_payload)
    return PL_ERR_TOO_BIG;
  if (r->state != PL_RELIABLE__OPEN)
    return 0;
  /* ACKs first: the peer's window and timers wait on them, and they are small. */
  int rv = pl_reliable__ack_next(r, now, buf, cap, plen);
  if (rv != 0 || *plen > 0)
    return rv;
  return pl_reliable__send_next(r, now, buf, cap, plen);
}

uint64_t pl_reliable_deadline(const pl_reliable *r) {
  if (r == NULL || r->state != PL_RELIABLE__OPEN)
    return UINT64_MAX;
  uint64_t s = pl_reliable__send_deadline(r), a = pl_reliable__ack_deadline(r);
  return s < a ? s : a;
}

void pl_reliable_stats_get(const pl_reliable *r, pl_reliable_stats *stats) {
  *stats = r->stats;
  stats->srtt_us = r->have_rtt ? r->srtt : 0;
  stats->rttvar_us = r->rttvar;
  stats->rto_us = r->rto;
  stats->in_flight = (uint32_t)(r->snd_nxt - r->snd_una);
}
