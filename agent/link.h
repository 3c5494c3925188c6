#ifndef PEERLINK_AGENT_LINK_H
#define PEERLINK_AGENT_LINK_H

/* The agent's links: a link is the agent's connection to one peer, made from a rendezvous
 * Offer or from explicit candidates. Each drives a punch state machine (agent/punch/punch.h)
 * and a channel (agent/channel.h: datagrams and reliable messages in end-to-end sealed DATA
 * frames) from one libuv timer, sends the datagrams they produce through a pl_link_io (the UDP
 * transport, or the Register stream for the relay over TCP) and tells its owner about path
 * changes, arriving datagrams and messages, and the end of each reliable message through a
 * pl_link_observer. Links know nothing of the agent, gRPC or events.
 *
 * link.c: the table and each link's lifecycle; link_pump.c: the datagram pump (timer, receive,
 * send); link_data.c: the channel (datagrams, reliable messages). */

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "agent/channel.h"
#include "agent/punch/punch.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/rendezvous.pb-c.h"

#define PL_LINK_PAIRING_HEX (2 * PL_FRAME_PAIRING_LEN)
#define PL_LINK_PEER_HEX (2 * PL_FRAME_ID_LEN)

typedef struct pl_link pl_link;

/* Where a link's datagrams go. Both return 0 when the datagram left (as far as this host can
 * tell) or a negative PL_ERR_* when it was dropped here; the link reports that to its sender. */
typedef struct pl_link_io {
  /* On the UDP socket: PL_ERR_IO, PL_ERR_CLOSED. */
  int (*send_udp)(void *arg, const struct sockaddr *dst, const uint8_t *data, size_t len);
  /* Over the Register stream to the rendezvous, which relays it: PL_ERR_CLOSED (no stream:
   * not registered), PL_ERR_FULL (the stream's send queue is at its limit), PL_ERR_NOMEM. */
  int (*send_stream)(void *arg, const char *pairing_id, const uint8_t *data, size_t len);
  void *arg;
} pl_link_io;

typedef struct pl_link_observer {
  /* The link's path changed (detail e.g. "none -> direct"), or the link is closing (path NONE,
   * detail the reason; the link is freed after this returns). */
  void (*on_path)(void *arg, pl_link *link, const char *detail);
  /* A datagram from the peer (valid during the call). */
  void (*on_data)(void *arg, pl_link *link, const uint8_t *data, size_t len);
  /* A reliable message from the peer: in order, exactly once (valid during the call). */
  void (*on_message)(void *arg, pl_link *link, const uint8_t *data, size_t len);
  /* One of our reliable messages (pl_link_send_reliable's msg_id) is over: err 0 when the peer
   * acknowledged it; otherwise it will not be: PL_ERR_TIMEOUT (the peer stopped acknowledging:
   * gone, or the path lost; the link closes right after) or PL_ERR_CLOSED (the link is
   * closing). `why` says so for a person. Every message ends here exactly once. */
  void (*on_sent)(void *arg, pl_link *link, uint64_t msg_id, int err, const char *why);
  void *arg;
} pl_link_observer;

/* Receives the extension frames (agent/wire/frame.h, 0x24-0x27) of one type for every link:
 * `frame` is the whole frame (valid during the call), from the peer's address when it came
 * directly, NULL when the relay carried it. The receiver authenticates it; it must not close
 * the link from here. */
typedef void (*pl_link_ext_fn)(void *arg, pl_link *link, const struct sockaddr *from,
                               const uint8_t *frame, size_t len);

#define PL_LINK_EXT_TYPES (PL_FRAME_EXT_LAST - PL_FRAME_EXT_FIRST + 1)

