#ifndef PEERLINK_AGENT_QUIC_MSG_H
#define PEERLINK_AGENT_QUIC_MSG_H

/* Messages on a QUIC stream (Send with DELIVERY_QUIC_STREAM, docs/protocol.md "QUIC"): each is
 * length(4, big-endian) then that many bytes, one after another on the sender's MESSAGE stream.
 * I/O-free: the reader takes stream bytes in any split and hands out whole messages. */

#include <stddef.h>
#include <stdint.h>

#define PL_QUIC_MSG_HEADER 4
#define PL_QUIC_MSG_MAX (16u << 20) /* a longer length makes the stream unusable */

/* Writes the length prefix of a message of `len` bytes. */
void pl_quic_msg_header(uint8_t out[PL_QUIC_MSG_HEADER], uint32_t len);

typedef void (*pl_quic_msg_fn)(void *arg, const uint8_t *msg, size_t len);

typedef struct pl_quic_msg_reader {
  uint8_t hdr[PL_QUIC_MSG_HEADER];
  size_t hdr_have;
  uint8_t *buf; /* the message being assembled (NULL between messages) */
  size_t len, have;
  size_t max;
  int failed;
} pl_quic_msg_reader;

/* `max` 0 means PL_QUIC_MSG_MAX. */
void pl_quic_msg_reader_init(pl_quic_msg_reader *r, size_t max);
void pl_quic_msg_reader_free(pl_quic_msg_reader *r);

/* Feeds stream bytes; on_msg runs for each message completed by them, in order (`msg` is valid
 * during the call). Returns 0, PL_ERR_TOO_BIG (a length over max), PL_ERR_NOMEM; after an error
 * the reader refuses everything (PL_ERR_STATE) and the stream should be reset. */
int pl_quic_msg_reader_feed(pl_quic_msg_reader *r, const uint8_t *data, size_t len,
                            pl_quic_msg_fn on_msg, void *arg);

#endif
