/* The datagram pump: drives each link's punch state machine and channel from its timer and from
 * arriving frames, hands what they produce to the link's io, and reports path changes. */
#include <stdio.h>
#include <string.h>

#include "agent/link.h"
#include "agent/link_int.h"
#include "control/common/addr.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/hex.h"
#include "control/common/log.h"

/* Probes to many candidates must not starve the loop: at most this many per wake-up. */
#define MAX_BURST 64

int pl_link__send_datagram(pl_link *l, const uint8_t *buf, size_t len,
                           const struct sockaddr_storage *dst, int via_tcp) {
  const pl_link_io *io = &l->links->io;
  int rv = via_tcp ? io->send_stream(io->arg, l->pairing_id, buf, len)
                   : io->send_udp(io->arg, (const struct sockaddr *)dst, buf, len);
  if (rv != 0) {
    l->send_failed++;
    l->last_send_error = rv;
  }
  return rv;
}

static void on_timer(uv_timer_t *t) {
  pl_link__flush(t->data);
}

void pl_link__kick(pl_link *l) {
  uv_timer_start(&l->timer, on_timer, 0, 0);
}

/* A path change: log it, tell the observer. Returns 1 when the link is gone (the peer closed
 * it). */
static int path_changed(pl_link *l, const pl_punch_path *path) {
  char remote[80] = "-", detail[128];
  pl_path_kind was = l->path.kind;
  l->path = *path;
  if (path->kind != PL_PATH_NONE && l->connect_us == 0)
    l->connect_us = pl_clock_now_us() - l->created_us;
  if (path->kind != PL_PATH_NONE && path->kind != PL_PATH_RELAY_TCP)
    pl_addr_format((const struct sockaddr *)&path->remote, remote, sizeof remote);
  pl_log(PL_LOG_INFO, "path", "pairing=%s peer=%s kind=%s remote=%s rtt_us=%llu", l->pairing_id,
         l->peer_id, pl_link_path_name(path->kind), remote, (unsigned long long)path->rtt_us);
  if (path->closed) {
    pl_link_close(l, "closed by the peer");
    return 1;
  }
  snprintf(detail, sizeof detail, "%s -> %s", pl_link_path_name(was),
           pl_link_path_name(path->kind));
  if (l->links->obs.on_path)
    l->links->obs.on_path(l->links->obs.arg, l, detail);
  return 0;
}

void pl_link__flush(pl_link *l) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t len;
  struct sockaddr_storage dst;
  int via_tcp;
  uint64_t now = pl_clock_now_us();
  /* A refused probe or keep-alive is like one lost on the way: the schedule retries it. */
  for (int i = 0;
       i < MAX_BURST && pl_punch_poll(l->punch, now, buf, sizeof buf, &len, &dst, &via_tcp); i++)
    pl_link__send_datagram(l, buf, len, &dst, via_tcp);

  if (!l->peer_id[0]) {
    uint8_t id[PL_FRAME_ID_LEN];
    if (pl_punch_peer_id(l->punch, id) == 0)
      pl_hex_encode(l->peer_id, id, sizeof id);
  }
  pl_punch_path path;
  if (pl_punch_path_get(l->punch, &path) && path_changed(l, &path))
    return;
  if (pl_link__data_flush(l, now))
    return;
  uint64_t deadline = pl_punch_deadline(l->punch), chan = pl_channel_deadline(l->chan);
  if (chan < deadline)
    deadline = chan;
  if (deadline == UINT64_MAX) {
    uv_timer_stop(&l->timer);
    return;
  }
  uint64_t now2 = pl_clock_now_us();
  uv_timer_start(&l->timer, on_timer, deadline > now2 ? (deadline - now2 + 999) / 1000 : 0, 0);
}

/* An extension frame to its module. No flush: these are the bulk frames, and they change
 * nothing in punching. */
static void ext_recv(pl_link *l, const struct sockaddr *from, const uint8_t *frame, size_t len) {
  pl_links *ls = l->links;
  uint8_t type = frame[0];
  if (!pl_frame_is_ext(type) || ls->ext[type - PL_FRAME_EXT_FIRST].recv == NULL) {
    ls->dropped++;
    return;
  }
  ls->ext[type - PL_FRAME_EXT_FIRST].recv(ls->ext[type - PL_FRAME_EXT_FIRST].arg, l, from, frame,
                                          len);
}

static void link_recv(pl_link *l, const struct sockaddr *from, int via_tcp, const uint8_t *data,
                      size_t len) {
  const uint8_t *payload;
  size_t payloadlen;
  int rv =
      pl_punch_recv(l->punch, from, via_tcp, data, len, pl_clock_now_us(), &payload, &payloadlen);
  if (rv < 0)
    return; /* counted in the punch stats */
  if (rv == 2) {
    ext_recv(l, NULL, payload, payloadlen);
    return;
  }
  if (rv == 1) {
    pl_links *ls = l->links;
    pl_link__data_recv(l, payload, payloadlen, pl_clock_now_us());
    if (pl_links_find_pairing(ls, l->pairing) != l)
      return; /* the observer closed it */
  }
  pl_link__flush(l);
}

void pl_links_recv_udp(void *links, const struct sockaddr *from, const uint8_t *data, size_t len) {
  pl_links *ls = links;
  uint8_t type, pairing[PL_FRAME_PAIRING_LEN];
  pl_link *l;
  if (pl_frame_peek(data, len, &type, pairing) != 0 ||
      (l = pl_links_find_pairing(ls, pairing)) == NULL) {
    ls->dropped++;
    return;
  }
  if (pl_frame_is_ext(type))
    ext_recv(l, from, data, len);
  else
    link_recv(l, from, 0, data, len);
}

void pl_links_recv_stream(pl_links *ls, const char *pairing_id, const uint8_t *data, size_t len) {
  pl_link *l = pl_links_find_pairing_hex(ls, pairing_id);
  if (l == NULL) {
    ls->dropped++;
    return;
  }
  link_recv(l, NULL, 1, data, len);
}

int pl_link_send_ext(pl_link *l, const uint8_t *frame, size_t len) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  struct sockaddr_storage dst;
  int via_tcp, wrap;
  if (len < PL_FRAME_EXT_MIN || !pl_frame_is_ext(frame[0]))
    return PL_ERR_INVALID;
  if (len > PL_FRAME_MAX_LEN)
    return PL_ERR_TOO_BIG;
  int rv = pl_punch_route(l->punch, &dst, &via_tcp, &wrap);
  if (rv != 0)
    return rv;
  if (!wrap)
    return pl_link__send_datagram(l, frame, len, &dst, via_tcp);
  if (len > PL_FRAME_EXT_MAX_RELAYED)
    return PL_ERR_TOO_BIG;
  memcpy(buf + PL_FRAME_RELAY_HEADROOM, frame, len);
  if ((rv = pl_punch_wrap(l->punch, buf, sizeof buf, len, &len)) != 0)
    return rv;
  return pl_link__send_datagram(l, buf, len, &dst, via_tcp);
}
