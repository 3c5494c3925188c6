/* STUN client rounds and NAT behaviour (see stun_client.h and docs/stun.md). I/O-free. */
#include "agent/stun_client.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "agent/wire/stun.h"
#include "control/common/err.h"
#include "control/common/random.h"
#include "peerlink/v1/common.pb-c.h"

typedef enum {
  TX_IDLE,     /* before the first round */
  TX_PENDING,  /* sending or waiting */
  TX_ANSWERED, /* success: `mapped` holds the answer */
  TX_REFUSED,  /* an error response: the server is reachable but gave no mapping */
  TX_TIMEDOUT,
} tx_state;

typedef struct server {
  struct sockaddr_storage addr;
  tx_state state;
  int has_txid;
  pl_stun_txid txid;
  unsigned sent;
  uint64_t wait; /* interval after the next send */
  uint64_t due;  /* the next send; after the last one, when to give up */
  struct sockaddr_storage mapped;
} server;

struct pl_stun_client {
  server srv[PL_STUN_CLIENT_MAX_SERVERS];
  size_t nsrv;
  struct sockaddr_storage local[PL_STUN_CLIENT_MAX_LOCAL];
  size_t nlocal;
  uint64_t rto, recheck;
  unsigned rc, rm;
  int started, in_round;
  unsigned rounds_done;
  uint64_t round_start, next_round;
  int mapped_from; /* index of the server the mapped address came from; -1: none */
  struct sockaddr_storage mapped;
  int behavior;
  int changed;
};

/* Address and port as 16 bytes + port, IPv4 as IPv4-mapped IPv6, so that a dual-stack socket's
 * ::ffff:a.b.c.d compares equal to a.b.c.d. Returns 0 for other families. */
static int normalize(const struct sockaddr *sa, uint8_t a[16], uint16_t *port) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
    memset(a, 0, 10);
    a[10] = a[11] = 0xFF;
    memcpy(a + 12, &sin->sin_addr, 4);
    *port = sin->sin_port;
    return 1;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
    memcpy(a, &sin6->sin6_addr, 16);
    *port = sin6->sin6_port;
    return 1;
  }
  return 0;
}

static int same_addr(const struct sockaddr *x, const struct sockaddr *y) {
  uint8_t ax[16], ay[16];
  uint16_t px, py;
  return normalize(x, ax, &px) && normalize(y, ay, &py) && px == py && !memcmp(ax, ay, 16);
}

#define SA(ss) ((const struct sockaddr *)(ss))

static int is_local(const pl_stun_client *c, const struct sockaddr_storage *a) {
  for (size_t i = 0; i < c->nlocal; i++)
    if (same_addr(SA(&c->local[i]), SA(a)))
      return 1;
  return 0;
}

static int new_txid(pl_stun_txid *t) {
  return pl_random_bytes(t->b, sizeof t->b);
}

int pl_stun_client_new(pl_stun_client **pc, const struct sockaddr_storage *servers, size_t nservers,
                       uint64_t recheck_us) {
  if (!pc || !servers || nservers == 0 || nservers > PL_STUN_CLIENT_MAX_SERVERS)
    return PL_ERR_INVALID;
  for (size_t i = 0; i < nservers; i++)
    if (servers[i].ss_family != AF_INET && servers[i].ss_family != AF_INET6)
      return PL_ERR_INVALID;
  pl_stun_client *c = calloc(1, sizeof *c);
  if (!c)
    return PL_ERR_NOMEM;
  for (size_t i = 0; i < nservers; i++) {
    size_t j = 0;
    while (j < c->nsrv && !same_addr(SA(&c->srv[j].addr), SA(&servers[i])))
      j++;
    if (j == c->nsrv)
      c->srv[c->nsrv++].addr = servers[i];
  }
  c->rto = PL_STUN_CLIENT_RTO_US;
  c->rc = PL_STUN_CLIENT_RC;
  c->rm = PL_STUN_CLIENT_RM;
  c->recheck = recheck_us;
  c->mapped_from = -1;
  c->behavior = PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN;
  *pc = c;
  return 0;
}

void pl_stun_client_del(pl_stun_client *c) {
  free(c);
}

int pl_stun_client_set_timing(pl_stun_client *c, uint64_t rto_us, unsigned rc, unsigned rm) {
  /* Bounds keep RTO x 2^(Rc-1) far from overflowing. */
  if (!c || rto_us == 0 || rto_us > 60000000u || rc == 0 || rc > 20 || rm == 0 || rm > 64)
    return PL_ERR_INVALID;
  if (c->started)
    return PL_ERR_STATE;
  c->rto = rto_us;
  c->rc = rc;
  c->rm = rm;
  return 0;
}

