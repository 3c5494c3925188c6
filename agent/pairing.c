/* Pairings: glue between the punch state machine, the UDP socket, the Register stream and the
 * agent's events. All on the loop thread. */
#include "agent/pairing.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/addr.h"
#include "control/common/clock.h"
#include "control/common/hex.h"
#include "agent/agent.h"
#include "control/common/err.h"
#include "control/common/log.h"

static void pairing_flush(pl_pairing *p);
static void send_one(pl_pairing *p, const uint8_t *buf, size_t len,
                     const struct sockaddr_storage *dst, int via_tcp);

/* --- events ----------------------------------------------------------------------------- */

static Peerlink__V1__PathKind path_kind(pl_path_kind k) {
  switch (k) {
  case PL_PATH_DIRECT: return PEERLINK__V1__PATH_KIND__PATH_KIND_DIRECT;
  case PL_PATH_RELAY_UDP:
  case PL_PATH_RELAY_TCP: return PEERLINK__V1__PATH_KIND__PATH_KIND_RELAY;
  default: return PEERLINK__V1__PATH_KIND__PATH_KIND_NONE;
  }
}

static const char *path_kind_name(pl_path_kind k) {
  switch (k) {
  case PL_PATH_DIRECT: return "direct";
  case PL_PATH_RELAY_UDP: return "relay-udp";
  case PL_PATH_RELAY_TCP: return "relay-tcp";
  default: return "none";
  }
}

void pl_pairing_describe_path(pl_pairing *p, Peerlink__V1__PeerPath *out,
                              Peerlink__V1__Endpoint *remote, Peerlink__V1__Endpoint *local,
                              char *ipbuf, size_t ipbuflen) {
  pl_punch_stats st;
  peerlink__v1__peer_path__init(out);
  peerlink__v1__endpoint__init(remote);
  peerlink__v1__endpoint__init(local);
  pl_punch_stats_get(p->punch, &st);
  out->peer_id = p->peer_id;
  out->peer_name = p->peer_name;
  out->pairing_id = p->pairing_id;
  out->kind = path_kind(p->path.kind);
  out->rtt_us = p->path.rtt_us;
  out->connect_ms = (p->connect_us + 500) / 1000;
  out->frames_received = st.frames_received;
  out->probes_sent = st.probes_sent;
  /* One socket serves every path: its public mapping (when STUN knows it) is the local side. */
  if (p->path.kind != PL_PATH_NONE && ipbuflen >= 128) {
    const struct sockaddr *l = p->agent->has_public ? (const struct sockaddr *)&p->agent->public_ep
                                                    : (const struct sockaddr *)&p->agent->udp_local;
    int lport = pl_addr_ip_port(l, ipbuf + 64);
    if (lport > 0) {
      local->ip = ipbuf + 64;
      local->port = (uint32_t)lport;
      out->local = local;
    }
  }
  if (p->path.kind != PL_PATH_NONE && p->path.kind != PL_PATH_RELAY_TCP && ipbuflen >= 64) {
    int port = pl_addr_ip_port((const struct sockaddr *)&p->path.remote, ipbuf);
    if (port > 0) {
      remote->ip = ipbuf;
      remote->port = (uint32_t)port;
      out->remote = remote;
    }
  }
}

static void publish_path(pl_pairing *p, const char *detail) {
  Peerlink__V1__PeerPath path;
  Peerlink__V1__Endpoint remote, local;
  Peerlink__V1__PathChanged pc = PEERLINK__V1__PATH_CHANGED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  char ip[128];
  pl_pairing_describe_path(p, &path, &remote, &local, ip, sizeof ip);
  pc.path = &path;
  pc.detail = (char *)detail;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_PATH;
  ev.path = &pc;
  pl_events_publish(&p->agent->events, &ev, NULL);
}

