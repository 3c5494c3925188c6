/* Links: the table, and each link's life from offer (or explicit candidates) to close. */
#include "agent/link.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/identity/identity.h"
#include "agent/link_int.h"
#include "control/common/addr.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/common/log.h"

void pl_links_init(pl_links *ls) {
  ls->head = NULL;
  ls->dropped = 0;
  memset(ls->ext, 0, sizeof ls->ext);
}

int pl_links_set_ext(pl_links *ls, uint8_t type, pl_link_ext_fn recv, void *arg) {
  if (!pl_frame_is_ext(type))
    return PL_ERR_INVALID;
  ls->ext[type - PL_FRAME_EXT_FIRST].recv = recv;
  ls->ext[type - PL_FRAME_EXT_FIRST].arg = arg;
  return 0;
}

void pl_links_set_local(pl_links *ls, const struct sockaddr *local) {
  ls->has_local_ep = local != NULL;
  if (local)
    memcpy(&ls->local_ep, local,
           local->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
}

pl_link *pl_links_find_peer(const pl_links *ls, const char *peer_id) {
  for (pl_link *l = ls->head; l; l = l->next)
    if (l->peer_id[0] && strcmp(l->peer_id, peer_id) == 0)
      return l;
  return NULL;
}

pl_link *pl_links_find_pairing(const pl_links *ls, const uint8_t pairing[PL_FRAME_PAIRING_LEN]) {
  for (pl_link *l = ls->head; l; l = l->next)
    if (memcmp(l->pairing, pairing, PL_FRAME_PAIRING_LEN) == 0)
      return l;
  return NULL;
}

pl_link *pl_links_find_pairing_hex(const pl_links *ls, const char *pairing_id) {
  uint8_t raw[PL_FRAME_PAIRING_LEN];
  if (pairing_id == NULL || pl_hex_decode(raw, sizeof raw, pairing_id) != 0)
    return NULL;
  return pl_links_find_pairing(ls, raw);
}

size_t pl_links_count(const pl_links *ls) {
  size_t n = 0;
  for (pl_link *l = ls->head; l; l = l->next)
    n++;
  return n;
}

/* --- close ------------------------------------------------------------------------------ */

static void link_freed(uv_handle_t *h) {
  pl_link *l = h->data;
  pl_punch_del(l->punch);
  pl_channel_del(l->chan);
  free(l);
}

void pl_link_close(pl_link *l, const char *why) {
  pl_links *ls = l->links;
  for (pl_link **pl = &ls->head; *pl; pl = &(*pl)->next) {
    if (*pl == l) {
      *pl = l->next;
      break;
    }
  }
  pl_log(PL_LOG_INFO, "link_closed", "pairing=%s peer=%s why=\"%s\"", l->pairing_id, l->peer_id,
         why);
  /* Tell the peer, so it stops keeping the path alive instead of timing it out. */
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  if (pl_punch_close(l->punch, pl_clock_now_us(), buf, sizeof buf, &len, &dst, &via_tcp) == 0)
    pl_link__send_datagram(l, buf, len, &dst, via_tcp);
  l->path.kind = PL_PATH_NONE;
  uv_timer_stop(&l->timer);
  pl_link__data_close(l, why); /* pending reliable messages fail now, saying why */
  if (ls->obs.on_path)
    ls->obs.on_path(ls->obs.arg, l, why);
  uv_close((uv_handle_t *)&l->timer, link_freed);
}

void pl_links_close_all(pl_links *ls, const char *why) {
  while (ls->head)
    pl_link_close(ls->head, why);
}

/* --- create ----------------------------------------------------------------------------- */

/* UDP candidates only: TCP ones are for agent/tcp's punching. */
static void add_candidates(struct sockaddr_storage *out, size_t *n,
                           Peerlink__V1__Candidate *const *cands, size_t ncands) {
  for (size_t i = 0; i < ncands && *n < PL_PUNCH_MAX_CANDIDATES; i++)
    if (cands[i]->endpoint && cands[i]->transport != PEERLINK__V1__TRANSPORT__TRANSPORT_TCP &&
        pl_addr_from_endpoint(&out[*n], cands[i]->endpoint) == 0)
      (*n)++;
}

size_t pl_link_learn_candidates(pl_link *l, Peerlink__V1__Candidate *const *cands, size_t n) {
  struct sockaddr_storage addrs[PL_PUNCH_MAX_CANDIDATES];
  size_t na = 0, added = 0;
  add_candidates(addrs, &na, cands, n);
  uint64_t now = pl_clock_now_us();
  for (size_t i = 0; i < na; i++) {
    int rv = pl_punch_add_remote(l->punch, &addrs[i], now);
    if (rv == 1) {
      char text[80];
      pl_addr_format((const struct sockaddr *)&addrs[i], text, sizeof text);
      pl_log(PL_LOG_INFO, "candidate_learned", "pairing=%s peer=%s candidate=%s", l->pairing_id,
             l->peer_id, text);
      added++;
    } else if (rv < 0) {
      pl_log(PL_LOG_WARN, "candidate_not_learned", "pairing=%s peer=%s error=\"%s\"", l->pairing_id,
             l->peer_id, pl_strerror(rv));
    }
  }
  if (added)
    pl_link__kick(l);
  return added;
}

static void base_config(pl_links *ls, pl_punch_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  memcpy(cfg->self_id, ls->self_id, sizeof cfg->self_id);
  cfg->self_key_der = ls->self_key_der;
  cfg->self_key_der_len = ls->self_key_der_len;
  /* Above every sequence number an earlier instance for the same secret can have used (one
   * frame per nanosecond is far beyond this sender), so DATA's nonces never repeat. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  cfg->first_seq = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  add_candidates(cfg->local, &cfg->n_local, ls->local, ls->n_local);
  cfg->keepalive_interval_us = ls->keepalive_us;
  cfg->dead_after_us = ls->dead_after_us;
  cfg->relay_after_us = ls->relay_after_us;
}

static int link_add(pl_links *ls, const pl_punch_config *cfg, const char *peer_id,
                    const char *peer_name, const char *peer_fingerprint, pl_link **plink) {
  pl_link *l = calloc(1, sizeof *l);
  if (l == NULL)
    return PL_ERR_NOMEM;
  l->links = ls;
  int rv = pl_punch_new(&l->punch, cfg);
  if (rv != 0) {
    free(l);
    return rv;
  }
  if ((rv = pl_link__data_new(l)) != 0) {
    pl_punch_del(l->punch);
    free(l);
    return rv;
  }
  memcpy(l->pairing, cfg->pairing, sizeof l->pairing);
  pl_hex_encode(l->pairing_id, l->pairing, sizeof l->pairing);
  snprintf(l->peer_id, sizeof l->peer_id, "%s", peer_id);
  snprintf(l->peer_name, sizeof l->peer_name, "%s", peer_name);
  snprintf(l->peer_fingerprint, sizeof l->peer_fingerprint, "%s",
           peer_fingerprint ? peer_fingerprint : "");
  l->created_us = pl_clock_now_us();
  uv_timer_init(ls->loop, &l->timer);
  l->timer.data = l;
  l->next = ls->head;
  ls->head = l;
  char relay[80] = "none";
  if (cfg->has_relay)
    pl_addr_format((const struct sockaddr *)&cfg->relay, relay, sizeof relay);
  /* The relay names the rendezvous instance the offer came through (several may be named). */
  pl_log(PL_LOG_INFO, "link", "pairing=%s peer=%s remote_candidates=%zu controlling=%d relay=%s",
         l->pairing_id, peer_id[0] ? peer_id : "(explicit)", cfg->n_remote, cfg->controlling,
         relay);
  if (plink)
    *plink = l;
  pl_link__flush(l); /* cannot close it: nothing has arrived yet */
  return 0;
}

int pl_link_from_offer(pl_links *ls, const Peerlink__V1__Offer *offer, pl_link **plink) {
  pl_punch_config cfg;
  base_config(ls, &cfg);
  if (offer->peer == NULL || offer->peer->id == NULL ||
      pl_hex_decode(cfg.pairing, sizeof cfg.pairing, offer->pairing_id) ||
      pl_hex_decode(cfg.peer_id, sizeof cfg.peer_id, offer->peer->id) ||
      offer->pairing_secret.len < 16 || offer->peer_public_key.len == 0)
    return PL_ERR_INVALID;
  cfg.secret = offer->pairing_secret.data;
  cfg.secretlen = offer->pairing_secret.len;
  /* pl_punch_new checks that the peer's ID (which the rendezvous vouched for) is its key's. */
  cfg.peer_key_der = offer->peer_public_key.data;
  cfg.peer_key_der_len = offer->peer_public_key.len;
  cfg.controlling = offer->role == PEERLINK__V1__ROLE__ROLE_CONTROLLING;
  /* The start time is on the rendezvous's clock; convert through our wall clock. */
  int64_t wait_ms = offer->start_unix_ms - pl_clock_unix_ms();
  if (wait_ms < 0 || wait_ms > 5000)
    wait_ms = 0;
  cfg.start_us = pl_clock_now_us() + (uint64_t)wait_ms * 1000;
  add_candidates(cfg.remote, &cfg.n_remote, offer->peer->candidates, offer->peer->n_candidates);
  if (offer->relay && offer->relay->port != 0) {
    const char *host = offer->relay->ip && offer->relay->ip[0] ? offer->relay->ip : ls->relay_host;
    cfg.has_relay = host && pl_addr_parse(&cfg.relay, host, (int)offer->relay->port) == 0;
  }
  cfg.relay_tcp = 1;
  pl_link *old = pl_links_find_peer(ls, offer->peer->id);
  if (old)
    pl_link_close(old, "replaced by a new offer");
  return link_add(ls, &cfg, offer->peer->id, offer->peer->name ? offer->peer->name : "",
                  offer->peer->cert_fingerprint, plink);
}

int pl_link_from_candidates(pl_links *ls, Peerlink__V1__Candidate *const *cands, size_t n,
                            const uint8_t *secret, size_t secretlen, const char *peer_fingerprint,
                            const uint8_t *peer_key, size_t peer_key_len, pl_link **plink) {
  pl_punch_config cfg;
  char peer_id[PL_IDENTITY_ID_LEN + 1];
  base_config(ls, &cfg);
  if (secretlen < 16 || peer_key == NULL)
    return PL_ERR_INVALID;
  /* The key is the peer's identity: its ID follows from it, and frames must come from it. */
  int rv = pl_identity_id_from_public_key(peer_id, peer_key, peer_key_len);
  if (rv != 0)
    return rv == PL_ERR_CRYPTO ? rv : PL_ERR_PARSE;
  if (pl_hex_decode(cfg.peer_id, sizeof cfg.peer_id, peer_id) != 0 ||
      memcmp(cfg.peer_id, ls->self_id, sizeof cfg.peer_id) == 0)
    return PL_ERR_INVALID;
  cfg.peer_key_der = peer_key;
  cfg.peer_key_der_len = peer_key_len;
  /* Both sides derive the same pairing ID from the shared secret; the side with the smaller
   * certificate fingerprint controls, as with IDs in rendezvous pairings. */
  uint8_t digest[WC_SHA256_DIGEST_SIZE];
  if (wc_Sha256Hash(secret, (word32)secretlen, digest) != 0)
    return PL_ERR_CRYPTO;
  memcpy(cfg.pairing, digest, sizeof cfg.pairing);
  cfg.secret = secret;
  cfg.secretlen = secretlen;
  cfg.controlling = strcmp(ls->self_fingerprint ? ls->self_fingerprint : "", peer_fingerprint) < 0;
  cfg.start_us = pl_clock_now_us();
  add_candidates(cfg.remote, &cfg.n_remote, cands, n);
  if (cfg.n_remote == 0)
    return PL_ERR_INVALID;
  /* The same secret means the same pairing: one link for it, not two that race. */
  pl_link *old = pl_links_find_pairing(ls, cfg.pairing);
  if (old) {
    if (strcmp(old->peer_id, peer_id) != 0)
      return PL_ERR_STATE;
    if (plink)
      *plink = old;
    return 0;
  }
  return link_add(ls, &cfg, peer_id, "", peer_fingerprint, plink);
}

/* --- describe --------------------------------------------------------------------------- */

const char *pl_link_path_name(pl_path_kind kind) {
  switch (kind) {
  case PL_PATH_DIRECT: return "direct";
  case PL_PATH_RELAY_UDP: return "relay-udp";
  case PL_PATH_RELAY_TCP: return "relay-tcp";
  default: return "none";
  }
}

static Peerlink__V1__PathKind path_kind(pl_path_kind k) {
  switch (k) {
  case PL_PATH_DIRECT: return PEERLINK__V1__PATH_KIND__PATH_KIND_DIRECT;
  case PL_PATH_RELAY_UDP:
  case PL_PATH_RELAY_TCP: return PEERLINK__V1__PATH_KIND__PATH_KIND_RELAY;
  default: return PEERLINK__V1__PATH_KIND__PATH_KIND_NONE;
  }
}

void pl_link_describe(const pl_link *l, Peerlink__V1__PeerPath *out, Peerlink__V1__Endpoint *remote,
                      Peerlink__V1__Endpoint *local, char *ipbuf, size_t ipbuflen) {
  const pl_links *ls = l->links;
  pl_punch_stats st;
  peerlink__v1__peer_path__init(out);
  peerlink__v1__endpoint__init(remote);
  peerlink__v1__endpoint__init(local);
  pl_punch_stats_get(l->punch, &st);
  out->peer_id = (char *)l->peer_id;
  out->peer_name = (char *)l->peer_name;
  out->pairing_id = (char *)l->pairing_id;
  out->kind = path_kind(l->path.kind);
  out->rtt_us = l->path.rtt_us;
  out->connect_ms = (l->connect_us + 500) / 1000;
  out->frames_received = st.frames_received;
  out->probes_sent = st.probes_sent;
  pl_channel_stats cs;
  pl_channel_stats_get(l->chan, &cs);
  out->data_dropped = st.dropped_data + cs.dropped;
  if (l->path.kind == PL_PATH_NONE || ipbuflen < 128)
    return;
  if (ls->has_local_ep) {
    int lport = pl_addr_ip_port((const struct sockaddr *)&ls->local_ep, ipbuf + 64);
    if (lport > 0) {
      local->ip = ipbuf + 64;
      local->port = (uint32_t)lport;
      out->local = local;
    }
  }
  if (l->path.kind != PL_PATH_RELAY_TCP) {
    int port = pl_addr_ip_port((const struct sockaddr *)&l->path.remote, ipbuf);
    if (port > 0) {
      remote->ip = ipbuf;
      remote->port = (uint32_t)port;
      out->remote = remote;
    }
  }
}

void pl_link_describe_attempts(const pl_link *l, char *buf, size_t cap) {
  pl_punch_describe(l->punch, buf, cap);
}
