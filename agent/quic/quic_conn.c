/* The QUIC connection: creation for either role, packets in and out, timers, and the end of the
 * connection with a detail a person understands (the pin, the peer's refusal, timeouts). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "agent/quic/quic_impl.h"
#include "control/common/err.h"
#include "control/common/random.h"

#define DEFAULT_IDLE_US 30000000
#define DEFAULT_HANDSHAKE_US 10000000
#define DEFAULT_STREAM_BUFFER STREAM_WINDOW_MAX /* never less than flow control allows */
#define SCID_LEN 16
#define CLOSE_RESENDS 8 /* answers with our CONNECTION_CLOSE during the closing period */
#define TLS_ALERT_BAD_CERTIFICATE 42

/* Flow control: windows start here and ngtcp2 grows them (auto-tuning) up to the maxima. */
#define STREAM_WINDOW (1u << 20)
#define STREAM_WINDOW_MAX (16u << 20)
#define CONN_WINDOW (4u << 20)
#define CONN_WINDOW_MAX (64u << 20)
#define MAX_STREAMS 100 /* open at once, per opener; credit is given back as streams close */

static ngtcp2_tstamp ts_of(uint64_t now) {
  return (ngtcp2_tstamp)now * PL_QUIC__NS;
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((pl_quic *)ref->user_data)->conn;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  if (pl_random_bytes(dest, len) != 0)
    memset(dest, 0, len); /* only for what ngtcp2 randomises to be unpredictable, not keys */
}