static void publish_message(pl_pairing *p, const uint8_t *data, size_t len) {
  Peerlink__V1__MessageReceived m = PEERLINK__V1__MESSAGE_RECEIVED__INIT;
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  m.peer_id = p->peer_id;
  m.delivery = PEERLINK__V1__DELIVERY__DELIVERY_DATAGRAM;
  m.data.data = (uint8_t *)data;
  m.data.len = len;
  ev.kind_case = PEERLINK__V1__EVENT__KIND_MESSAGE;
  ev.message = &m;
  pl_events_publish(&p->agent->events, &ev, NULL);
}

/* --- Connect waiters -------------------------------------------------------------------- */

static void waiter_closed(uv_handle_t *h) {
  free(h->data);
}

static void waiter_unlink(pl_agent *a, pl_connect_waiter *w) {
  for (pl_connect_waiter **pw = &a->waiters; *pw; pw = &(*pw)->next) {
    if (*pw == w) {
      *pw = w->next;
      break;
    }
  }
  if (w->call)
    pl_rpc_call_set_data(w->call, NULL);
  uv_close((uv_handle_t *)&w->deadline, waiter_closed);
}

static void waiter_reply(pl_connect_waiter *w, pl_pairing *p) {
  Peerlink__V1__ConnectResponse resp = PEERLINK__V1__CONNECT_RESPONSE__INIT;
  Peerlink__V1__PeerPath path;
  Peerlink__V1__Endpoint remote, local;
  char ip[128];
  pl_pairing_describe_path(p, &path, &remote, &local, ip, sizeof ip);
  resp.path = &path;
  pl_rpc_call_reply(w->call, &resp.base);
}

static int waiter_matches(const pl_connect_waiter *w, const pl_pairing *p) {
  if (w->pairing_id[0])
    return strcmp(w->pairing_id, p->pairing_id) == 0;
  return p->peer_id[0] && strcmp(w->peer_id, p->peer_id) == 0;
}

static void resolve_waiters(pl_pairing *p) {
  pl_agent *a = p->agent;
  pl_connect_waiter *w = a->waiters, *next;
  for (; w; w = next) {
    next = w->next;
    if (p->path.kind != PL_PATH_NONE && waiter_matches(w, p)) {
      waiter_reply(w, p);
      waiter_unlink(a, w);
    }
  }
}

static void on_waiter_deadline(uv_timer_t *t) {
  pl_connect_waiter *w = t->data;
  pl_agent *a = w->agent;
  char tried[512] = "no pairing was offered by the rendezvous";
  for (pl_pairing *p = a->pairings; p; p = p->next) {
    if (waiter_matches(w, p) || (w->peer_id[0] && strcmp(w->peer_id, p->peer_id) == 0)) {
      pl_punch_describe(p->punch, tried, sizeof tried);
      break;
    }
  }
  pl_rpc_call_finish(w->call, PL_RPC_DEADLINE_EXCEEDED, "no path to %s within the deadline; %s",
                     w->peer_id[0] ? w->peer_id : w->pairing_id, tried);
  waiter_unlink(a, w);
}

int pl_connect_wait(pl_agent *a, pl_rpc_call *call, const char *peer_id, const char *pairing_id,
                    uint64_t timeout_ms) {
  pl_connect_waiter *w = calloc(1, sizeof *w);
  if (w == NULL)
    return PL_ERR_NOMEM;
  w->agent = a;
  w->call = call;
  snprintf(w->peer_id, sizeof w->peer_id, "%s", peer_id ? peer_id : "");
  snprintf(w->pairing_id, sizeof w->pairing_id, "%s", pairing_id ? pairing_id : "");
  uv_timer_init(a->loop, &w->deadline);
  w->deadline.data = w;
  uv_timer_start(&w->deadline, on_waiter_deadline, timeout_ms, 0);
  w->next = a->waiters;
  a->waiters = w;
  pl_rpc_call_set_data(call, w);
  /* The path may already be up. */
  for (pl_pairing *p = a->pairings; p; p = p->next)
    if (waiter_matches(w, p) && p->path.kind != PL_PATH_NONE) {
      resolve_waiters(p);
      break;
    }
  return 0;
}