/* All links of one agent. Fill the configuration fields, then pl_links_init. */
typedef struct pl_links {
  uv_loop_t *loop;
  uint8_t self_id[PL_FRAME_ID_LEN];
  const char *self_fingerprint; /* our certificate's; decides roles with explicit candidates */
  uint64_t keepalive_us, dead_after_us, relay_after_us; /* 0: the punch defaults */
  /* Our long-term private key (SEC1 DER, borrowed): with the peer's public key and the
   * pairing secret it gives each link's end-to-end DATA keys (agent/wire/seal.h). */
  const uint8_t *self_key_der;
  size_t self_key_der_len;
  /* The reliable channel: the largest message (0: PL_RELIABLE_DEFAULT_MAX_MESSAGE) and how long
   * a fragment may go unacknowledged before the peer counts as gone (0: the default, 15 s). */
  size_t max_reliable_message;
  uint64_t reliable_give_up_us;
  pl_link_io io;
  pl_link_observer obs;
  /* Our candidates (borrowed; the owner keeps them current). */
  Peerlink__V1__Candidate **local;
  size_t n_local;
  /* The relay's host when an offer names only its port (the rendezvous we dialled). */
  const char *relay_host;
  /* Our side of every path as peers see it: the public mapping once STUN knows it, else the
   * bound socket address (one socket serves every path). Set with pl_links_set_local. */
  struct sockaddr_storage local_ep;
  int has_local_ep;

  pl_link *head;
  uint64_t dropped; /* frames for no link, or extension frames nobody receives */
  struct {
    pl_link_ext_fn recv;
    void *arg;
  } ext[PL_LINK_EXT_TYPES]; /* by type - PL_FRAME_EXT_FIRST; set with pl_links_set_ext */
} pl_links;

struct pl_link {
  pl_links *links;
  char pairing_id[PL_LINK_PAIRING_HEX + 1];
  uint8_t pairing[PL_FRAME_PAIRING_LEN];
  char peer_id[PL_LINK_PEER_HEX + 1]; /* "" until learned (explicit candidates) */
  char peer_name[65];
  /* The peer's certificate fingerprint (64 hex) the rendezvous vouched for or Connect gave: the
   * QUIC tunnel pins it. "" when unknown. */
  char peer_fingerprint[65];
  pl_punch *punch;
  pl_channel *chan;
  pl_punch_path path;
  /* The registration attempt whose stream brought its offer (0: made from candidates). A link
   * still without a path whose registration has since ended was paired by a registry that may
   * be gone (a rendezvous instance died mid-pairing): Connect asks for it again. */
  uint64_t via_registration;
  uv_timer_t timer;
  uint64_t created_us;  /* when the offer (or explicit Connect) arrived */
  uint64_t connect_us;  /* from created_us to the first working path; 0 until then */
  uint64_t send_failed; /* datagrams the io refused (probes, keep-alives, data) */
  int last_send_error;  /* the io's last refusal, 0 before any */
  struct pl_link *next;
};

/* Empties the table (extension receivers included); the configuration fields must be filled
 * already. */
void pl_links_init(pl_links *ls);
/* Routes extension frames of `type` to recv (NULL: dropped and counted). PL_ERR_INVALID when
 * `type` is not an extension type. */
int pl_links_set_ext(pl_links *ls, uint8_t type, pl_link_ext_fn recv, void *arg);
/* Our side of every path (see local_ep); NULL clears it. */
void pl_links_set_local(pl_links *ls, const struct sockaddr *local);

/* Creates the link an offer describes, replacing an older one to the same peer. *plink (may be
 * NULL) receives it. Returns 0, PL_ERR_INVALID (bad offer, no peer_public_key), PL_ERR_PARSE
 * (peer_public_key is not a P-256 SubjectPublicKeyInfo), PL_ERR_AUTH (the peer's ID is not its
 * key's), PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_link_from_offer(pl_links *ls, const Peerlink__V1__Offer *offer, pl_link **plink);

/* Creates a link from explicit candidates (no rendezvous): both sides derive the pairing ID
 * from the shared secret, so a second call with the same secret returns the existing link. The
 * peer's ID is its public key's (peer_key: SubjectPublicKeyInfo DER). Returns 0, PL_ERR_INVALID
 * (secret under 16 bytes, no usable candidate, our own key), PL_ERR_STATE (a link with this
 * secret exists to another peer), PL_ERR_PARSE (peer_key is not a P-256 SubjectPublicKeyInfo),
 * PL_ERR_NOMEM, PL_ERR_CRYPTO. */
int pl_link_from_candidates(pl_links *ls, Peerlink__V1__Candidate *const *cands, size_t n,
                            const uint8_t *secret, size_t secretlen, const char *peer_fingerprint,
                            const uint8_t *peer_key, size_t peer_key_len, pl_link **plink);