static int new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *ud) {
  (void)conn;
  (void)ud;
  if (pl_random_bytes(cid->data, cidlen) != 0 ||
      pl_random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  cid->datalen = cidlen;
  return 0;
}

static int handshake_completed_cb(ngtcp2_conn *conn, void *ud) {
  pl_quic *q = ud;
  (void)conn;
  if (pl_quic__tls_check_peer(q) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  q->state = PL_QUIC__ESTABLISHED;
  q->established_pending = 1;
  q->detail[0] = '\0';
  return 0;
}

static const char *alert_name(uint8_t alert) {
  switch (alert) {
  case 40: return "handshake_failure";
  case 42: return "bad_certificate";
  case 46: return "certificate_unknown";
  case 48: return "unknown_ca";
  case 51: return "decrypt_error";
  case 80: return "internal_error";
  case 116: return "certificate_required";
  case 120: return "no_application_protocol";
  default: return "alert";
  }
}

/* --- the end ----------------------------------------------------------------------------- */

/* Ends the connection at once: nothing more is sent (idle timeout, the peer closed, a packet
 * ngtcp2 says to drop the connection for). */
static void set_done(pl_quic *q) {
  q->state = PL_QUIC__DONE;
  q->close_requested = 0;
  q->close_due = 0;
}

/* Asks for a CONNECTION_CLOSE at the next pl_quic_write. */
static void request_close(pl_quic *q) {
  if (q->state >= PL_QUIC__CLOSING || q->close_requested)
    return;
  q->close_requested = 1;
}

static void close_tls(pl_quic *q, uint8_t alert) {
  const char *reason = q->close_reason[0] ? q->close_reason : q->detail;
  ngtcp2_connection_close_error_set_transport_error_tls_alert(
      &q->ccerr, alert, (const uint8_t *)reason, strlen(reason));
  request_close(q);
}

/* The peer sent CONNECTION_CLOSE: say what it said. */
static void peer_closed(pl_quic *q) {
  ngtcp2_connection_close_error cc;
  ngtcp2_conn_get_connection_close_error(q->conn, &cc);
  int n = (int)(cc.reasonlen < 120 ? cc.reasonlen : 120);
  const char *reason = cc.reason ? (const char *)cc.reason : "";
  if (cc.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
      (cc.error_code & ~(uint64_t)0xff) == NGTCP2_CRYPTO_ERROR) {
    uint8_t alert = (uint8_t)cc.error_code;
    /* bad_certificate .. certificate_unknown, unknown_ca, certificate_required */
    q->auth_failed = (alert >= 42 && alert <= 46) || alert == 48 || alert == 116;
    if (alert == TLS_ALERT_BAD_CERTIFICATE)
      pl_quic__set_detail(q,
                          "the peer refused this agent's certificate (TLS alert 42 "
                          "bad_certificate: it pins another fingerprint)%s%.*s",
                          n ? ": " : "", n, reason);
    else
      pl_quic__set_detail(q, "the peer refused the handshake (TLS alert %u %s)%s%.*s", alert,
                          alert_name(alert), n ? ": " : "", n, reason);
  } else if (cc.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
    pl_quic__set_detail(q, "closed by the peer (code %llu)%s%.*s",
                        (unsigned long long)cc.error_code, n ? ": " : "", n, reason);
  } else {
    pl_quic__set_detail(q, "closed by the peer (QUIC error 0x%llx)%s%.*s",
                        (unsigned long long)cc.error_code, n ? ": " : "", n, reason);
  }
  set_done(q);
}

/* An ngtcp2 call failed with rv. */
static void on_error(pl_quic *q, int rv) {
  switch (rv) {
  case NGTCP2_ERR_DRAINING: peer_closed(q); return;
  case NGTCP2_ERR_DROP_CONN:
    pl_quic__set_detail(q, "dropped by QUIC (stateless reset or a fatal packet)");
    set_done(q);
    return;
  case NGTCP2_ERR_CRYPTO: {
    uint8_t alert = ngtcp2_conn_get_tls_alert(q->conn);
    if (q->detail[0] == '\0')
      pl_quic__set_detail(q, "TLS handshake failed (alert %u %s)", alert, alert_name(alert));
    close_tls(q, alert ? alert : TLS_ALERT_BAD_CERTIFICATE);
    return;
  }
  case NGTCP2_ERR_CALLBACK_FAILURE:
    /* Ours: the pin or ALPN check after the handshake (detail set), or out of memory. */
    if (q->detail[0] == '\0')
      pl_quic__set_detail(q, "internal error in the QUIC glue");
    close_tls(q, TLS_ALERT_BAD_CERTIFICATE);
    return;
  default:
    if (!ngtcp2_err_is_fatal(rv))
      return;
    pl_quic__set_detail(q, "QUIC error: %s", ngtcp2_strerror(rv));
    ngtcp2_connection_close_error_set_transport_error_liberr(&q->ccerr, rv, NULL, 0);
    request_close(q);
  }
}

/* What the user hears once an ngtcp2 call has returned: established, and the end. */
static void after_call(pl_quic *q) {
  pl_quic__after_streams(q);
  if (q->established_pending && q->state == PL_QUIC__ESTABLISHED && !q->close_requested) {
    q->established_pending = 0;
    if (q->cb && q->cb->established)
      q->cb->established(q->arg, q);
  }
  if (!q->closed_reported && (q->close_requested || q->state >= PL_QUIC__CLOSING)) {
    q->closed_reported = 1;
    pl_quic__streams_end(q);
    if (q->cb && q->cb->closed)
      q->cb->closed(q->arg, q);
  }
  q->in_call--;
}

/* --- creation ---------------------------------------------------------------------------- */

static void fixed_addr(struct sockaddr_in *sin, const char *ip, uint16_t port) {
  memset(sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  inet_pton(AF_INET, ip, &sin->sin_addr);
}

static void fill_callbacks(ngtcp2_callbacks *cb, int client) {
  memset(cb, 0, sizeof *cb);
  if (client) {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  } else {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->handshake_completed = handshake_completed_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->rand = rand_cb;
  cb->get_new_connection_id = new_cid_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  pl_quic__streams_callbacks(cb);
}

static void fill_settings(ngtcp2_settings *s, ngtcp2_transport_params *tp,
                          const pl_quic_config *cfg) {
  ngtcp2_settings_default(s);
  s->initial_ts = ts_of(cfg->now);
  /* The packet travels in a peerlink frame, maybe inside RELAY_DATA: a fixed size that fits
   * both, and no path MTU discovery (the path ngtcp2 sees is not the one packets take). */
  s->max_tx_udp_payload_size = PL_QUIC_MAX_PACKET;
  s->no_pmtud = 1;
  s->handshake_timeout =
      (cfg->handshake_timeout_us ? cfg->handshake_timeout_us : DEFAULT_HANDSHAKE_US) * PL_QUIC__NS;
  s->max_window = CONN_WINDOW_MAX;
  s->max_stream_window = STREAM_WINDOW_MAX;

  ngtcp2_transport_params_default(tp);
  tp->initial_max_stream_data_bidi_local = STREAM_WINDOW;
  tp->initial_max_stream_data_bidi_remote = STREAM_WINDOW;
  tp->initial_max_stream_data_uni = 0; /* no QUIC uni streams: see quic_stream.c */
  tp->initial_max_data = CONN_WINDOW;
  tp->initial_max_streams_bidi = MAX_STREAMS;
  tp->initial_max_streams_uni = 0;
  tp->max_idle_timeout =
      (cfg->idle_timeout_us ? cfg->idle_timeout_us : DEFAULT_IDLE_US) * PL_QUIC__NS;
  /* The link moves packets between paths; QUIC must never try to migrate on its own. */
  tp->disable_active_migration = 1;
}

static int random_cid(ngtcp2_cid *cid, size_t len) {
  cid->datalen = len;
  return pl_random_bytes(cid->data, len) == 0 ? 0 : PL_ERR_CRYPTO;
}

static int conn_new(pl_quic *q, const pl_quic_config *cfg, const uint8_t *first, size_t firstlen) {
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid scid;
  fill_callbacks(&callbacks, q->client);
  fill_settings(&settings, &params, cfg);
  if (random_cid(&scid, SCID_LEN) != 0)
    return PL_ERR_CRYPTO;
  int rv;
  if (q->client) {
    if (random_cid(&q->first_dcid, SCID_LEN) != 0)
      return PL_ERR_CRYPTO;
    rv = ngtcp2_conn_client_new(&q->conn, &q->first_dcid, &scid, &q->path, NGTCP2_PROTO_VER_V1,
                                &callbacks, &settings, &params, NULL, q);
  } else {
    ngtcp2_pkt_hd hd;
    if (first == NULL || ngtcp2_accept(&hd, first, firstlen) != 0 || hd.type != NGTCP2_PKT_INITIAL)
      return PL_ERR_PARSE;
    q->first_dcid = hd.dcid;
    params.original_dcid = hd.dcid;
    params.stateless_reset_token_present = 1;
    if (pl_random_bytes(params.stateless_reset_token, sizeof params.stateless_reset_token) != 0)
      return PL_ERR_CRYPTO;
    rv = ngtcp2_conn_server_new(&q->conn, &hd.scid, &scid, &q->path, hd.version, &callbacks,
                                &settings, &params, NULL, q);
  }
  if (rv != 0)
    return rv == NGTCP2_ERR_NOMEM ? PL_ERR_NOMEM : PL_ERR_INVALID;
  return 0;
}

int pl_quic_new(pl_quic **pq, const pl_quic_config *cfg, const uint8_t *first, size_t firstlen) {
  if (pq == NULL || cfg == NULL || cfg->tls == NULL)
    return PL_ERR_INVALID;
  pl_quic *q = calloc(1, sizeof *q);
  if (q == NULL)
    return PL_ERR_NOMEM;
  q->cb = cfg->cb;
  q->arg = cfg->arg;
  q->client = cfg->client;
  memcpy(q->pin, cfg->pin, sizeof q->pin);
  q->stream_buffer = cfg->stream_buffer ? cfg->stream_buffer : DEFAULT_STREAM_BUFFER;
  q->handshake_timeout_us =
      cfg->handshake_timeout_us ? cfg->handshake_timeout_us : DEFAULT_HANDSHAKE_US;
  q->idle_timeout_us = cfg->idle_timeout_us ? cfg->idle_timeout_us : DEFAULT_IDLE_US;
  /* TEST-NET-1 addresses: a path that is plainly not a real one. */
  fixed_addr(&q->local_addr, q->client ? "192.0.2.1" : "192.0.2.2", q->client ? 1 : 2);
  fixed_addr(&q->remote_addr, q->client ? "192.0.2.2" : "192.0.2.1", q->client ? 2 : 1);
  q->path.local.addr = (ngtcp2_sockaddr *)&q->local_addr;
  q->path.local.addrlen = sizeof q->local_addr;
  q->path.remote.addr = (ngtcp2_sockaddr *)&q->remote_addr;
  q->path.remote.addrlen = sizeof q->remote_addr;
  q->conn_ref.get_conn = get_conn;
  q->conn_ref.user_data = q;
  ngtcp2_connection_close_error_default(&q->ccerr);
  pl_quic__set_detail(q, "handshake in progress");

  int rv = conn_new(q, cfg, first, firstlen);
  if (rv != 0)
    goto fail_conn;
  if ((rv = pl_quic__tls_session(q, cfg->tls)) != 0)
    goto fail_tls;
  ngtcp2_conn_set_tls_native_handle(q->conn, q->ssl);
  if (cfg->keepalive_us)
    ngtcp2_conn_set_keep_alive_timeout(q->conn, cfg->keepalive_us * PL_QUIC__NS);
  *pq = q;
  return 0;

fail_tls:
  wolfSSL_free(q->ssl);
  ngtcp2_conn_del(q->conn);
fail_conn:
  free(q);
  return rv;
}

void pl_quic_del(pl_quic *q) {
  if (q == NULL)
    return;
  pl_quic__streams_free(q);
  ngtcp2_conn_del(q->conn);
  wolfSSL_free(q->ssl);
  free(q);
}

/* --- packets and timers ------------------------------------------------------------------ */

int pl_quic_recv(pl_quic *q, const uint8_t *pkt, size_t len, uint64_t now) {
  if (q->state == PL_QUIC__DONE)
    return PL_ERR_CLOSED;
  q->packets_received++;
  q->bytes_received += len;
  if (q->state == PL_QUIC__CLOSING) {
    /* RFC 9000 10.2.1: the peer did not hear our close; say it again (a bounded number). */
    if (q->close_resends < CLOSE_RESENDS) {
      q->close_resends++;
      q->close_due = 1;
    }
    return PL_ERR_CLOSED;
  }
  q->in_call++;
  ngtcp2_pkt_info pi = {0};
  int rv = ngtcp2_conn_read_pkt(q->conn, &q->path, &pi, pkt, len, ts_of(now));
  if (rv != 0)
    on_error(q, rv);
  after_call(q);
  return q->state >= PL_QUIC__CLOSING || q->close_requested ? PL_ERR_CLOSED : 0;
}

/* Makes the CONNECTION_CLOSE packet once; the closing period lasts three PTOs. */
static int write_close(pl_quic *q, uint64_t now) {
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(q->conn, NULL, NULL, q->close_pkt,
                                                      sizeof q->close_pkt, &q->ccerr, ts_of(now));
  q->close_requested = 0;
  if (n <= 0) {
    set_done(q); /* nothing to say it with (no keys yet): just stop */
    return 0;
  }
  q->close_len = (size_t)n;
  q->close_due = 1;
  q->state = PL_QUIC__CLOSING;
  q->close_deadline_us = now + 3 * (ngtcp2_conn_get_pto(q->conn) / PL_QUIC__NS) + 1;
  return 0;
}

int pl_quic_write(pl_quic *q, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  if (cap < PL_QUIC_MAX_PACKET || plen == NULL)
    return PL_ERR_INVALID;
  if (q->state < PL_QUIC__CLOSING && !q->close_requested) {
    q->in_call++;
    ngtcp2_ssize n = pl_quic__write_streams(q, buf, cap, ts_of(now));
    if (n < 0)
      on_error(q, (int)n);
    after_call(q);
    if (n > 0 && q->state < PL_QUIC__CLOSING && !q->close_requested) {
      q->packets_sent++;
      q->bytes_sent += (uint64_t)n;
      *plen = (size_t)n;
      return 1;
    }
    if (n == 0 && !q->close_requested)
      return 0;
  }
  if (q->close_requested)
    write_close(q, now);
  if (q->state == PL_QUIC__CLOSING && q->close_due) {
    q->close_due = 0;
    memcpy(buf, q->close_pkt, q->close_len);
    *plen = q->close_len;
    q->packets_sent++;
    q->bytes_sent += q->close_len;
    return 1;
  }
  return PL_ERR_CLOSED;
}

void pl_quic_write_end(pl_quic *q, uint64_t now) {
  if (q->state < PL_QUIC__CLOSING)
    ngtcp2_conn_update_pkt_tx_time(q->conn, ts_of(now));
}

uint64_t pl_quic_deadline(const pl_quic *q) {
  switch (q->state) {
  case PL_QUIC__DONE: return UINT64_MAX;
  case PL_QUIC__CLOSING: return q->close_deadline_us;
  default: break;
  }
  ngtcp2_tstamp t = ngtcp2_conn_get_expiry(q->conn);
  if (t == UINT64_MAX)
    return UINT64_MAX;
  return (t + PL_QUIC__NS - 1) / PL_QUIC__NS;
}

int pl_quic_handle_expiry(pl_quic *q, uint64_t now) {
  if (q->state == PL_QUIC__DONE)
    return PL_ERR_CLOSED;
  if (q->state == PL_QUIC__CLOSING) {
    if (now >= q->close_deadline_us)
      set_done(q);
    return PL_ERR_CLOSED;
  }
  q->in_call++;
  int rv = ngtcp2_conn_handle_expiry(q->conn, ts_of(now));
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    pl_quic__set_detail(q, "idle timeout: no packet from the peer for %llu ms",
                        (unsigned long long)(q->idle_timeout_us / 1000));
    set_done(q);
  } else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    pl_quic__set_detail(q, "the QUIC handshake did not complete within %llu ms",
                        (unsigned long long)(q->handshake_timeout_us / 1000));
    set_done(q);
  } else if (rv != 0) {
    on_error(q, rv);
  }
  after_call(q);
  return q->state >= PL_QUIC__CLOSING || q->close_requested ? PL_ERR_CLOSED : 0;
}

int pl_quic_close(pl_quic *q, uint64_t app_error, const char *reason, uint64_t now) {
  (void)now;
  if (q->state >= PL_QUIC__CLOSING || q->close_requested || q->closed_reported)
    return PL_ERR_CLOSED;
  const char *r = reason ? reason : "";
  pl_quic__set_detail(q, "closed here: %s", r);
  if (q->state == PL_QUIC__ESTABLISHED)
    ngtcp2_connection_close_error_set_application_error(&q->ccerr, app_error, (const uint8_t *)r,
                                                        strnlen(r, 200));
  else /* no application keys yet: only a transport close can be sent */
    ngtcp2_connection_close_error_set_transport_error(&q->ccerr, NGTCP2_APPLICATION_ERROR,
                                                      (const uint8_t *)r, strnlen(r, 200));
  request_close(q);
  int outside = q->in_call == 0;
  q->in_call++;
  if (outside) {
    after_call(q);
    pl_quic__wake(q);
  } else {
    q->in_call--; /* the running call's after_call reports it */
  }
  return 0;
}

/* --- introspection ----------------------------------------------------------------------- */

void pl_quic_get_info(const pl_quic *q, pl_quic_info *info) {
  memset(info, 0, sizeof *info);
  info->client = q->client;
  info->established = q->state == PL_QUIC__ESTABLISHED && !q->close_requested;
  info->closed = q->state >= PL_QUIC__CLOSING || q->close_requested;
  info->drained = q->state == PL_QUIC__DONE;
  info->auth_failed = q->auth_failed;
  memcpy(info->detail, q->detail, sizeof info->detail);
  if (info->established)
    info->detail[0] = '\0';
  if (q->conn) {
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(q->conn, &cs);
    info->rtt_us = cs.first_rtt_sample_ts != UINT64_MAX ? cs.smoothed_rtt / PL_QUIC__NS : 0;
    info->cwnd = cs.cwnd;
  }
  info->streams_open = q->streams_open;
  info->packets_sent = q->packets_sent;
  info->packets_received = q->packets_received;
  info->bytes_sent = q->bytes_sent;
  info->bytes_received = q->bytes_received;
}

/* The packet's Destination Connection ID; 0, or -1 when it does not decode. */
static int dcid_of(const uint8_t *pkt, size_t len, ngtcp2_version_cid *vc) {
  if (len == 0)
    return -1;
  return ngtcp2_pkt_decode_version_cid(vc, pkt, len, SCID_LEN) == 0 ? 0 : -1;
}

static int knows_dcid(const pl_quic *q, const uint8_t *dcid, size_t dcidlen) {
  if (dcidlen == q->first_dcid.datalen && memcmp(dcid, q->first_dcid.data, dcidlen) == 0)
    return 1;
  ngtcp2_cid scids[8];
  size_t n = ngtcp2_conn_get_num_scid(q->conn);
  if (n > sizeof scids / sizeof scids[0])
    return 1; /* more than we ever ask for: do not guess, let ngtcp2 decide */
  n = ngtcp2_conn_get_scid(q->conn, scids);
  for (size_t i = 0; i < n; i++)
    if (scids[i].datalen == dcidlen && memcmp(scids[i].data, dcid, dcidlen) == 0)
      return 1;
  return 0;
}

int pl_quic_owns(const pl_quic *q, const uint8_t *pkt, size_t len) {
  ngtcp2_version_cid vc;
  if (dcid_of(pkt, len, &vc) != 0)
    return 0;
  return knows_dcid(q, vc.dcid, vc.dcidlen);
}

int pl_quic_is_new_initial(const pl_quic *q, const uint8_t *pkt, size_t len) {
  ngtcp2_version_cid vc;
  /* A long header (bit 0x80) of type Initial (v1: type bits 0x30 clear). */
  if (q->client || len == 0 || !(pkt[0] & 0x80) || (pkt[0] & 0x30) != 0)
    return 0;
  if (dcid_of(pkt, len, &vc) != 0 || vc.version == 0)
    return 0;
  return !knows_dcid(q, vc.dcid, vc.dcidlen);
}
