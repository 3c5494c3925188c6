#ifndef PEERLINK_AGENT_CHANNEL_H
#define PEERLINK_AGENT_CHANNEL_H

/* What a link carries in its DATA frames: datagrams and the reliable channel's payloads, told
 * apart by a first byte (docs/protocol.md, "Channels in DATA"). I/O-free: the plaintext of an
 * opened DATA frame and `now` go in through pl_channel_recv; plaintexts to seal into DATA come
 * out of pl_channel_datagram and pl_channel_poll; the glue re-arms its timer from
 * pl_channel_deadline and drains pl_channel_next_event after every call.
 *
 * The channel byte sits inside the sealed plaintext, so the rendezvous and the relay see DATA
 * and nothing of which kind it is. */

#include <stddef.h>
#include <stdint.h>

#include "agent/reliable/reliable.h"
#include "agent/wire/frame.h"

#define PL_CHANNEL_DATAGRAM 0x00 /* the rest is one datagram, delivered as it is */
#define PL_CHANNEL_RELIABLE 0x01 /* the rest is a payload of the reliable channel */

/* The largest datagram: a DATA plaintext less the channel byte. */
#define PL_CHANNEL_MAX_DATAGRAM (PL_FRAME_MAX_PAYLOAD - 1)
/* The largest reliable payload that still fits one DATA frame with its channel byte. */
#define PL_CHANNEL_MAX_RELIABLE_PAYLOAD (PL_FRAME_MAX_PAYLOAD - 1)

typedef struct pl_channel pl_channel;

typedef struct pl_channel_stats {
  uint64_t datagrams_received;
  uint64_t dropped; /* plaintexts with an unknown channel byte, empty, or refused by reliable */
  pl_reliable_stats reliable;
} pl_channel_stats;

/* A channel whose reliable part has `cfg` (NULL: pl_reliable_config_default). Returns 0,
 * PL_ERR_INVALID (as pl_reliable_new, or max_payload over PL_CHANNEL_MAX_RELIABLE_PAYLOAD),
 * PL_ERR_NOMEM. */
int pl_channel_new(pl_channel **pc, const pl_reliable_config *cfg);
/* Frees everything (undrained events included). NULL is fine. */
void pl_channel_del(pl_channel *c);

/* The DATA plaintext for one datagram: the channel byte, then `data`. Returns 0,
 * PL_ERR_TOO_BIG (len over PL_CHANNEL_MAX_DATAGRAM, or cap below len + 1), PL_ERR_INVALID. */
int pl_channel_datagram(const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *plen);

/* The plaintext of a DATA frame the peer sealed. Returns
 *   1              a datagram: *pdata / *pdatalen point into `plain`,
 *   0              a reliable payload, taken (drain the events),
 *   PL_ERR_PARSE   empty, an unknown channel byte, or a reliable payload its parser refused:
 *                  dropped and counted,
 *   PL_ERR_FULL, PL_ERR_CLOSED  as pl_reliable_recv (dropped; counted there),
 *   PL_ERR_INVALID. */
int pl_channel_recv(pl_channel *c, const uint8_t *plain, size_t len, uint64_t now,
                    const uint8_t **pdata, size_t *pdatalen);

/* Queues a reliable message (pl_reliable_send: the same IDs and codes: PL_ERR_TOO_BIG,
 * PL_ERR_FULL, PL_ERR_CLOSED, PL_ERR_INVALID, PL_ERR_NOMEM). */
int pl_channel_send(pl_channel *c, const uint8_t *msg, size_t len, uint64_t now, uint64_t *pmsg_id);

/* The next DATA plaintext the reliable channel wants sent (an ACK, a retransmission, a new
 * fragment), channel byte included; *plen = 0 when nothing is due. Call until it gives 0 bytes.
 * cap must hold the channel's max_payload + 1. Returns 0, PL_ERR_TOO_BIG, PL_ERR_INVALID. */
int pl_channel_poll(pl_channel *c, uint64_t now, uint8_t *buf, size_t cap, size_t *plen);

/* pl_reliable_deadline of the reliable part (UINT64_MAX: nothing scheduled). */
uint64_t pl_channel_deadline(const pl_channel *c);
/* pl_reliable_next_event of the reliable part. */
int pl_channel_next_event(pl_channel *c, pl_reliable_event *ev);
/* Ends the reliable part: every message not yet ACKED fails (PL_RELIABLE_FAIL_CLOSED). */
void pl_channel_close(pl_channel *c);

void pl_channel_stats_get(const pl_channel *c, pl_channel_stats *stats);

#endif