pl_link *pl_links_find_peer(const pl_links *ls, const char *peer_id);
/* The peer's record changed in the registry (UPDATED): UDP candidates its offer did not carry
 * are probed from now on (pl_punch_add_remote). Returns how many were added. */
size_t pl_link_learn_candidates(pl_link *l, Peerlink__V1__Candidate *const *cands, size_t n);
pl_link *pl_links_find_pairing(const pl_links *ls, const uint8_t pairing[PL_FRAME_PAIRING_LEN]);
/* The same by the pairing ID's hex text (NULL when malformed or unknown). */
pl_link *pl_links_find_pairing_hex(const pl_links *ls, const char *pairing_id);
size_t pl_links_count(const pl_links *ls);

/* Ends a link: sends CLOSE on its path (so the peer stops at once instead of timing the path
 * out), tells the observer (path NONE, `why`), then frees it once its timer has closed. */
void pl_link_close(pl_link *l, const char *why);
void pl_links_close_all(pl_links *ls, const char *why);

/* Fills a PeerPath for status, events and Connect answers. Strings point into `l` and ipbuf
 * (at least 128 bytes). */
void pl_link_describe(const pl_link *l, Peerlink__V1__PeerPath *out, Peerlink__V1__Endpoint *remote,
                      Peerlink__V1__Endpoint *local, char *ipbuf, size_t ipbuflen);
/* What was tried, for DEADLINE_EXCEEDED messages. */
void pl_link_describe_attempts(const pl_link *l, char *buf, size_t cap);
/* "none", "direct", "relay-udp", "relay-tcp". */
const char *pl_link_path_name(pl_path_kind kind);

/* ---- the pump (link_pump.c) ----------------------------------------------------------- */

/* A peerlink frame from the UDP transport: finds its link by pairing ID (counted in
 * ls->dropped when there is none). Matches pl_transport_recv_fn. */
void pl_links_recv_udp(void *links, const struct sockaddr *from, const uint8_t *data, size_t len);
/* A frame relayed over the Register stream for pairing_id (hex). */
void pl_links_recv_stream(pl_links *ls, const char *pairing_id, const uint8_t *data, size_t len);

/* ---- the channel (link_data.c) --------------------------------------------------------- */

/* Sends `payload` (at most PL_CHANNEL_MAX_DATAGRAM bytes) as one sealed DATA frame on the
 * link's path. Returns 0, PL_ERR_STATE (no path yet), PL_ERR_TOO_BIG, PL_ERR_CRYPTO, or what
 * the io refused with (PL_ERR_IO, PL_ERR_CLOSED, PL_ERR_FULL, PL_ERR_NOMEM; l->last_send_error
 * keeps it too). */
int pl_link_send(pl_link *l, const uint8_t *payload, size_t len);

/* Queues a reliable message for the peer; *pmsg_id receives its ID (1, 2, ... per link, the
 * order the peer delivers them in), and the observer's on_sent reports its end. Returns 0,
 *   PL_ERR_STATE    no path yet,
 *   PL_ERR_TOO_BIG  over the links' max_reliable_message,
 *   PL_ERR_FULL     the send window is full (messages or bytes waiting for their ACK),
 *   PL_ERR_CLOSED   the link is closing,
 *   PL_ERR_NOMEM. */
int pl_link_send_reliable(pl_link *l, const uint8_t *msg, size_t len, uint64_t *pmsg_id);
/* The reliable channel's limits, for messages that name them. */
size_t pl_link_max_reliable_message(const pl_links *ls);

/* Sends an extension frame (one the caller made and authenticated) on the link's path, inside
 * RELAY_DATA when the path is relayed. Bulk senders use pl_punch_route / pl_punch_wrap on
 * l->punch to batch instead. Returns 0, PL_ERR_STATE (no path), PL_ERR_INVALID (not an
 * extension frame), PL_ERR_TOO_BIG (over PL_FRAME_MAX_LEN, or PL_FRAME_EXT_MAX_RELAYED when
 * relayed), or what the io refused with (as pl_link_send). */
int pl_link_send_ext(pl_link *l, const uint8_t *frame, size_t len);

#endif
