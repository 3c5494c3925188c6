/* Punching: candidates, which path is selected and why, and the account of what was tried. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "agent/punch/punch_impl.h"
#include "control/common/err.h"

/* An IPv4 address and its IPv4-mapped IPv6 form are the same peer (dual-stack sockets). */
static int v4_of(const struct sockaddr_storage *ss, uint32_t *ip, uint16_t *port) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    memcpy(ip, &s->sin_addr, 4);
    *port = s->sin_port;
    return 1;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
    if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
      memcpy(ip, s->sin6_addr.s6_addr + 12, 4);
      *port = s->sin6_port;
      return 1;
    }
  }
  return 0;
}

int pl_punch__addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  uint32_t ia = 0, ib = 0;
  uint16_t pa = 0, pb = 0;
  int va = v4_of(a, &ia, &pa), vb = v4_of(b, &ib, &pb);
  if (va || vb)
    return va && vb && ia == ib && pa == pb;
  if (a->ss_family != AF_INET6 || b->ss_family != AF_INET6)
    return 0;
  const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
  const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
  return x->sin6_port == y->sin6_port &&
         memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
         x->sin6_scope_id == y->sin6_scope_id;
}

int pl_punch__cand_find(const pl_punch *p, const struct sockaddr_storage *addr) {
  for (size_t i = 0; i < p->n_direct; i++)
    if (p->cands[i].used && pl_punch__addr_equal(&p->cands[i].addr, addr))
      return (int)i;
  return -1;
}

int pl_punch__cand_learn(pl_punch *p, const struct sockaddr_storage *addr, uint64_t now) {
  int i = pl_punch__cand_find(p, addr);
  if (i >= 0)
    return i;
  if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
    return -1;
  if (p->n_direct < PL_PUNCH__MAX_DIRECT) {
    i = (int)p->n_direct++;
  } else {
    /* Full: reuse the oldest peer-reflexive slot that is not carrying the path. */
    for (size_t j = 0; j < p->n_direct; j++) {
      const pl_punch__cand *c = &p->cands[j];
      if (c->prflx && (int)j != p->selected && (int)j != p->nominated &&
          (i < 0 || c->added_at < p->cands[i].added_at))
        i = (int)j;
    }
    if (i < 0)
      return -1;
  }
  pl_punch__cand *c = &p->cands[i];
  uint32_t gen = c->gen + 1;
  memset(c, 0, sizeof *c);
  c->gen = gen;
  c->addr = *addr;
  c->used = 1;
  c->prflx = 1;
  c->added_at = now;
  return i;
}

static int is_direct(int i) {
  return i >= 0 && i < PL_PUNCH__REL;
}

void pl_punch__acked(pl_punch *p, int i, uint64_t rtt, uint64_t now) {
  pl_punch__cand *c = &p->cands[i];
  c->acks++;
  c->ok = 1;
  c->last_rx = now;
  if (rtt == 0)
    rtt = 1; /* 0 means "no sample yet" */
  /* RFC 6298 smoothing, as TCP does: one late ack must not flip the choice of path. */
  c->srtt = c->srtt == 0 ? rtt : (7 * c->srtt + rtt) / 8;
  pl_punch__reselect(p, now);
}

/* Should direct candidate i replace direct candidate cur? */
static int better_direct(const pl_punch *p, int i, int cur) {
  /* The controlled side follows the controlling side's nomination, so both use one pair. */
  if (!p->cfg.controlling && p->nominated >= 0)
    return i == p->nominated && cur != p->nominated;
  /* A clear margin: RTT noise between two similar pairs must not make the path flap. */
  return p->cands[i].srtt * 4 < p->cands[cur].srtt * 3;
}

void pl_punch__reselect(pl_punch *p, uint64_t now) {
  int best = p->selected;
  for (size_t i = 0; i < p->n_direct; i++) {
    if (!p->cands[i].used || !p->cands[i].ok || (int)i == best)
      continue;
    if (!is_direct(best) || better_direct(p, (int)i, best))
      best = (int)i;
  }
  if (best < 0 && p->cands[PL_PUNCH__REL].ok)
    best = PL_PUNCH__REL;
  if (best == p->selected)
    return;
  int was_direct = is_direct(p->selected);
  p->selected = best;
  p->cands[best].last_rx = now;
  p->keepalive_at = now + p->cfg.keepalive_interval_us;
  if (is_direct(best)) {
    if (!was_direct)
      p->direct_since = now;
    /* Direct beats relay: stop feeding the relay; it is bound again if direct dies. */
    p->relay_state = PL_PUNCH__RELAY_IDLE;
    p->cands[PL_PUNCH__REL].ok = 0;
  } else {
    /* On the relay: keep trying direct pairs, slower, so the path can upgrade. */
    p->round_interval = pl_punch__max_interval(p) * 2;
  }
  if (p->path.connected_after_us == 0) {
    uint64_t t = now > p->cfg.start_us ? now - p->cfg.start_us : 0;
    p->path.connected_after_us = t ? t : 1;
  }
  pl_punch__set_path(p);
}