static void set_mapped(pl_stun_client *c, int i) {
  if (c->mapped_from < 0 || !same_addr(SA(&c->mapped), SA(&c->srv[i].mapped)))
    c->changed = 1;
  c->mapped = c->srv[i].mapped;
  c->mapped_from = i;
}

/* Recomputes the results from the answers of the current (or, between rounds, the last)
 * round. Called after every change of a transaction's state. */
static void evaluate(pl_stun_client *c) {
  int round_over = !c->in_round && c->rounds_done > 0;
  int first_ok = -1;
  size_t nok = 0, nlocal = 0, nrefused = 0;
  int same = 1;
  for (size_t i = 0; i < c->nsrv; i++) {
    const server *s = &c->srv[i];
    if (s->state == TX_REFUSED)
      nrefused++;
    if (s->state != TX_ANSWERED)
      continue;
    nok++;
    nlocal += (size_t)is_local(c, &s->mapped);
    if (first_ok < 0)
      first_ok = (int)i;
    else if (!same_addr(SA(&c->srv[first_ok].mapped), SA(&s->mapped)))
      same = 0;
  }

  /* Stay with the server that gave the current address while it may still answer: an
   * endpoint-dependent NAT maps each server differently. */
  int from = c->mapped_from;
  if (from >= 0 && c->srv[from].state == TX_ANSWERED) {
    set_mapped(c, from);
  } else if (from >= 0 && c->srv[from].state == TX_PENDING) {
    /* wait for it */
  } else if (first_ok >= 0) {
    set_mapped(c, first_ok);
  } else if (round_over && from >= 0) {
    c->mapped_from = -1;
    c->changed = 1;
  }

  int b = c->behavior;
  if (nok > 0 && nlocal == nok)
    b = PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_OPEN;
  else if (nok >= 2)
    b = same ? PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT
             : PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_DEPENDENT;
  else if (round_over && nok == 0)
    b = nrefused ? PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN
                 : PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UDP_BLOCKED;
  else if (round_over && b != PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_INDEPENDENT &&
           b != PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_ENDPOINT_DEPENDENT)
    /* One answer alone contradicts OPEN and UDP_BLOCKED but cannot tell EIM from EDM; an
     * earlier round's EIM/EDM verdict stands. */
    b = PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN;
  if (b != c->behavior) {
    c->behavior = b;
    c->changed = 1;
  }
}

int pl_stun_client_add_local(pl_stun_client *c, const struct sockaddr *local) {
  if (!c || !local)
    return PL_ERR_INVALID;
  size_t len;
  if (local->sa_family == AF_INET)
    len = sizeof(struct sockaddr_in);
  else if (local->sa_family == AF_INET6)
    len = sizeof(struct sockaddr_in6);
  else
    return PL_ERR_INVALID;
  if (c->nlocal == PL_STUN_CLIENT_MAX_LOCAL)
    return PL_ERR_TOO_BIG;
  memset(&c->local[c->nlocal], 0, sizeof c->local[0]);
  memcpy(&c->local[c->nlocal++], local, len);
  evaluate(c);
  return 0;
}

int pl_stun_client_set_local(pl_stun_client *c, const struct sockaddr *local) {
  if (!c)
    return PL_ERR_INVALID;
  c->nlocal = 0;
  if (local)
    return pl_stun_client_add_local(c, local);
  evaluate(c);
  return 0;
}

static void start_round(pl_stun_client *c, uint64_t now) {
  c->in_round = 1;
  c->round_start = now;
  for (size_t i = 0; i < c->nsrv; i++) {
    server *s = &c->srv[i];
    s->state = TX_PENDING;
    s->has_txid = 0; /* a fresh one at the first send: late answers to old ones are not ours */
    s->sent = 0;
    s->wait = c->rto;
    s->due = now;
  }
}

void pl_stun_client_start(pl_stun_client *c, uint64_t now) {
  if (!c)
    return;
  c->started = 1;
  start_round(c, now);
}

/* After a transaction ended: close the round when it was the last, then re-evaluate. */
static void transaction_done(pl_stun_client *c, uint64_t now) {
  size_t pending = 0;
  for (size_t i = 0; i < c->nsrv; i++)
    pending += c->srv[i].state == TX_PENDING;
  if (pending == 0 && c->in_round) {
    c->in_round = 0;
    c->rounds_done++;
    uint64_t next = c->round_start + c->recheck;
    c->next_round = next > now ? next : now;
  }
  evaluate(c);
}

