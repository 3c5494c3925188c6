/* Relay decisions. The relay never looks inside RELAY_DATA: the inner frame is the two agents'
 * business, authenticated end to end under their frame key. What the relay checks is its own
 * wrapper: pairing, membership, MAC under the relay key, freshness. */
#include "control/rendezvous/relay.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "control/common/err.h"

static const char *const drop_names[PL_RDV_RELAY_DROP_COUNT] = {
    [PL_RDV_RELAY_DROP_NONE] = "none",
    [PL_RDV_RELAY_DROP_NOT_OURS] = "not_ours",
    [PL_RDV_RELAY_DROP_STUN] = "stun",
    [PL_RDV_RELAY_DROP_PARSE] = "parse",
    [PL_RDV_RELAY_DROP_TYPE] = "type",
    [PL_RDV_RELAY_DROP_UNKNOWN_PAIRING] = "unknown_pairing",
    [PL_RDV_RELAY_DROP_AUTH] = "auth",
    [PL_RDV_RELAY_DROP_NOT_MEMBER] = "not_member",
    [PL_RDV_RELAY_DROP_REPLAY] = "replay",
    [PL_RDV_RELAY_DROP_UNBOUND] = "unbound",
    [PL_RDV_RELAY_DROP_PEER_GONE] = "peer_gone",
    [PL_RDV_RELAY_DROP_BACKLOG] = "backlog",
    [PL_RDV_RELAY_DROP_SEND] = "send",
};

const char *pl_rdv_relay_drop_name(pl_rdv_relay_drop reason) {
  return (unsigned)reason < PL_RDV_RELAY_DROP_COUNT ? drop_names[reason] : "unknown";
}

void pl_rdv_relay_drop_as(pl_rdv_relay_out *out, pl_rdv_relay_drop reason) {
  memset(out, 0, sizeof *out);
  out->action = PL_RDV_RELAY_DROP;
  out->reason = reason;
}

static int drop(pl_rdv_relay_out *out, pl_rdv_relay_drop reason) {
  pl_rdv_relay_drop_as(out, reason);
  return 0;
}

