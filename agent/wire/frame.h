#ifndef PEERLINK_WIRE_FRAME_H
#define PEERLINK_WIRE_FRAME_H

/* peerlink frames: everything on the UDP socket that is neither STUN nor QUIC. I/O-free.
 * The byte layout is specified in docs/protocol.md; this header is the contract.
 *
 * Demultiplexing by first byte (RFC 7983 style): 0x00-0x03 STUN, 0x20-0x2F peerlink frames,
 * 0x40-0x7F QUIC short header, 0xC0-0xFF QUIC long header. Everything else is dropped.
 *
 * Every frame carries the pairing ID (8 bytes), the sender's agent ID (16 bytes), a sequence
 * number, and a 16-byte MAC (HMAC-SHA256 truncated) over everything before it:
 *   - PROBE, PROBE_ACK, CLOSE under the frame key  = HMAC-SHA256(secret, "peerlink frame v1")
 *   - RELAY_BIND, RELAY_BIND_ACK, RELAY_DATA under the relay key = HMAC-SHA256(secret,
 *     "peerlink relay v1"), which the rendezvous also knows (it made the secret). A RELAY_DATA
 *     frame wraps a complete inner frame, authenticated end to end.
 * DATA is the exception: its body is sealed with AES-256-GCM under the agents' end-to-end keys
 * (agent/wire/seal.h), the header as associated data, and the GCM tag takes the MAC's place.
 * The rendezvous knows the frame key, so a MAC under it would prove nothing about DATA. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PL_FRAME_MIN 0x20
#define PL_FRAME_MAX 0x2F
#define PL_FRAME_PROBE 0x20
#define PL_FRAME_PROBE_ACK 0x21
#define PL_FRAME_DATA 0x22
#define PL_FRAME_CLOSE 0x23
/* Extension frames (0x24-0x27): the modules beside punching define and authenticate their own
 * bodies; the codec only knows their common prefix, type(1) version(1) pairing(8), so the link
 * can find the pairing and the relay can carry them inside RELAY_DATA. */
#define PL_FRAME_RELIABLE 0x24
#define PL_FRAME_QUIC 0x25
#define PL_FRAME_BENCH_DATA 0x26
#define PL_FRAME_BENCH_CTRL 0x27
#define PL_FRAME_EXT_FIRST PL_FRAME_RELIABLE
#define PL_FRAME_EXT_LAST PL_FRAME_BENCH_CTRL
#define PL_FRAME_EXT_PREFIX 10 /* type, version, pairing */
#define PL_FRAME_EXT_MIN 26    /* the prefix and at least a 16-byte tag */
#define PL_FRAME_RELAY_BIND 0x28
#define PL_FRAME_RELAY_BIND_ACK 0x29
#define PL_FRAME_RELAY_DATA 0x2A

#define PL_FRAME_MAC_LEN 16
#define PL_FRAME_PAIRING_LEN 8
#define PL_FRAME_ID_LEN 16
#define PL_FRAME_HEADER_LEN 34    /* type, version, pairing, sender, seq: DATA's associated data */
#define PL_FRAME_SEAL_TAG_LEN 16  /* DATA's AES-GCM tag, where other frames have their MAC */
#define PL_FRAME_MAX_PAYLOAD 1200 /* DATA plaintext; keeps frames under a 1280-byte path MTU */
#define PL_FRAME_MAX_LEN 1400
/* RELAY_DATA around an inner frame: header(34) length(2) before it, MAC(16) after it. */
#define PL_FRAME_RELAY_HEADROOM 36
#define PL_FRAME_RELAY_OVERHEAD (PL_FRAME_RELAY_HEADROOM + PL_FRAME_MAC_LEN)
/* The largest extension frame that still fits inside RELAY_DATA (1348). */
#define PL_FRAME_EXT_MAX_RELAYED (PL_FRAME_MAX_LEN - PL_FRAME_RELAY_OVERHEAD)

/* Probe flags. */
#define PL_PROBE_NOMINATE 0x01  /* controlling side: use this pair */
#define PL_PROBE_KEEPALIVE 0x02 /* on the selected pair, to keep NAT mappings and detect death */

typedef enum {
  PL_DEMUX_DROP = 0,
  PL_DEMUX_STUN,
  PL_DEMUX_FRAME,
  PL_DEMUX_QUIC,
} pl_demux_kind;

