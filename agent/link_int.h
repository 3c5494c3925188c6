#ifndef PEERLINK_AGENT_LINK_INT_H
#define PEERLINK_AGENT_LINK_INT_H

/* Between link.c (lifecycle) and link_pump.c (datagrams); not for other files. */

#include "agent/link.h"

/* Sends everything due, reports a path change, re-arms the timer. May close the link (the peer
 * closed it): touch nothing of `l` afterwards. */
void pl_link__flush(pl_link *l);

/* Hands one datagram of the punch state machine to the io. Returns the io's result. */
int pl_link__send_datagram(pl_link *l, const uint8_t *buf, size_t len,
                           const struct sockaddr_storage *dst, int via_tcp);
/* Runs pl_link__flush from the timer on the next loop iteration. */
void pl_link__kick(pl_link *l);

/* link_data.c: the channel. */
/* Creates l->chan from the links' configuration. Returns 0 or pl_channel_new's code. */
int pl_link__data_new(pl_link *l);
/* An opened DATA plaintext from the peer: a datagram goes to the observer at once, a reliable
 * payload into the channel (its events at the next flush). */
void pl_link__data_recv(pl_link *l, const uint8_t *plain, size_t len, uint64_t now);
/* Sends what the channel has due (a bounded burst) and hands its events to the observer.
 * Returns 1 when that closed the link (the reliable channel failed): touch nothing of `l`
 * afterwards. */
int pl_link__data_flush(pl_link *l, uint64_t now);
/* The link is closing for `why`: every pending reliable message fails (CLOSED) now. */
void pl_link__data_close(pl_link *l, const char *why);

#endif
