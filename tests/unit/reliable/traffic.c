#include "tests/unit/reliable/traffic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

void traffic_fill(uint8_t *buf, uint64_t id, size_t len) {
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)(id * 131 + i * 7 + (i >> 8));
}

static int content_ok(const uint8_t *data, uint64_t id, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (data[i] != (uint8_t)(id * 131 + i * 7 + (i >> 8)))
      return 0;
  return 1;
}

void traffic_pump(sim *s, traffic *t, int side) {
  traffic_side *ts = &t->side[side];
  uint8_t *buf = NULL;
  size_t cap = 0;
  while (ts->queued < ts->to_send) {
    uint64_t id = ts->queued + 1, got = 0;
    size_t len = ts->len_of(id);
    if (len > cap) {
      free(buf);
      cap = len;
      buf = malloc(cap);
      if (buf == NULL)
        abort();
    }
    traffic_fill(buf, id, len);
    int rv = pl_reliable_send(s->side[side], buf, len, s->now, &got);
    if (rv == PL_ERR_FULL || rv == PL_ERR_CLOSED)
      break;
    if (rv != 0 || got != id) {
      fprintf(stderr, "traffic: send %llu: %s (id %llu)\n", (unsigned long long)id, pl_strerror(rv),
              (unsigned long long)got);
      ts->errors++;
      break;
    }
    ts->queued++;
  }
  free(buf);
}

static void on_event(sim *s, int side, const pl_reliable_event *ev, void *user) {
  traffic *t = user;
  traffic_side *me = &t->side[side], *peer = &t->side[1 - side];
  switch (ev->type) {
  case PL_RELIABLE_EV_DELIVERED:
    if (ev->msg_id != me->delivered + 1 || ev->msg_id > peer->queued ||
        ev->len != peer->len_of(ev->msg_id) || !content_ok(ev->data, ev->msg_id, ev->len)) {
      fprintf(stderr, "traffic: side %d: bad delivery of %llu (%zu bytes), expected %llu\n", side,
              (unsigned long long)ev->msg_id, ev->len, (unsigned long long)me->delivered + 1);
      me->errors++;
    }
    me->delivered = ev->msg_id;
    me->delivered_bytes += ev->len;
    break;
  case PL_RELIABLE_EV_ACKED:
  case PL_RELIABLE_EV_FAILED:
    /* ACKED and FAILED together cover 1..queued once each, in order. */
    if (ev->msg_id != me->acked + me->failed + 1) {
      fprintf(stderr, "traffic: side %d: %s %llu out of order\n", side,
              ev->type == PL_RELIABLE_EV_ACKED ? "ACKED" : "FAILED",
              (unsigned long long)ev->msg_id);
      me->errors++;
    }
    if (ev->type == PL_RELIABLE_EV_ACKED) {
      me->acked++;
    } else {
      if (me->failed++ == 0)
        me->first_failed_at = s->now;
      me->last_failed_at = s->now;
      me->last_reason = ev->reason;
    }
    traffic_pump(s, t, side);
    break;
  }
}

void traffic_start(sim *s, traffic *t) {
  s->on_event = on_event;
  s->user = t;
  traffic_pump(s, t, 0);
  traffic_pump(s, t, 1);
}

int traffic_settled(const traffic *t, int side) {
  const traffic_side *ts = &t->side[side];
  return ts->acked + ts->failed == ts->queued;
}

int traffic_done(sim *s, void *user) {
  const traffic *t = user;
  (void)s;
  for (int i = 0; i < 2; i++)
    if (t->side[i].acked != t->side[i].to_send || t->side[1 - i].delivered != t->side[i].to_send)
      return 0;
  return 1;
}
