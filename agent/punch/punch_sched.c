/* Punching: the schedule (probe rounds, keep-alives, relay binding), and datagrams out. */
#include <string.h>

#include "agent/punch/punch_impl.h"
#include "control/common/err.h"

uint64_t pl_punch__probe_interval(const pl_punch *p) {
  return p->cfg.probe_interval_us;
}

uint64_t pl_punch__max_interval(const pl_punch *p) {
  return p->cfg.probe_interval_us > PL_PUNCH__PROBE_MAX_US ? p->cfg.probe_interval_us
                                                           : PL_PUNCH__PROBE_MAX_US;
}

static uint64_t min64(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

static uint64_t backoff(const pl_punch *p, uint64_t interval) {
  return min64(interval + interval / 2, pl_punch__max_interval(p));
}

void pl_punch__enqueue(pl_punch *p, const pl_punch__out *o) {
  /* Full: drop, as a full socket buffer would; every sender here retransmits. */
  if (p->qlen == PL_PUNCH__QUEUE)
    return;
  p->queue[(p->qhead + p->qlen) % PL_PUNCH__QUEUE] = *o;
  p->qlen++;
}

static int relay_usable(const pl_punch *p) {
  return p->relay_state == PL_PUNCH__RELAY_UDP || p->relay_state == PL_PUNCH__RELAY_TCP;
}

void pl_punch__enqueue_probe(pl_punch *p, int cand, uint8_t flags) {
  pl_punch__out o;
  memset(&o, 0, sizeof o);
  o.type = PL_FRAME_PROBE;
  o.cand = cand;
  o.gen = p->cands[cand].gen;
  o.flags = flags;
  if (cand == PL_PUNCH__REL) {
    if (!relay_usable(p))
      return;
    o.wrap = 1;
    o.via_tcp = p->relay_state == PL_PUNCH__RELAY_TCP;
  } else if (p->cfg.controlling && cand == p->selected) {
    o.flags |= PL_PROBE_NOMINATE;
  }
  pl_punch__enqueue(p, &o);
}

static void enqueue_bind(pl_punch *p) {
  pl_punch__out o;
  memset(&o, 0, sizeof o);
  o.type = PL_FRAME_RELAY_BIND;
  o.dst = p->cfg.relay;
  pl_punch__enqueue(p, &o);
}

/* Direct probe rounds run while there is no direct path, for a while after one is found (a
 * better pair may still answer), and slowly while on the relay (so the path can upgrade). */
static int rounds_due_at(const pl_punch *p, uint64_t *pat) {
  if (p->n_direct == 0)
    return 0;
  if (p->selected >= 0 && p->selected != PL_PUNCH__REL &&
      p->round_at >= p->direct_since + p->cfg.relay_after_us)
    return 0;
  *pat = p->round_at;
  return 1;
}

static int relay_wanted(const pl_punch *p) {
  return (p->cfg.has_relay || p->cfg.relay_tcp) && p->relay_state == PL_PUNCH__RELAY_IDLE &&
         (p->selected < 0 || p->selected == PL_PUNCH__REL);
}

static void relay_begin(pl_punch *p, uint64_t now) {
  if (p->cfg.has_relay) {
    p->relay_state = PL_PUNCH__RELAY_BINDING;
    p->relay_tried_udp = 1;
    p->relay_bind_at = now;
    p->relay_bind_interval = PL_PUNCH__BIND_FIRST_US;
    p->relay_bind_since = now;
    p->relay_bind_txid_min = p->next_txid;
  } else {
    p->relay_state = PL_PUNCH__RELAY_TCP;
    p->relay_tried_tcp = 1;
  }
  p->relay_probe_at = now;
  p->relay_probe_interval = pl_punch__probe_interval(p);
}

void pl_punch__relay_use_tcp(pl_punch *p, uint64_t now) {
  p->relay_state = PL_PUNCH__RELAY_TCP;
  p->relay_tried_tcp = 1;
  p->relay_probe_at = now;
  p->relay_probe_interval = pl_punch__probe_interval(p);
}

static void tick_relay(pl_punch *p, uint64_t now) {
  if (relay_wanted(p) && now >= p->relay_at)
    relay_begin(p, now);
  if (p->relay_state == PL_PUNCH__RELAY_BINDING) {
    if (p->cfg.relay_tcp && now >= p->relay_bind_since + PL_PUNCH__BIND_GIVEUP_US) {
      /* UDP to the rendezvous does not get through (or back): use the Register stream. */
      pl_punch__relay_use_tcp(p, now);
    } else if (now >= p->relay_bind_at) {
      enqueue_bind(p);
      p->relay_bind_at = now + p->relay_bind_interval;
      p->relay_bind_interval = min64(p->relay_bind_interval * 2, PL_PUNCH__BIND_MAX_US);
    }
  }
  if (p->relay_state == PL_PUNCH__RELAY_UDP && now >= p->relay_rebind_at) {
    enqueue_bind(p);
    p->relay_rebind_at = now + PL_PUNCH__REBIND_US;
  }
  if (relay_usable(p) && p->selected != PL_PUNCH__REL && now >= p->relay_probe_at) {
    pl_punch__enqueue_probe(p, PL_PUNCH__REL, 0);
    p->relay_probe_at = now + p->relay_probe_interval;
    p->relay_probe_interval = backoff(p, p->relay_probe_interval);
  }
}

void pl_punch__tick(pl_punch *p, uint64_t now) {
  if (p->closed)
    return;
  if (!p->started) {
    if (now < p->cfg.start_us)
      return;
    p->started = 1;
    /* Not a restart: an exchange the peer completed early (triggered probes go out before our
     * start time) still counts. */
    pl_punch__schedule(p, now);
  }
  int s = p->selected;
  if (s >= 0 && now >= p->cands[s].last_rx + p->cfg.dead_after_us)
    pl_punch__path_dead(p, now);

  uint64_t at;
  if (rounds_due_at(p, &at) && now >= at) {
    for (size_t i = 0; i < p->n_direct; i++)
      if (p->cands[i].used)
        pl_punch__enqueue_probe(p, (int)i, 0);
    p->round_at = now + p->round_interval;
    p->round_interval = p->selected == PL_PUNCH__REL ? pl_punch__max_interval(p) * 2
                                                     : backoff(p, p->round_interval);
  }
  tick_relay(p, now);
  s = p->selected;
  if (s >= 0 && now >= p->keepalive_at) {
    pl_punch__enqueue_probe(p, s, PL_PROBE_KEEPALIVE);
    p->keepalive_at = now + p->cfg.keepalive_interval_us;
  }
}

uint64_t pl_punch_deadline(const pl_punch *p) {
  if (p->qlen > 0)
    return p->last_now; /* due now */
  if (p->closed)
    return UINT64_MAX;
  if (!p->started)
    return p->cfg.start_us;
  uint64_t d = UINT64_MAX, at;
  int s = p->selected;
  if (rounds_due_at(p, &at))
    d = at;
  if (s >= 0) {
    d = min64(d, p->keepalive_at);
    d = min64(d, p->cands[s].last_rx + p->cfg.dead_after_us);
  }
  if (relay_wanted(p))
    d = min64(d, p->relay_at);
  if (p->relay_state == PL_PUNCH__RELAY_BINDING) {
    d = min64(d, p->relay_bind_at);
    if (p->cfg.relay_tcp)
      d = min64(d, p->relay_bind_since + PL_PUNCH__BIND_GIVEUP_US);
  }
  if (p->relay_state == PL_PUNCH__RELAY_UDP)
    d = min64(d, p->relay_rebind_at);
  if (relay_usable(p) && s != PL_PUNCH__REL)
    d = min64(d, p->relay_probe_at);
  return d;
}

/* --- encoding ------------------------------------------------------------------------------ */

static void frame_init(const pl_punch *p, pl_frame *f, uint8_t type) {
  memset(f, 0, sizeof *f);
  f->type = type;
  memcpy(f->pairing, p->cfg.pairing, PL_FRAME_PAIRING_LEN);
  memcpy(f->sender, p->cfg.self_id, PL_FRAME_ID_LEN);
}

/* Encodes `f` (its seq assigned here) for the direct path, or inside RELAY_DATA for the relay. */
static int encode_for(pl_punch *p, pl_frame *f, int wrap, uint8_t *buf, size_t cap, size_t *plen) {
  f->seq = p->next_seq++;
  if (!wrap)
    return pl_frame_encode(buf, cap, plen, f, &p->keys);
  uint8_t inner[PL_FRAME_MAX_LEN];
  size_t innerlen;
  int rv = pl_frame_encode(inner, sizeof inner, &innerlen, f, &p->keys);
  if (rv != 0)
    return rv;
  pl_frame outer;
  frame_init(p, &outer, PL_FRAME_RELAY_DATA);
  outer.seq = p->next_seq++;
  outer.payload = inner;
  outer.payloadlen = innerlen;
  return pl_frame_encode(buf, cap, plen, &outer, &p->keys);
}

static void record_sent(pl_punch *p, uint64_t txid, int cand, uint32_t gen, uint64_t now) {
  pl_punch__sent *s = &p->sent[p->sent_next];
  p->sent_next = (p->sent_next + 1) % PL_PUNCH__SENT;
  s->txid = txid;
  s->at = now;
  s->cand = cand;
  s->gen = gen;
  s->used = 1;
}

/* Encodes one queued datagram. Returns 0, or an error when it was dropped instead. */
static int emit(pl_punch *p, const pl_punch__out *o, uint64_t now, uint8_t *buf, size_t cap,
                size_t *plen, struct sockaddr_storage *pdst, int *pvia_tcp) {
  pl_frame f;
  frame_init(p, &f, o->type);
  f.flags = o->flags;
  memset(pdst, 0, sizeof *pdst);
  *pvia_tcp = 0;
  switch (o->type) {
  case PL_FRAME_PROBE: {
    pl_punch__cand *c = &p->cands[o->cand];
    if (!c->used || c->gen != o->gen)
      return PL_ERR_STATE; /* the peer-reflexive slot was reused meanwhile */
    f.txid = p->next_txid++;
    f.echo_time_us = now;
    int rv = encode_for(p, &f, o->wrap, buf, cap, plen);
    if (rv != 0)
      return rv;
    record_sent(p, f.txid, o->cand, o->gen, now);
    c->probes_sent++;
    p->stats.probes_sent++;
    if (o->wrap) {
      *pvia_tcp = o->via_tcp;
      if (!o->via_tcp)
        *pdst = p->cfg.relay;
    } else {
      *pdst = c->addr;
    }
    return 0;
  }
  case PL_FRAME_PROBE_ACK:
    f.txid = o->txid;
    f.echo_time_us = o->echo_time_us;
    f.observed = o->observed;
    f.has_observed = o->has_observed;
    *pdst = o->dst;
    *pvia_tcp = o->via_tcp;
    return encode_for(p, &f, o->wrap, buf, cap, plen);
  case PL_FRAME_RELAY_BIND: {
    f.txid = p->next_txid++;
    int rv = encode_for(p, &f, 0, buf, cap, plen);
    if (rv == 0) {
      p->relay_binds_sent++;
      *pdst = o->dst;
    }
    return rv;
  }
  default: return PL_ERR_INVALID;
  }
}

int pl_punch_poll(pl_punch *p, uint64_t now, uint8_t *buf, size_t cap, size_t *plen,
                  struct sockaddr_storage *pdst, int *pvia_tcp) {
  if (now > p->last_now)
    p->last_now = now;
  pl_punch__tick(p, now);
  while (p->qlen > 0) {
    pl_punch__out o = p->queue[p->qhead];
    p->qhead = (p->qhead + 1) % PL_PUNCH__QUEUE;
    p->qlen--;
    if (emit(p, &o, now, buf, cap, plen, pdst, pvia_tcp) == 0)
      return 1;
  }
  return 0;
}

int pl_punch_route(const pl_punch *p, struct sockaddr_storage *pdst, int *pvia_tcp, int *pwrap) {
  int s = p->selected;
  if (p->closed || s < 0)
    return PL_ERR_STATE;
  *pwrap = s == PL_PUNCH__REL;
  *pvia_tcp = *pwrap && p->relay_state == PL_PUNCH__RELAY_TCP;
  memset(pdst, 0, sizeof *pdst);
  if (!*pvia_tcp)
    *pdst = *pwrap ? p->cfg.relay : p->cands[s].addr;
  return 0;
}

/* RELAY_DATA around the frame already at buf + PL_FRAME_RELAY_HEADROOM. */
static int wrap_in_place(pl_punch *p, uint8_t *buf, size_t cap, size_t innerlen, size_t *plen) {
  pl_frame outer;
  frame_init(p, &outer, PL_FRAME_RELAY_DATA);
  outer.seq = p->next_seq++;
  outer.payload = buf + PL_FRAME_RELAY_HEADROOM; /* already where the encoder puts it */
  outer.payloadlen = innerlen;
  return pl_frame_encode(buf, cap, plen, &outer, &p->keys);
}

int pl_punch_wrap(pl_punch *p, uint8_t *buf, size_t cap, size_t innerlen, size_t *plen) {
  if (innerlen == 0 || cap < PL_FRAME_RELAY_HEADROOM || innerlen > cap - PL_FRAME_RELAY_HEADROOM ||
      !pl_frame_is_ext(buf[PL_FRAME_RELAY_HEADROOM]))
    return PL_ERR_INVALID;
  return wrap_in_place(p, buf, cap, innerlen, plen);
}

const uint8_t *pl_punch_frame_key(const pl_punch *p) {
  return p->keys.frame;
}

static int send_frame(pl_punch *p, pl_frame *f, uint8_t *buf, size_t cap, size_t *plen,
                      struct sockaddr_storage *pdst, int *pvia_tcp) {
  int wrap;
  int rv = pl_punch_route(p, pdst, pvia_tcp, &wrap);
  if (rv != 0)
    return rv;
  return encode_for(p, f, wrap, buf, cap, plen);
}

int pl_punch_send_data(pl_punch *p, const uint8_t *payload, size_t len, uint64_t now, uint8_t *buf,
                       size_t cap, size_t *plen, struct sockaddr_storage *pdst, int *pvia_tcp) {
  if (now > p->last_now)
    p->last_now = now;
  int wrap;
  int rv = pl_punch_route(p, pdst, pvia_tcp, &wrap);
  if (rv != 0 || p->seal == NULL)
    return PL_ERR_STATE;
  if (len > PL_FRAME_MAX_PAYLOAD)
    return PL_ERR_TOO_BIG;
  if (buf == NULL || plen == NULL || (payload == NULL && len > 0))
    return PL_ERR_INVALID;
  /* Built where it ends up (inside RELAY_DATA when relayed), then sealed in place: the header
   * the encoder wrote is the associated data. */
  size_t off = wrap ? PL_FRAME_RELAY_HEADROOM : 0;
  size_t framelen = PL_FRAME_HEADER_LEN + len + PL_SEAL_TAG_LEN, sealedlen;
  if (cap < off + framelen + (wrap ? PL_FRAME_MAC_LEN : 0))
    return PL_ERR_TOO_BIG;
  uint8_t *frame = buf + off, *body = frame + PL_FRAME_HEADER_LEN;
  pl_frame f;
  frame_init(p, &f, PL_FRAME_DATA);
  f.seq = p->next_seq++;
  if (len)
    memcpy(body, payload, len);
  memset(body + len, 0, PL_SEAL_TAG_LEN);
  f.payload = body;
  f.payloadlen = len + PL_SEAL_TAG_LEN;
  if ((rv = pl_frame_encode(frame, cap - off, &framelen, &f, &p->keys)) != 0 ||
      (rv = pl_seal(p->seal, f.seq, frame, PL_FRAME_HEADER_LEN, body, len, body,
                    len + PL_SEAL_TAG_LEN, &sealedlen)) != 0)
    return rv == PL_ERR_STATE ? PL_ERR_CRYPTO : rv; /* a repeated seq would be our bug */
  if (!wrap) {
    *plen = framelen;
    return 0;
  }
  return wrap_in_place(p, buf, cap, framelen, plen);
}

int pl_punch_close(pl_punch *p, uint64_t now, uint8_t *buf, size_t cap, size_t *plen,
                   struct sockaddr_storage *pdst, int *pvia_tcp) {
  if (now > p->last_now)
    p->last_now = now;
  int rv = PL_ERR_STATE;
  if (!p->closed && p->selected >= 0) {
    pl_frame f;
    frame_init(p, &f, PL_FRAME_CLOSE);
    rv = send_frame(p, &f, buf, cap, plen, pdst, pvia_tcp);
  }
  p->closed = 1;
  p->selected = -1;
  p->qlen = 0;
  pl_punch__set_path(p);
  return rv;
}