void pl_connect_waiter_cancelled(pl_rpc_call *call) {
  pl_connect_waiter *w = pl_rpc_call_data(call);
  if (w == NULL)
    return;
  w->call = NULL;
  waiter_unlink(w->agent, w);
}

void pl_connect_fail_peer(pl_agent *a, const char *peer_id, pl_rpc_status code, const char *msg) {
  pl_connect_waiter *w = a->waiters, *next;
  for (; w; w = next) {
    next = w->next;
    if (peer_id == NULL || strcmp(w->peer_id, peer_id) == 0) {
      pl_rpc_call_finish(w->call, code, "%s", msg);
      waiter_unlink(a, w);
    }
  }
}

/* --- pairing lifecycle ------------------------------------------------------------------ */

static void on_pairing_timer(uv_timer_t *t) {
  pairing_flush(t->data);
}

static void pairing_closed(uv_handle_t *h) {
  pl_pairing *p = h->data;
  pl_punch_del(p->punch);
  free(p);
}

void pl_pairing_close(pl_pairing *p, const char *why) {
  pl_agent *a = p->agent;
  for (pl_pairing **pp = &a->pairings; *pp; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  }
  pl_log(PL_LOG_INFO, "pairing_closed", "pairing=%s peer=%s why=\"%s\"", p->pairing_id, p->peer_id,
         why);
  /* Tell the peer, so it stops keeping the path alive instead of timing it out. */
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  if (pl_punch_close(p->punch, pl_clock_now_us(), buf, sizeof buf, &len, &dst, &via_tcp) == 0)
    send_one(p, buf, len, &dst, via_tcp);
  p->path.kind = PL_PATH_NONE;
  if (!a->closing)
    publish_path(p, why);
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, pairing_closed);
}

void pl_pairing_close_all(pl_agent *a, const char *why) {
  while (a->pairings)
    pl_pairing_close(a->pairings, why);
  pl_connect_fail_peer(a, NULL, PL_RPC_UNAVAILABLE, why);
}

pl_pairing *pl_pairing_find_peer(pl_agent *a, const char *peer_id) {
  for (pl_pairing *p = a->pairings; p; p = p->next)
    if (p->peer_id[0] && strcmp(p->peer_id, peer_id) == 0)
      return p;
  return NULL;
}

pl_pairing *pl_pairing_find_id(pl_agent *a, const uint8_t pairing[PL_FRAME_PAIRING_LEN]) {
  for (pl_pairing *p = a->pairings; p; p = p->next)
    if (memcmp(p->pairing, pairing, PL_FRAME_PAIRING_LEN) == 0)
      return p;
  return NULL;
}

/* Our candidates as socket addresses, for the punch config. */
static void local_candidates(pl_agent *a, pl_punch_config *cfg) {
  for (size_t i = 0; i < a->n_cands && cfg->n_local < PL_PUNCH_MAX_CANDIDATES; i++)
    if (pl_addr_from_endpoint(&cfg->local[cfg->n_local], a->cands[i]->endpoint) == 0)
      cfg->n_local++;
}

static void remote_candidates(pl_punch_config *cfg, Peerlink__V1__Candidate *const *cands,
                              size_t n) {
  for (size_t i = 0; i < n && cfg->n_remote < PL_PUNCH_MAX_CANDIDATES; i++)
    if (pl_addr_from_endpoint(&cfg->remote[cfg->n_remote], cands[i]->endpoint) == 0)
      cfg->n_remote++;
}

static void timing(pl_agent *a, pl_punch_config *cfg) {
  cfg->keepalive_interval_us = a->keepalive_us;
  cfg->dead_after_us = a->dead_after_us;
  cfg->relay_after_us = a->relay_after_us;
}