/* Classifies a datagram by its first byte (and the STUN magic cookie). */
pl_demux_kind pl_demux(const uint8_t *data, size_t len);

/* 1 for the extension types PL_FRAME_EXT_FIRST..PL_FRAME_EXT_LAST. */
int pl_frame_is_ext(uint8_t type);

typedef struct pl_frame_keys {
  uint8_t frame[32];
  uint8_t relay[32];
} pl_frame_keys;

/* Derives both keys from the pairing secret. Returns 0, PL_ERR_INVALID (secretlen < 16) or
 * PL_ERR_CRYPTO. */
int pl_frame_keys_derive(pl_frame_keys *keys, const uint8_t *secret, size_t secretlen);

/* A parsed frame. Pointers point into the datagram that was parsed. */
typedef struct pl_frame {
  uint8_t type;
  uint8_t pairing[PL_FRAME_PAIRING_LEN];
  uint8_t sender[PL_FRAME_ID_LEN];
  uint64_t seq;
  /* PROBE / PROBE_ACK */
  uint8_t flags;
  uint64_t txid;                    /* PROBE: fresh per probe; PROBE_ACK: the probe's txid */
  uint64_t echo_time_us;            /* PROBE: sender's clock; PROBE_ACK: echoed, for RTT */
  struct sockaddr_storage observed; /* PROBE_ACK / RELAY_BIND_ACK: where the request came from */
  int has_observed;
  /* DATA: the sealed body (ciphertext || tag); RELAY_DATA: the inner frame */
  const uint8_t *payload;
  size_t payloadlen;
  /* Parsed frames: the first PL_FRAME_HEADER_LEN bytes of the datagram (DATA's associated data) */
  const uint8_t *header;
} pl_frame;

/* Parses and authenticates `data`: PROBE, PROBE_ACK and CLOSE are checked under keys->frame,
 * relay types under keys->relay. DATA is parsed but NOT authenticated: payload is its sealed
 * body (PL_FRAME_SEAL_TAG_LEN to PL_FRAME_MAX_PAYLOAD + PL_FRAME_SEAL_TAG_LEN bytes), which the
 * caller opens (pl_open, header as associated data, seq as nonce) before it trusts or acts on
 * anything in the frame. Returns 0, PL_ERR_PARSE (truncated, unknown type or version, bad
 * lengths, or an extension frame: its own module parses it), PL_ERR_AUTH (MAC mismatch). A
 * RELAY_DATA may carry an extension frame (PL_FRAME_EXT_MIN bytes or more). */
int pl_frame_parse(pl_frame *f, const uint8_t *data, size_t len, const pl_frame_keys *keys);

/* Reads the pairing ID and type without authenticating, so a receiver can find the pairing
 * (and its keys) first. Extension frames peek too (PL_FRAME_EXT_MIN..PL_FRAME_MAX_LEN bytes).
 * Returns 0 or PL_ERR_PARSE. */
int pl_frame_peek(const uint8_t *data, size_t len, uint8_t *ptype,
                  uint8_t pairing[PL_FRAME_PAIRING_LEN]);

/* Encodes `f` (type, pairing, sender, seq and the fields its type uses) with its MAC into buf.
 * DATA gets no MAC: f->payload is its sealed body, written as it is (seal it in place
 * afterwards, or before with the header as pl_frame_encode writes it). *plen receives the
 * length. Returns 0, PL_ERR_TOO_BIG (cap too small or payload too long), PL_ERR_INVALID
 * (unknown or extension type, bad address family, DATA shorter than its tag, RELAY_DATA not
 * around a PROBE..CLOSE or extension frame), PL_ERR_CRYPTO. The payload may overlap buf only
 * where it goes (buf + PL_FRAME_HEADER_LEN for DATA, buf + PL_FRAME_RELAY_HEADROOM for
 * RELAY_DATA). */
int pl_frame_encode(uint8_t *buf, size_t cap, size_t *plen, const pl_frame *f,
                    const pl_frame_keys *keys);

/* Replay protection: a sliding window over a sender's sequence numbers (as in IPsec/DTLS).
 * pl_replay_check returns 0 if `seq` is new (and records it), PL_ERR_AUTH if seen or too old. */
typedef struct pl_replay {
  uint64_t top;
  uint64_t bitmap; /* bit i: top - i was seen */
  int started;
} pl_replay;
int pl_replay_check(pl_replay *r, uint64_t seq);

#endif