static size_t sockaddr_len(const struct sockaddr *sa) {
  return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Picks the other side's way in: its UDP binding if it has one, else its Register stream. */
static int forward(const pl_rdv_pairing *p, int from_side, const uint8_t *data, size_t len,
                   pl_rdv_relay_out *out) {
  const pl_rdv_pairing_side *dst = &p->side[1 - from_side];
  memset(out, 0, sizeof *out);
  out->data = data;
  out->len = len;
  out->pairing = p;
  if (dst->bound) {
    out->action = PL_RDV_RELAY_TO_UDP;
    out->to = dst->addr;
    return 0;
  }
  if (dst->member && dst->member->owner) {
    out->action = PL_RDV_RELAY_TO_STREAM;
    out->member = dst->member;
    return 0;
  }
  return drop(out, PL_RDV_RELAY_DROP_PEER_GONE);
}

/* Finds the pairing and authenticates the frame under its relay key. Returns the sender's side
 * (0 or 1), or -1 with *out set to the drop. */
static int authenticate(pl_rdv_pairings *t, const uint8_t *data, size_t len, pl_frame *f,
                        pl_rdv_pairing **pp, pl_rdv_relay_out *out) {
  uint8_t type, pairing[PL_FRAME_PAIRING_LEN];
  if (pl_frame_peek(data, len, &type, pairing) != 0)
    return drop(out, PL_RDV_RELAY_DROP_PARSE), -1;
  if (type != PL_FRAME_RELAY_BIND && type != PL_FRAME_RELAY_DATA)
    return drop(out, PL_RDV_RELAY_DROP_TYPE), -1;
  pl_rdv_pairing *p = pl_rdv_pairings_find(t, pairing);
  if (p == NULL)
    return drop(out, PL_RDV_RELAY_DROP_UNKNOWN_PAIRING), -1;
  int rv = pl_frame_parse(f, data, len, &p->keys);
  if (rv != 0)
    return drop(out, rv == PL_ERR_AUTH ? PL_RDV_RELAY_DROP_AUTH : PL_RDV_RELAY_DROP_PARSE), -1;
  /* peek and parse read the same bytes; a parser disagreeing with itself must not matter. */
  if (f->type != type || memcmp(f->pairing, p->id, sizeof f->pairing) != 0)
    return drop(out, PL_RDV_RELAY_DROP_PARSE), -1;
  int side = pl_rdv_pairing_side_by_id(p, f->sender);
  if (side < 0)
    return drop(out, PL_RDV_RELAY_DROP_NOT_MEMBER), -1;
  *pp = p;
  return side;
}

static int on_bind(pl_rdv_pairing *p, int side, const pl_frame *f, const struct sockaddr *from,
                   uint8_t *buf, size_t cap, pl_rdv_relay_out *out) {
  pl_rdv_pairing_side *s = &p->side[side];
  /* A reordered older bind is still answered but must not move the binding back. */
  int newest = !s->bind_replay.started || f->seq > s->bind_replay.top;
  if (pl_replay_check(&s->bind_replay, f->seq) != 0)
    return drop(out, PL_RDV_RELAY_DROP_REPLAY);
  if (newest) {
    memset(&s->addr, 0, sizeof s->addr);
    memcpy(&s->addr, from, sockaddr_len(from));
    s->bound = 1;
  }
  pl_frame ack;
  memset(&ack, 0, sizeof ack);
  ack.type = PL_FRAME_RELAY_BIND_ACK;
  memcpy(ack.pairing, p->id, sizeof ack.pairing);
  /* The relay speaks as the all-zero ID with its own sequence numbers (the agents keep a replay
   * window for it); the echoed txid says which bind this answers. */
  ack.seq = ++p->relay_seq;
  ack.txid = f->txid;
  memcpy(&ack.observed, from, sockaddr_len(from));
  ack.has_observed = 1;
  size_t n;
  if (pl_frame_encode(buf, cap, &n, &ack, &p->keys) != 0)
    return drop(out, PL_RDV_RELAY_DROP_SEND);
  memset(out, 0, sizeof *out);
  out->action = PL_RDV_RELAY_REPLY;
  out->data = buf;
  out->len = n;
  out->pairing = p;
  memcpy(&out->to, from, sockaddr_len(from));
  return 0;
}

int pl_rdv_relay_recv_udp(pl_rdv_pairings *t, const struct sockaddr *from, const uint8_t *data,
                          size_t len, uint8_t *buf, size_t cap, pl_rdv_relay_out *out) {
  pl_frame f;
  pl_rdv_pairing *p;
  if (from->sa_family != AF_INET && from->sa_family != AF_INET6)
    return drop(out, PL_RDV_RELAY_DROP_NOT_OURS);
  int side = authenticate(t, data, len, &f, &p, out);
  if (side < 0)
    return 0;
  if (f.type == PL_FRAME_RELAY_BIND)
    return on_bind(p, side, &f, from, buf, cap, out);
  pl_rdv_pairing_side *s = &p->side[side];
  if (!s->bound)
    return drop(out, PL_RDV_RELAY_DROP_UNBOUND);
  int newest = !s->data_replay.started || f.seq > s->data_replay.top;
  if (pl_replay_check(&s->data_replay, f.seq) != 0)
    return drop(out, PL_RDV_RELAY_DROP_REPLAY);
  /* Authenticated and fresh: the sender's NAT mapping moved (WireGuard-style roaming). */
  if (newest) {
    memset(&s->addr, 0, sizeof s->addr);
    memcpy(&s->addr, from, sockaddr_len(from));
  }
  return forward(p, side, data, len, out);
}

int pl_rdv_relay_recv_stream(pl_rdv_pairings *t, pl_rdv_pairing_member *m,
                             const char *pairing_id_hex, const uint8_t *data, size_t len,
                             pl_rdv_relay_out *out) {
  pl_frame f;
  pl_rdv_pairing *p = pl_rdv_pairings_find_hex(t, pairing_id_hex);
  if (p == NULL)
    return drop(out, PL_RDV_RELAY_DROP_UNKNOWN_PAIRING);
  int own = pl_rdv_pairing_side_of(p, m);
  if (own < 0)
    return drop(out, PL_RDV_RELAY_DROP_NOT_MEMBER);
  pl_rdv_pairing *q;
  int side = authenticate(t, data, len, &f, &q, out);
  if (side < 0)
    return 0;
  /* A bind has no meaning on a stream; and a stream speaks only for its own agent. */
  if (f.type != PL_FRAME_RELAY_DATA)
    return drop(out, PL_RDV_RELAY_DROP_TYPE);
  if (q != p || side != own)
    return drop(out, PL_RDV_RELAY_DROP_NOT_MEMBER);
  if (pl_replay_check(&p->side[side].data_replay, f.seq) != 0)
    return drop(out, PL_RDV_RELAY_DROP_REPLAY);
  return forward(p, side, data, len, out);
}

void pl_rdv_relay_count(pl_rdv_relay_stats *s, const pl_rdv_relay_out *out) {
  switch (out->action) {
  case PL_RDV_RELAY_DROP:
    s->dropped[(unsigned)out->reason < PL_RDV_RELAY_DROP_COUNT ? out->reason : 0]++;
    break;
  case PL_RDV_RELAY_REPLY: s->binds++; break;
  case PL_RDV_RELAY_TO_UDP: s->forwarded_udp++; break;
  case PL_RDV_RELAY_TO_STREAM: s->forwarded_stream++; break;
  }
}

void pl_rdv_relay_stats_format(const pl_rdv_relay_stats *s, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "stun=%llu binds=%llu fwd_udp=%llu fwd_stream=%llu",
                   (unsigned long long)s->stun_answered, (unsigned long long)s->binds,
                   (unsigned long long)s->forwarded_udp, (unsigned long long)s->forwarded_stream);
  for (int i = 1; i < PL_RDV_RELAY_DROP_COUNT && n >= 0 && (size_t)n < cap; i++)
    if (s->dropped[i])
      n += snprintf(buf + n, cap - (size_t)n, " drop_%s=%llu", drop_names[i],
                    (unsigned long long)s->dropped[i]);
}