static int pairing_add(pl_agent *a, const pl_punch_config *cfg, const char *peer_id,
                       const char *peer_name, pl_pairing **pp) {
  pl_pairing *p = calloc(1, sizeof *p);
  if (p == NULL)
    return PL_ERR_NOMEM;
  int rv = pl_punch_new(&p->punch, cfg);
  if (rv != 0) {
    free(p);
    return rv;
  }
  p->agent = a;
  memcpy(p->pairing, cfg->pairing, sizeof p->pairing);
  pl_hex_encode(p->pairing_id, p->pairing, sizeof p->pairing);
  snprintf(p->peer_id, sizeof p->peer_id, "%s", peer_id);
  snprintf(p->peer_name, sizeof p->peer_name, "%s", peer_name);
  p->created_us = pl_clock_now_us();
  uv_timer_init(a->loop, &p->timer);
  p->timer.data = p;
  p->next = a->pairings;
  a->pairings = p;
  pl_log(PL_LOG_INFO, "pairing", "pairing=%s peer=%s remote_candidates=%zu controlling=%d",
         p->pairing_id, peer_id[0] ? peer_id : "(explicit)", cfg->n_remote, cfg->controlling);
  if (pp)
    *pp = p;
  pairing_flush(p);
  return 0;
}

int pl_pairing_from_offer(pl_agent *a, const Peerlink__V1__Offer *offer) {
  pl_punch_config cfg;
  memset(&cfg, 0, sizeof cfg);
  if (offer->peer == NULL || pl_hex_decode(cfg.pairing, sizeof cfg.pairing, offer->pairing_id) ||
      pl_hex_decode(cfg.peer_id, sizeof cfg.peer_id, offer->peer->id) ||
      pl_hex_decode(cfg.self_id, sizeof cfg.self_id, a->ident.id) || offer->pairing_secret.len < 16)
    return PL_ERR_INVALID;
  cfg.secret = offer->pairing_secret.data;
  cfg.secretlen = offer->pairing_secret.len;
  cfg.controlling = offer->role == PEERLINK__V1__ROLE__ROLE_CONTROLLING;
  /* The start time is on the rendezvous's clock; convert through our wall clock. */
  int64_t wait_ms = offer->start_unix_ms - pl_clock_unix_ms();
  if (wait_ms < 0 || wait_ms > 5000)
    wait_ms = 0;
  cfg.start_us = pl_clock_now_us() + (uint64_t)wait_ms * 1000;
  local_candidates(a, &cfg);
  remote_candidates(&cfg, offer->peer->candidates, offer->peer->n_candidates);
  if (offer->relay && offer->relay->port != 0) {
    const char *host = offer->relay->ip[0] ? offer->relay->ip : a->rdv_host;
    cfg.has_relay = pl_addr_parse(&cfg.relay, host, (int)offer->relay->port) == 0;
  }
  cfg.relay_tcp = 1;
  timing(a, &cfg);
  pl_pairing *old = pl_pairing_find_peer(a, offer->peer->id);
  if (old)
    pl_pairing_close(old, "replaced by a new offer");
  return pairing_add(a, &cfg, offer->peer->id, offer->peer->name, NULL);
}

int pl_pairing_from_candidates(pl_agent *a, Peerlink__V1__Candidate *const *cands, size_t n,
                               const uint8_t *secret, size_t secretlen,
                               const char *peer_fingerprint, pl_pairing **ppairing) {
  pl_punch_config cfg;
  memset(&cfg, 0, sizeof cfg);
  if (secretlen < 16 || pl_hex_decode(cfg.self_id, sizeof cfg.self_id, a->ident.id))
    return PL_ERR_INVALID;
  /* Both sides derive the same pairing ID from the shared secret; the side with the smaller
   * certificate fingerprint controls, as with IDs in rendezvous pairings. */
  uint8_t digest[WC_SHA256_DIGEST_SIZE];
  if (wc_Sha256Hash(secret, (word32)secretlen, digest) != 0)
    return PL_ERR_CRYPTO;
  memcpy(cfg.pairing, digest, sizeof cfg.pairing);
  cfg.secret = secret;
  cfg.secretlen = secretlen;
  cfg.controlling = strcmp(a->ident.cert_fingerprint, peer_fingerprint) < 0;
  cfg.start_us = pl_clock_now_us();
  local_candidates(a, &cfg);
  remote_candidates(&cfg, cands, n);
  if (cfg.n_remote == 0)
    return PL_ERR_INVALID;
  timing(a, &cfg);
  /* The same secret means the same pairing: a second instance would restart its sequence
   * numbers and the peer would drop its frames as replays. */
  pl_pairing *old = pl_pairing_find_id(a, cfg.pairing);
  if (old) {
    *ppairing = old;
    return 0;
  }
  return pairing_add(a, &cfg, "", "", ppairing);
}

