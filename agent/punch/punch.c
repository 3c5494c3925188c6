/* Punching: creation and the receive side (what each authenticated frame makes us do). */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "agent/punch/punch_impl.h"
#include "control/common/err.h"

#define DEFAULT_PROBE_US 50000
#define DEFAULT_KEEPALIVE_US 2000000
#define DEFAULT_DEAD_US 8000000
#define DEFAULT_RELAY_US 3000000

static const uint8_t zero_id[PL_FRAME_ID_LEN];

static int usable_family(const struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
}

/* `from` has been checked to be AF_INET or AF_INET6. */
static void to_storage(struct sockaddr_storage *ss, const struct sockaddr *from) {
  memset(ss, 0, sizeof *ss);
  memcpy(ss, from,
         from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
}

_Static_assert(PL_FRAME_SEAL_TAG_LEN == PL_SEAL_TAG_LEN, "DATA's tag is the seal's");
_Static_assert(PL_FRAME_ID_LEN == PL_SEAL_ID_LEN && PL_FRAME_PAIRING_LEN == PL_SEAL_PAIRING_LEN,
               "the seal binds the frame's IDs");

/* DATA's end-to-end keys, when the caller gave both agents' keys. */
static int derive_seal(pl_punch *p, const pl_punch_config *cfg) {
  if (cfg->self_key_der == NULL && cfg->peer_key_der == NULL)
    return 0;
  if (cfg->self_key_der == NULL || cfg->peer_key_der == NULL || !p->peer_known)
    return PL_ERR_INVALID;
  return pl_seal_keys_derive(&p->seal, cfg->self_key_der, cfg->self_key_der_len, cfg->peer_key_der,
                             cfg->peer_key_der_len, cfg->self_id, cfg->peer_id, cfg->pairing,
                             cfg->secret, cfg->secretlen);
}

int pl_punch_new(pl_punch **pp, const pl_punch_config *cfg) {
  if (pp == NULL || cfg == NULL || cfg->secret == NULL || cfg->n_local > PL_PUNCH_MAX_CANDIDATES ||
      cfg->n_remote > PL_PUNCH_MAX_CANDIDATES || (cfg->has_relay && !usable_family(&cfg->relay)) ||
      memcmp(cfg->self_id, zero_id, PL_FRAME_ID_LEN) == 0)
    return PL_ERR_INVALID;
  pl_punch *p = calloc(1, sizeof *p);
  if (p == NULL)
    return PL_ERR_NOMEM;
  int rv = pl_frame_keys_derive(&p->keys, cfg->secret, cfg->secretlen);
  if (rv != 0) {
    free(p);
    return rv == PL_ERR_CRYPTO ? rv : PL_ERR_INVALID;
  }
  p->peer_known = memcmp(cfg->peer_id, zero_id, PL_FRAME_ID_LEN) != 0;
  if ((rv = derive_seal(p, cfg)) != 0) {
    memset(&p->keys, 0, sizeof p->keys);
    free(p);
    return rv;
  }
  p->cfg = *cfg;
  /* The caller's buffers; the derived keys are all we need. */
  p->cfg.secret = p->cfg.self_key_der = p->cfg.peer_key_der = NULL;
  p->cfg.secretlen = p->cfg.self_key_der_len = p->cfg.peer_key_der_len = 0;
  if (p->cfg.probe_interval_us == 0)
    p->cfg.probe_interval_us = DEFAULT_PROBE_US;
  if (p->cfg.keepalive_interval_us == 0)
    p->cfg.keepalive_interval_us = DEFAULT_KEEPALIVE_US;
  if (p->cfg.dead_after_us == 0)
    p->cfg.dead_after_us = DEFAULT_DEAD_US;
  if (p->cfg.relay_after_us == 0)
    p->cfg.relay_after_us = DEFAULT_RELAY_US;
  p->next_seq = cfg->first_seq ? cfg->first_seq : 1;
  p->next_txid = 1;
  p->selected = -1;
  p->nominated = -1;
  for (size_t i = 0; i < cfg->n_remote; i++) {
    /* Unusable or repeated entries would only waste probes. */
    if (!usable_family(&cfg->remote[i]) || pl_punch__cand_find(p, &cfg->remote[i]) >= 0)
      continue;
    pl_punch__cand *c = &p->cands[p->n_direct++];
    c->addr = cfg->remote[i];
    c->used = 1;
  }
  pl_punch__cand *r = &p->cands[PL_PUNCH__REL];
  r->used = 1;
  r->addr = cfg->relay;
  *pp = p;
  return 0;
}

int pl_punch_add_remote(pl_punch *p, const struct sockaddr_storage *addr, uint64_t now) {
  if (!usable_family(addr))
    return PL_ERR_INVALID;
  if (pl_punch__cand_find(p, addr) >= 0)
    return 0;
  int i = pl_punch__cand_learn(p, addr, now);
  if (i < 0)
    return PL_ERR_FULL;
  p->cands[i].prflx = 0; /* signalled: never the slot a peer-reflexive one may take over */
  /* Probe it in the next round, now, and back off from there as a fresh start would. */
  if (p->started && (p->selected < 0 || p->selected == PL_PUNCH__REL)) {
    p->round_at = now;
    p->round_interval = pl_punch__probe_interval(p);
  }
  return 1;
}

void pl_punch_del(pl_punch *p) {
  if (p == NULL)
    return;
  memset(&p->keys, 0, sizeof p->keys);
  pl_seal_keys_del(p->seal);
  memset(p->plain, 0, sizeof p->plain);
  free(p);
}

/* The sender of a peer frame must be the peer: not us (our own frame reflected back), not the
 * relay's all-zero ID, not a third party. Learns the peer's ID when it was not configured. */
static int check_sender(pl_punch *p, const uint8_t sender[PL_FRAME_ID_LEN]) {
  if (memcmp(sender, p->cfg.self_id, PL_FRAME_ID_LEN) == 0 ||
      memcmp(sender, zero_id, PL_FRAME_ID_LEN) == 0)
    return PL_ERR_AUTH;
  if (p->peer_known && memcmp(sender, p->cfg.peer_id, PL_FRAME_ID_LEN) != 0)
    return PL_ERR_AUTH;
  return 0;
}

static int drop(pl_punch *p, int rv) {
  if (rv == PL_ERR_AUTH)
    p->stats.dropped_auth++;
  else if (rv == PL_ERR_PARSE)
    p->stats.dropped_parse++;
  return rv;
}

static int replayed(pl_punch *p) {
  p->stats.dropped_replay++;
  return PL_ERR_AUTH;
}

/* A DATA frame dropped for whatever reason is counted once, as DATA (PeerPath.data_dropped). */
static int drop_type(pl_punch *p, uint8_t type, int rv) {
  if (type != PL_FRAME_DATA)
    return drop(p, rv);
  p->stats.dropped_data++;
  return rv == PL_ERR_PARSE ? rv : PL_ERR_AUTH;
}

/* Only the peer holds the key its DATA is sealed under (the rendezvous, which knows the secret,
 * lacks the ECDH share): open before anything else in the frame is believed, the sequence
 * number included, so a forgery cannot move the replay window. */
static int open_data(pl_punch *p, const pl_frame *f, const uint8_t **ppayload,
                     size_t *ppayloadlen) {
  size_t n;
  if (p->seal == NULL || pl_open(p->seal, f->seq, f->header, PL_FRAME_HEADER_LEN, f->payload,
                                 f->payloadlen, p->plain, sizeof p->plain, &n) != 0)
    return drop_type(p, PL_FRAME_DATA, PL_ERR_AUTH);
  *ppayload = p->plain;
  *ppayloadlen = n;
  return 0;
}

static void on_probe(pl_punch *p, const pl_frame *f, int c, const struct sockaddr *from,
                     int via_relay, int via_tcp, uint64_t now) {
  pl_punch__out o;
  memset(&o, 0, sizeof o);
  o.type = PL_FRAME_PROBE_ACK;
  o.flags = f->flags & PL_PROBE_KEEPALIVE;
  o.txid = f->txid;
  o.echo_time_us = f->echo_time_us;
  o.wrap = via_relay;
  o.via_tcp = via_tcp;
  if (from != NULL && !via_tcp) {
    /* Answer where it came from: that is the address through the peer's NAT. */
    to_storage(&o.dst, from);
    if (!via_relay) {
      o.observed = o.dst;
      o.has_observed = 1;
    }
  }
  pl_punch__enqueue(p, &o);
  if (c < 0)
    return;
  pl_punch__cand *cand = &p->cands[c];
  cand->probes_received++;
  /* The peer reaches us from there, so our probe there should get through now too (ICE's
   * triggered check); rate-limited so a flood of probes does not become a flood of ours. */
  if (!cand->ok &&
      (cand->last_trigger == 0 || now >= cand->last_trigger + pl_punch__probe_interval(p))) {
    cand->last_trigger = now ? now : 1;
    pl_punch__enqueue_probe(p, c, 0);
  }
  if ((f->flags & PL_PROBE_NOMINATE) && !p->cfg.controlling && !via_relay && p->nominated != c) {
    p->nominated = c;
    pl_punch__reselect(p, now);
  }
}

static void on_ack(pl_punch *p, const pl_frame *f, uint64_t now) {
  for (size_t i = 0; i < PL_PUNCH__SENT; i++) {
    pl_punch__sent *s = &p->sent[i];
    if (!s->used || s->txid != f->txid)
      continue;
    s->used = 0; /* a duplicated ack must not count twice */
    if (p->cands[s->cand].gen != s->gen || !p->cands[s->cand].used)
      return;
    p->stats.acks_received++;
    pl_punch__acked(p, s->cand, now >= s->at ? now - s->at : 0, now);
    return;
  }
  /* Unknown txid: an ack older than the ring, or for a probe of a slot since reused. */
}

/* A frame between the two agents (received directly, or unwrapped from RELAY_DATA). */
static int on_peer_frame(pl_punch *p, const pl_frame *f, const struct sockaddr *from, int via_relay,
                         int via_tcp, uint64_t now, const uint8_t **ppayload, size_t *ppayloadlen) {
  int rv = check_sender(p, f->sender);
  if (rv != 0)
    return drop_type(p, f->type, rv);
  if (f->type == PL_FRAME_DATA && (rv = open_data(p, f, ppayload, ppayloadlen)) != 0)
    return rv;
  if (pl_replay_check(&p->replay_peer, f->seq) != 0)
    return f->type == PL_FRAME_DATA ? drop_type(p, f->type, PL_ERR_AUTH) : replayed(p);
  if (!p->peer_known) {
    memcpy(p->cfg.peer_id, f->sender, PL_FRAME_ID_LEN);
    p->peer_known = 1;
  }
  p->stats.frames_received++;

  int c = PL_PUNCH__REL;
  if (!via_relay) {
    struct sockaddr_storage ss;
    to_storage(&ss, from);
    /* Only a probe teaches us a new (peer-reflexive) address; other frames are answers. */
    c = f->type == PL_FRAME_PROBE ? pl_punch__cand_learn(p, &ss, now) : pl_punch__cand_find(p, &ss);
  }
  if (c >= 0)
    p->cands[c].last_rx = now;

  switch (f->type) {
  case PL_FRAME_PROBE: on_probe(p, f, c, from, via_relay, via_tcp, now); return 0;
  case PL_FRAME_PROBE_ACK: on_ack(p, f, now); return 0;
  case PL_FRAME_DATA: return 1; /* opened above */
  case PL_FRAME_CLOSE:
    p->closed = 1;
    p->peer_closed = 1;
    p->selected = -1;
    p->qlen = 0;
    pl_punch__set_path(p);
    return 0;
  default: return drop(p, PL_ERR_PARSE);
  }
}

static int on_bind_ack(pl_punch *p, const pl_frame *f, int via_tcp, uint64_t now) {
  /* The rendezvous signs as the all-zero ID with its own sequence numbers. */
  if (memcmp(f->sender, zero_id, PL_FRAME_ID_LEN) != 0)
    return drop(p, PL_ERR_AUTH);
  if (pl_replay_check(&p->replay_relay, f->seq) != 0)
    return replayed(p);
  if (via_tcp || f->txid < p->relay_bind_txid_min || f->txid >= p->next_txid)
    return 0; /* not an answer to a bind of this attempt */
  p->relay_bind_acks++;
  if (p->relay_state == PL_PUNCH__RELAY_BINDING) {
    p->relay_state = PL_PUNCH__RELAY_UDP;
    p->relay_rebind_at = now + PL_PUNCH__REBIND_US;
    p->relay_probe_at = now;
    p->relay_probe_interval = pl_punch__probe_interval(p);
  }
  return 0;
}

/* An extension frame inside RELAY_DATA: it authenticates itself (and suppresses its own
 * duplicates), so only the wrapper is checked here: the peer sent it, for this pairing. */
static int on_relayed_ext(pl_punch *p, const pl_frame *f, const uint8_t **ppayload,
                          size_t *ppayloadlen) {
  int rv = check_sender(p, f->sender);
  if (rv != 0 || !p->peer_known)
    return drop(p, PL_ERR_AUTH);
  if (memcmp(f->payload + 2, p->cfg.pairing, PL_FRAME_PAIRING_LEN) != 0)
    return drop(p, PL_ERR_AUTH);
  *ppayload = f->payload;
  *ppayloadlen = f->payloadlen;
  return 2;
}

int pl_punch_recv(pl_punch *p, const struct sockaddr *from, int via_tcp, const uint8_t *data,
                  size_t len, uint64_t now, const uint8_t **ppayload, size_t *ppayloadlen) {
  pl_frame f;
  if (now > p->last_now)
    p->last_now = now;
  if (p->closed)
    return 0;
  if (!via_tcp && (from == NULL || (from->sa_family != AF_INET && from->sa_family != AF_INET6)))
    return drop(p, PL_ERR_PARSE);
  int rv = pl_frame_parse(&f, data, len, &p->keys);
  if (rv != 0)
    return drop_type(p, len ? data[0] : 0, rv);
  /* Authenticated under our keys but another pairing's ID: not ours to act on. */
  if (memcmp(f.pairing, p->cfg.pairing, PL_FRAME_PAIRING_LEN) != 0)
    return drop_type(p, f.type, PL_ERR_AUTH);

  switch (f.type) {
  case PL_FRAME_RELAY_BIND_ACK: return on_bind_ack(p, &f, via_tcp, now);
  case PL_FRAME_RELAY_DATA: {
    pl_frame inner;
    if (pl_frame_is_ext(f.payload[0]))
      return on_relayed_ext(p, &f, ppayload, ppayloadlen);
    if ((rv = pl_frame_parse(&inner, f.payload, f.payloadlen, &p->keys)) != 0)
      return drop_type(p, f.payload[0], rv);
    /* The relay checked the outer sender; the inner one is what the peer signed. */
    if (memcmp(inner.sender, f.sender, PL_FRAME_ID_LEN) != 0 ||
        memcmp(inner.pairing, f.pairing, PL_FRAME_PAIRING_LEN) != 0)
      return drop_type(p, inner.type, PL_ERR_AUTH);
    rv = on_peer_frame(p, &inner, from, 1, via_tcp, now, ppayload, ppayloadlen);
    /* The rendezvous uses our stream only when it has no UDP binding for us: UDP to it is not
     * getting through, so stop waiting for the bind timeout. */
    if (rv >= 0 && via_tcp && p->relay_state == PL_PUNCH__RELAY_BINDING && p->cfg.relay_tcp)
      pl_punch__relay_use_tcp(p, now);
    return rv;
  }
  case PL_FRAME_RELAY_BIND: /* agent → rendezvous only */ return drop(p, PL_ERR_PARSE);
  default:
    if (via_tcp) /* the stream carries only relay frames */
      return drop(p, PL_ERR_PARSE);
    return on_peer_frame(p, &f, from, 0, 0, now, ppayload, ppayloadlen);
  }
}
