/* The link's channel: datagrams and reliable messages in sealed DATA frames. The reliable
 * channel runs on the link's timer; its events go to the observer after every call into it. */
#include <stdio.h>
#include <string.h>

#include "agent/link.h"
#include "agent/link_int.h"
#include "control/common/clock.h"
#include "control/common/err.h"
#include "control/common/log.h"

/* Frames per wake-up, as for probes: a full send window must not starve the loop. */
#define MAX_BURST 64

size_t pl_link_max_reliable_message(const pl_links *ls) {
  return ls->max_reliable_message ? ls->max_reliable_message : PL_RELIABLE_DEFAULT_MAX_MESSAGE;
}

int pl_link__data_new(pl_link *l) {
  const pl_links *ls = l->links;
  pl_reliable_config cfg;
  pl_reliable_config_default(&cfg);
  cfg.max_message = pl_link_max_reliable_message(ls);
  /* A message of max_message bytes must fit the buffers on both sides. */
  if (cfg.send_buffer < cfg.max_message)
    cfg.send_buffer = cfg.max_message;
  if (cfg.recv_buffer < cfg.max_message)
    cfg.recv_buffer = cfg.max_message;
  if (ls->reliable_give_up_us)
    cfg.give_up_us = ls->reliable_give_up_us;
  return pl_channel_new(&l->chan, &cfg);
}

/* Seals one plaintext into DATA and hands it to the io. */
static int send_plain(pl_link *l, const uint8_t *plain, size_t len, uint64_t now) {
  uint8_t buf[PL_FRAME_MAX_LEN];
  size_t outlen;
  struct sockaddr_storage dst;
  int via_tcp;
  int rv = pl_punch_send_data(l->punch, plain, len, now, buf, sizeof buf, &outlen, &dst, &via_tcp);
  if (rv != 0)
    return rv;
  return pl_link__send_datagram(l, buf, outlen, &dst, via_tcp);
}

int pl_link_send(pl_link *l, const uint8_t *payload, size_t len) {
  uint8_t plain[PL_FRAME_MAX_PAYLOAD];
  size_t n;
  int rv = pl_channel_datagram(payload, len, plain, sizeof plain, &n);
  if (rv != 0)
    return rv;
  return send_plain(l, plain, n, pl_clock_now_us());
}

int pl_link_send_reliable(pl_link *l, const uint8_t *msg, size_t len, uint64_t *pmsg_id) {
  if (l->path.kind == PL_PATH_NONE)
    return PL_ERR_STATE;
  int rv = pl_channel_send(l->chan, msg, len, pl_clock_now_us(), pmsg_id);
  if (rv != 0)
    return rv;
  /* Sent from the timer, at once: not from here, so that the caller has recorded the message
   * before any event about it (or the link's end) can arrive. */
  pl_link__kick(l);
  return 0;
}

void pl_link__data_recv(pl_link *l, const uint8_t *plain, size_t len, uint64_t now) {
  const uint8_t *data;
  size_t datalen;
  pl_links *ls = l->links;
  if (pl_channel_recv(l->chan, plain, len, now, &data, &datalen) == 1 && ls->obs.on_data)
    ls->obs.on_data(ls->obs.arg, l, data, datalen);
}

static void reliable_failure(const pl_link *l, pl_reliable_fail_reason reason, char *why,
                             size_t cap) {
  pl_channel_stats st;
  pl_channel_stats_get(l->chan, &st);
  if (reason == PL_RELIABLE_FAIL_RETRIES)
    snprintf(why, cap,
             "reliable message to %s not acknowledged: %llu retransmission timeouts in a row "
             "without an acknowledgement (the peer is gone or the path lost everything)",
             l->peer_id, (unsigned long long)st.reliable.timeouts);
  else
    snprintf(why, cap,
             "reliable message to %s not acknowledged within %llu ms (the peer is gone or the "
             "path lost everything)",
             l->peer_id,
             (unsigned long long)((l->links->reliable_give_up_us ? l->links->reliable_give_up_us
                                                                 : 15000000) /
                                  1000));
}

/* Hands every event to the observer. `closing` is the link's close reason once it closes.
 * Returns 1 when the channel failed (the peer stopped acknowledging). */
static int drain(pl_link *l, const char *closing) {
  pl_links *ls = l->links;
  pl_reliable_event ev;
  char why[256];
  int failed = 0;
  while (pl_channel_next_event(l->chan, &ev)) {
    switch (ev.type) {
    case PL_RELIABLE_EV_DELIVERED:
      if (ls->obs.on_message)
        ls->obs.on_message(ls->obs.arg, l, ev.data, ev.len);
      break;
    case PL_RELIABLE_EV_ACKED:
      if (ls->obs.on_sent)
        ls->obs.on_sent(ls->obs.arg, l, ev.msg_id, 0, NULL);
      break;
    case PL_RELIABLE_EV_FAILED:
      if (ev.reason == PL_RELIABLE_FAIL_CLOSED) {
        snprintf(why, sizeof why, "path to %s closed (%s)", l->peer_id,
                 closing ? closing : "the reliable channel was closed");
      } else {
        reliable_failure(l, ev.reason, why, sizeof why);
        failed = 1;
      }
      if (ls->obs.on_sent)
        ls->obs.on_sent(ls->obs.arg, l, ev.msg_id,
                        ev.reason == PL_RELIABLE_FAIL_CLOSED ? PL_ERR_CLOSED : PL_ERR_TIMEOUT, why);
      break;
    }
  }
  return failed;
}

int pl_link__data_flush(pl_link *l, uint64_t now) {
  uint8_t plain[PL_FRAME_MAX_PAYLOAD];
  size_t n;
  /* A fragment the path cannot take now is as good as lost: the channel resends it. */
  for (int i = 0;
       i < MAX_BURST && pl_channel_poll(l->chan, now, plain, sizeof plain, &n) == 0 && n > 0; i++)
    send_plain(l, plain, n, now);
  if (!drain(l, NULL))
    return 0;
  /* The channel is dead and does not recover; the peer's side is told (CLOSE), so both start
   * again from a new pairing. */
  pl_log(PL_LOG_WARN, "reliable_failed", "pairing=%s peer=%s", l->pairing_id, l->peer_id);
  pl_link_close(l, "the peer stopped acknowledging reliable messages");
  return 1;
}

void pl_link__data_close(pl_link *l, const char *why) {
  pl_channel_close(l->chan);
  drain(l, why);
}