static void expire(pl_stun_client *c, uint64_t now) {
  int any = 0;
  for (size_t i = 0; i < c->nsrv; i++) {
    server *s = &c->srv[i];
    if (s->state == TX_PENDING && s->sent >= c->rc && now >= s->due) {
      s->state = TX_TIMEDOUT;
      any = 1;
    }
  }
  if (any)
    transaction_done(c, now);
}

int pl_stun_client_poll(pl_stun_client *c, uint64_t now, uint8_t *buf, size_t cap, size_t *plen,
                        struct sockaddr_storage *pdst) {
  if (!c || !buf || !plen || !pdst)
    return PL_ERR_INVALID;
  if (!c->started)
    return 0;
  if (c->in_round)
    expire(c, now);
  if (!c->in_round && c->recheck && now >= c->next_round)
    start_round(c, now);
  if (!c->in_round)
    return 0;
  for (size_t i = 0; i < c->nsrv; i++) {
    server *s = &c->srv[i];
    if (s->state != TX_PENDING || s->sent >= c->rc || s->due > now)
      continue;
    if (!s->has_txid) {
      int rv = new_txid(&s->txid);
      if (rv != 0)
        return rv;
      s->has_txid = 1;
    }
    int rv = pl_stun_encode_request(buf, cap, plen, &s->txid);
    if (rv != 0)
      return rv;
    *pdst = s->addr;
    s->sent++;
    if (s->sent < c->rc) {
      s->due = now + s->wait;
      s->wait *= 2;
    } else {
      s->due = now + (uint64_t)c->rm * c->rto; /* RFC 8489: Rm times the initial RTO */
    }
    return 1;
  }
  return 0;
}

int pl_stun_client_recv(pl_stun_client *c, const struct sockaddr *from, const uint8_t *data,
                        size_t len, uint64_t now) {
  if (!c || !from)
    return PL_ERR_INVALID;
  pl_stun_msg m;
  if (pl_stun_parse(&m, data, len) != 0)
    return PL_ERR_PARSE;
  if (m.type != PL_STUN_BINDING_SUCCESS && m.type != PL_STUN_BINDING_ERROR)
    return PL_ERR_NOT_FOUND;
  server *s = NULL;
  for (size_t i = 0; i < c->nsrv && !s; i++) {
    server *t = &c->srv[i];
    if (t->state == TX_PENDING && t->has_txid && !memcmp(t->txid.b, m.txid.b, sizeof m.txid.b) &&
        same_addr(from, SA(&t->addr)))
      s = t;
  }
  if (!s)
    return PL_ERR_NOT_FOUND;
  /* RFC 8489 6.3.3/6.3.4: such responses are discarded; a good one may still come. */
  if (m.unknown_required || (m.type == PL_STUN_BINDING_SUCCESS && !m.has_mapped))
    return PL_ERR_PARSE;
  if (m.type == PL_STUN_BINDING_SUCCESS) {
    s->mapped = m.mapped;
    s->state = TX_ANSWERED;
  } else {
    s->state = TX_REFUSED;
  }
  transaction_done(c, now);
  return 0;
}

uint64_t pl_stun_client_deadline(const pl_stun_client *c) {
  if (!c || !c->started)
    return UINT64_MAX;
  if (!c->in_round)
    return c->recheck ? c->next_round : UINT64_MAX;
  uint64_t d = UINT64_MAX;
  for (size_t i = 0; i < c->nsrv; i++)
    if (c->srv[i].state == TX_PENDING && c->srv[i].due < d)
      d = c->srv[i].due;
  return d;
}

int pl_stun_client_mapped(const pl_stun_client *c, struct sockaddr_storage *mapped) {
  if (!c || c->mapped_from < 0)
    return PL_ERR_NOT_FOUND;
  if (mapped)
    *mapped = c->mapped;
  return 0;
}

int pl_stun_client_behavior(const pl_stun_client *c) {
  return c ? c->behavior : PEERLINK__V1__NAT_BEHAVIOR__NAT_BEHAVIOR_UNKNOWN;
}

int pl_stun_client_changed(pl_stun_client *c) {
  if (!c || !c->changed)
    return 0;
  c->changed = 0;
  return 1;
}
