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

#endif
