#ifndef PEERLINK_AGENT_TRANSPORT_INT_H
#define PEERLINK_AGENT_TRANSPORT_INT_H

/* Between transport.c (socket, reads) and transport_send.c (sends); not for other files. */

#include "agent/transport.h"

/* Watches the socket for `events` (UV_READABLE, UV_WRITABLE) from now on. */
void pl_transport__poll_update(pl_transport *t, int events);
/* The socket has room: calls and forgets the writable waiters. */
void pl_transport__writable(pl_transport *t);

#endif