/* --- the datagram pump ------------------------------------------------------------------ */

static void send_one(pl_pairing *p, const uint8_t *buf, size_t len,
                     const struct sockaddr_storage *dst, int via_tcp) {
  if (via_tcp)
    pl_registration_relay(&p->agent->reg, p->pairing_id, buf, len);
  else
    pl_agent_udp_send(p->agent, (const struct sockaddr *)dst, buf, len);
}

/* Sends everything due, publishes path changes, re-arms the timer. */
static void pairing_flush(pl_pairing *p) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  uint64_t now = pl_clock_now_us();
  /* Cap the burst: probes to many candidates must not starve the loop. */
  for (int i = 0; i < 64 && pl_punch_poll(p->punch, now, buf, sizeof buf, &len, &dst, &via_tcp);
       i++)
    send_one(p, buf, len, &dst, via_tcp);

  if (!p->peer_id[0]) {
    uint8_t id[PL_FRAME_ID_LEN];
    if (pl_punch_peer_id(p->punch, id) == 0)
      pl_hex_encode(p->peer_id, id, sizeof id);
  }
  pl_punch_path path;
  if (pl_punch_path_get(p->punch, &path)) {
    char remote[80] = "-";
    pl_path_kind was = p->path.kind;
    p->path = path;
    if (path.kind != PL_PATH_NONE && p->connect_us == 0)
      p->connect_us = pl_clock_now_us() - p->created_us;
    if (path.kind != PL_PATH_NONE && path.kind != PL_PATH_RELAY_TCP)
      pl_addr_format((const struct sockaddr *)&path.remote, remote, sizeof remote);
    pl_log(PL_LOG_INFO, "path", "pairing=%s peer=%s kind=%s remote=%s rtt_us=%llu", p->pairing_id,
           p->peer_id, path_kind_name(path.kind), remote, (unsigned long long)path.rtt_us);
    char detail[128];
    snprintf(detail, sizeof detail, "%s -> %s", path_kind_name(was), path_kind_name(path.kind));
    if (path.closed) {
      pl_pairing_close(p, "closed by the peer");
      return;
    }
    publish_path(p, detail);
    resolve_waiters(p);
  }
  uint64_t deadline = pl_punch_deadline(p->punch);
  if (deadline == UINT64_MAX) {
    uv_timer_stop(&p->timer);
    return;
  }
  uint64_t now2 = pl_clock_now_us();
  uint64_t delay_ms = deadline > now2 ? (deadline - now2 + 999) / 1000 : 0;
  uv_timer_start(&p->timer, on_pairing_timer, delay_ms, 0);
}

void pl_pairing_recv(pl_pairing *p, const struct sockaddr *from, int via_tcp, const uint8_t *data,
                     size_t len) {
  const uint8_t *payload;
  size_t payloadlen;
  int rv =
      pl_punch_recv(p->punch, from, via_tcp, data, len, pl_clock_now_us(), &payload, &payloadlen);
  if (rv < 0) {
    p->agent->dropped_datagrams++;
    return;
  }
  if (rv == 1)
    publish_message(p, payload, payloadlen);
  pairing_flush(p);
}

int pl_pairing_send(pl_pairing *p, const uint8_t *payload, size_t len) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t outlen;
  struct sockaddr_storage dst;
  int via_tcp;
  int rv = pl_punch_send_data(p->punch, payload, len, pl_clock_now_us(), buf, sizeof buf, &outlen,
                              &dst, &via_tcp);
  if (rv != 0)
    return rv;
  send_one(p, buf, outlen, &dst, via_tcp);
  return 0;
}