void pl_punch__set_path(pl_punch *p) {
  pl_punch_path old = p->path;
  p->path.kind = PL_PATH_NONE;
  memset(&p->path.remote, 0, sizeof p->path.remote);
  p->path.rtt_us = 0;
  int s = p->selected;
  if (is_direct(s)) {
    p->path.kind = PL_PATH_DIRECT;
    p->path.remote = p->cands[s].addr;
  } else if (s == PL_PUNCH__REL) {
    p->path.kind = p->relay_state == PL_PUNCH__RELAY_TCP ? PL_PATH_RELAY_TCP : PL_PATH_RELAY_UDP;
    if (p->path.kind == PL_PATH_RELAY_UDP)
      p->path.remote = p->cfg.relay;
  }
  if (s >= 0)
    p->path.rtt_us = p->cands[s].srtt;
  p->path.closed = p->closed;
  if (old.kind != p->path.kind || old.closed != p->path.closed ||
      (p->path.kind != PL_PATH_NONE && !pl_punch__addr_equal(&old.remote, &p->path.remote)))
    p->path_changed = 1;
}

void pl_punch__schedule(pl_punch *p, uint64_t now) {
  p->round_at = now;
  p->round_interval = pl_punch__probe_interval(p);
  p->relay_at = now + p->cfg.relay_after_us;
}

void pl_punch__restart(pl_punch *p, uint64_t now) {
  pl_punch__schedule(p, now);
  p->relay_state = PL_PUNCH__RELAY_IDLE;
  for (size_t i = 0; i <= PL_PUNCH__REL; i++)
    p->cands[i].ok = 0;
}

void pl_punch__path_dead(pl_punch *p, uint64_t now) {
  p->selected = -1;
  p->nominated = -1;
  p->restarts++;
  pl_punch__restart(p, now);
  pl_punch__set_path(p);
}

int pl_punch_path_get(pl_punch *p, pl_punch_path *path) {
  if (p->selected >= 0)
    p->path.rtt_us = p->cands[p->selected].srtt;
  *path = p->path;
  int changed = p->path_changed;
  p->path_changed = 0;
  return changed;
}

void pl_punch_stats_get(const pl_punch *p, pl_punch_stats *stats) {
  *stats = p->stats;
}

int pl_punch_peer_id(const pl_punch *p, uint8_t id[PL_FRAME_ID_LEN]) {
  if (!p->peer_known)
    return PL_ERR_NOT_FOUND;
  memcpy(id, p->cfg.peer_id, PL_FRAME_ID_LEN);
  return 0;
}

/* --- description -------------------------------------------------------------------------- */

typedef struct out {
  char *buf;
  size_t cap, len;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt, ...) {
  if (o->len + 1 >= o->cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n > 0)
    o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
}

static void put_addr(out *o, const struct sockaddr_storage *ss) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
    put(o, "%s:%u", ip, ntohs(s->sin_port));
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
    put(o, "[%s]:%u", ip, ntohs(s->sin6_port));
  } else {
    put(o, "(none)");
  }
}

static const char *kind_name(pl_path_kind k) {
  switch (k) {
  case PL_PATH_DIRECT: return "direct";
  case PL_PATH_RELAY_UDP: return "relay over UDP";
  case PL_PATH_RELAY_TCP: return "relay over the rendezvous stream";
  default: return "none";
  }
}

void pl_punch_describe(const pl_punch *p, char *buf, size_t cap) {
  out o = {buf, cap, 0};
  if (buf == NULL || cap == 0)
    return;
  buf[0] = '\0';
  if (!p->started) {
    put(&o, "probing not started yet; ");
  }
  put(&o, "%zu peer candidate%s", p->n_direct, p->n_direct == 1 ? "" : "s");
  for (size_t i = 0; i < p->n_direct; i++) {
    const pl_punch__cand *c = &p->cands[i];
    put(&o, "%s", i == 0 ? ": " : ", ");
    put_addr(&o, &c->addr);
    put(&o, " (%s%llu probes, %llu acks, %llu probes received)", c->prflx ? "peer-reflexive, " : "",
        (unsigned long long)c->probes_sent, (unsigned long long)c->acks,
        (unsigned long long)c->probes_received);
  }
  if (p->cfg.has_relay || p->cfg.relay_tcp) {
    const pl_punch__cand *r = &p->cands[PL_PUNCH__REL];
    put(&o, "; relay");
    if (p->cfg.has_relay) {
      put(&o, " ");
      put_addr(&o, &p->cfg.relay);
    }
    if (!p->relay_tried_udp && !p->relay_tried_tcp)
      put(&o, ": not tried (it starts %llu ms without a direct path)",
          (unsigned long long)(p->cfg.relay_after_us / 1000));
    if (p->relay_tried_udp)
      put(&o, ": %llu binds, %llu answered", (unsigned long long)p->relay_binds_sent,
          (unsigned long long)p->relay_bind_acks);
    if (p->relay_tried_tcp)
      put(&o, "%s over the rendezvous stream", p->relay_tried_udp ? ", then" : ":");
    if (p->relay_tried_udp || p->relay_tried_tcp)
      put(&o, ", %llu probes through it, %llu acks", (unsigned long long)r->probes_sent,
          (unsigned long long)r->acks);
  } else {
    put(&o, "; no relay");
  }
  put(&o,
      "; probes sent %llu, acks %llu, frames received %llu, dropped: %llu auth, %llu replay, "
      "%llu malformed; restarts %llu; path %s",
      (unsigned long long)p->stats.probes_sent, (unsigned long long)p->stats.acks_received,
      (unsigned long long)p->stats.frames_received, (unsigned long long)p->stats.dropped_auth,
      (unsigned long long)p->stats.dropped_replay, (unsigned long long)p->stats.dropped_parse,
      (unsigned long long)p->restarts, kind_name(p->path.kind));
  if (p->closed)
    put(&o, " (closed%s)", p->peer_closed ? " by the peer" : "");
}
