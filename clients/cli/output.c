/* Text for people: status as aligned "key: value" lines, peers as a table, events as one
 * key=value line each. Scripts should use --json; this format may change. */

#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "clients/cli/cli.h"
#include "peerlink/v1/common.pb-c.h"

const char *pl_cli_enum_label(const ProtobufCEnumDescriptor *desc, int value, char *buf,
                              size_t buflen) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
  if (!v) {
    snprintf(buf, buflen, "%d", value);
    return buf;
  }
  /* Values are prefixed with their enum's name in UPPER_SNAKE (buf lint wants that). */
  char prefix[128];
  size_t n = 0;
  for (const char *s = desc->short_name; *s && n + 3 < sizeof(prefix); s++) {
    if (isupper((unsigned char)*s) && s != desc->short_name)
      prefix[n++] = '_';
    prefix[n++] = (char)toupper((unsigned char)*s);
  }
  prefix[n++] = '_';
  const char *name = v->name;
  if (!strncmp(name, prefix, n) && name[n])
    name += n;
  size_t i = 0;
  for (; name[i] && i + 1 < buflen; i++)
    buf[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
  if (buflen)
    buf[i] = '\0';
  return buf;
}

static const char *dash(const char *s) {
  return s && *s ? s : "-";
}

static const char *fmt_endpoint(char *buf, size_t len, const Peerlink__V1__Endpoint *ep) {
  if (!ep || (!(ep->ip && *ep->ip) && !ep->port))
    return "-";
  /* IPv6 addresses carry colons: bracket them as in a URL */
  snprintf(buf, len, strchr(dash(ep->ip), ':') ? "[%s]:%" PRIu32 : "%s:%" PRIu32, dash(ep->ip),
           ep->port);
  return buf;
}

/* "ipv4:1.2.3.4:5" as gRPC reports peers → "1.2.3.4:5" */
static const char *strip_scheme(const char *addr) {
  if (addr && (!strncmp(addr, "ipv4:", 5) || !strncmp(addr, "ipv6:", 5)))
    return addr + 5;
  return dash(addr);
}

static const char *fmt_local_time(char *buf, size_t len, int64_t unix_ms, int with_ms) {
  if (unix_ms <= 0)
    return "-";
  time_t t = (time_t)(unix_ms / 1000);
  struct tm tm;
  if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
    return "-";
  if (with_ms) {
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, ".%03d", (int)(unix_ms % 1000));
  }
  return buf;
}

static const char *fmt_uptime(char *buf, size_t len, uint64_t s) {
  uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
  if (d)
    snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m", d, h, m);
  else if (h)
    snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", h, m, s % 60);
  else if (m)
    snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", m, s % 60);
  else
    snprintf(buf, len, "%" PRIu64 "s", s);
  return buf;
}

/* Length of the valid UTF-8 sequence at s, 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
  if (!len || len > n)
    return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  return len; /* overlong 3/4-byte forms pass; this only decides what is safe to show */
}

/* A value in a key=value line: bare when that is unambiguous, else quoted with escapes. */
static void put_value(FILE *out, const char *data, size_t len) {
  const unsigned char *s = (const unsigned char *)data;
  int bare = len > 0;
  for (size_t i = 0; i < len && bare; i++)
    bare = s[i] > 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '=' && s[i] != '\\';
  if (bare) {
    fwrite(data, 1, len, out);
    return;
  }
  fputc('"', out);
  for (size_t i = 0; i < len;) {
    size_t u = s[i] >= 0x80 ? utf8_len(s + i, len - i) : 0;
    if (u) {
      fwrite(s + i, 1, u, out);
      i += u;
      continue;
    }
    unsigned char c = s[i++];
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", out);
    else if (c == '\t')
      fputs("\\t", out);
    else if (c < 0x20 || c >= 0x7f)
      fprintf(out, "\\x%02x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

static void put_kv(FILE *out, const char *key, const char *value) {
  fprintf(out, " %s=", key);
  put_value(out, value ? value : "", value ? strlen(value) : 0);
}

/* ---- status ---- */

static void line(FILE *out, const char *key, const char *value) {
  fprintf(out, "%-19s%s\n", key, dash(value));
}

static void format_path(FILE *out, const Peerlink__V1__PeerPath *p) {
  char kind[64], local[80], remote[80];
  fprintf(out, "  %s", dash(p->peer_id));
  if (p->peer_name && *p->peer_name)
    put_kv(out, "name", p->peer_name);
  fprintf(out, " kind=%s local=%s remote=%s",
          pl_cli_enum_label(&peerlink__v1__path_kind__descriptor, p->kind, kind, sizeof(kind)),
          fmt_endpoint(local, sizeof(local), p->local),
          fmt_endpoint(remote, sizeof(remote), p->remote));
  if (p->rtt_us)
    fprintf(out, " rtt=%.1fms", (double)p->rtt_us / 1000.0);
  if (p->connect_ms)
    fprintf(out, " connected_in=%" PRIu64 "ms", p->connect_ms);
  fputc('\n', out);
}

void pl_cli_format_status(FILE *out, const Peerlink__V1__GetStatusResponse *st) {
  char buf[300], state[64];
  line(out, "id:", st->id);
  line(out, "name:", st->name);
  line(out, "version:", st->version);
  line(out, "uptime:", fmt_uptime(buf, sizeof(buf), st->uptime_seconds));
  pl_cli_enum_label(&peerlink__v1__rendezvous_state__descriptor, st->rendezvous_state, state,
                    sizeof(state));
  if (st->rendezvous_address && *st->rendezvous_address)
    snprintf(buf, sizeof(buf), "%s (%s)", state, st->rendezvous_address);
  else
    snprintf(buf, sizeof(buf), "%s", state);
  line(out, "rendezvous:", buf);
  line(out, "control address:", st->control_address);
  line(out, "udp address:", st->udp_address);
  line(out, "public endpoint:", fmt_endpoint(buf, sizeof(buf), st->public_endpoint));
  line(out, "nat:",
       pl_cli_enum_label(&peerlink__v1__nat_behavior__descriptor, st->nat_behavior, buf,
                         sizeof(buf)));
  line(out, "certificate:", st->cert_fingerprint);
  snprintf(buf, sizeof(buf), "%" PRIu64 " unauthenticated", st->dropped_unauthenticated);
  line(out, "dropped datagrams:", buf);
  snprintf(buf, sizeof(buf), "%zu", st->n_peers);
  line(out, "paths:", buf);
  for (size_t i = 0; i < st->n_peers; i++)
    format_path(out, st->peers[i]);
}

/* ---- peers ---- */

void pl_cli_format_peers(FILE *out, const Peerlink__V1__ListPeersResponse *lp) {
  if (!lp->n_peers) {
    fputs("no peers\n", out);
    return;
  }
  int wid = 2, wname = 4, waddr = 7;
  for (size_t i = 0; i < lp->n_peers; i++) {
    const Peerlink__V1__AgentInfo *a = lp->peers[i];
    int n;
    if ((n = (int)strlen(dash(a->id))) > wid)
      wid = n;
    if ((n = (int)strlen(dash(a->name))) > wname)
      wname = n;
    if ((n = (int)strlen(strip_scheme(a->observed_address))) > waddr)
      waddr = n;
  }
  fprintf(out, "%-*s  %-*s  %-*s  %s\n", wid, "ID", wname, "NAME", waddr, "ADDRESS",
          "REGISTERED SINCE");
  for (size_t i = 0; i < lp->n_peers; i++) {
    const Peerlink__V1__AgentInfo *a = lp->peers[i];
    char when[64];
    fprintf(out, "%-*s  %-*s  %-*s  %s\n", wid, dash(a->id), wname, dash(a->name), waddr,
            strip_scheme(a->observed_address),
            fmt_local_time(when, sizeof(when), a->registered_unix_ms, 0));
  }
}

/* ---- events ---- */

void pl_cli_format_event(FILE *out, const Peerlink__V1__Event *ev) {
  char when[64], label[64], ep[80];
  fputs(fmt_local_time(when, sizeof(when), ev->unix_ms, 1), out);
  switch (ev->kind_case) {
  case PEERLINK__V1__EVENT__KIND_RENDEZVOUS: {
    const Peerlink__V1__RendezvousStateChanged *r = ev->rendezvous;
    fprintf(out, " rendezvous state=%s",
            pl_cli_enum_label(&peerlink__v1__rendezvous_state__descriptor, r->state, label,
                              sizeof(label)));
    if (r->detail && *r->detail)
      put_kv(out, "detail", r->detail);
    break;
  }
  case PEERLINK__V1__EVENT__KIND_PEER_LIST: {
    const Peerlink__V1__PeerListChanged *p = ev->peer_list;
    const Peerlink__V1__AgentInfo *a = p->peer;
    fputs(p->joined ? " peer-joined" : " peer-left", out);
    if (a) {
      put_kv(out, "id", a->id);
      if (a->name && *a->name)
        put_kv(out, "name", a->name);
      if (a->observed_address && *a->observed_address)
        put_kv(out, "address", strip_scheme(a->observed_address));
    }
    break;
  }
  case PEERLINK__V1__EVENT__KIND_PATH: {
    const Peerlink__V1__PathChanged *pc = ev->path;
    const Peerlink__V1__PeerPath *p = pc->path;
    fputs(" path", out);
    if (p) {
      put_kv(out, "peer", p->peer_id);
      if (p->peer_name && *p->peer_name)
        put_kv(out, "name", p->peer_name);
      fprintf(
          out, " kind=%s",
          pl_cli_enum_label(&peerlink__v1__path_kind__descriptor, p->kind, label, sizeof(label)));
      fprintf(out, " local=%s", fmt_endpoint(ep, sizeof(ep), p->local));
      fprintf(out, " remote=%s", fmt_endpoint(ep, sizeof(ep), p->remote));
      if (p->rtt_us)
        fprintf(out, " rtt=%.1fms", (double)p->rtt_us / 1000.0);
    }
    if (pc->detail && *pc->detail)
      put_kv(out, "detail", pc->detail);
    break;
  }
  case PEERLINK__V1__EVENT__KIND_MESSAGE: {
    const Peerlink__V1__MessageReceived *m = ev->message;
    fputs(" message", out);
    put_kv(out, "from", m->peer_id);
    fprintf(
        out, " delivery=%s bytes=%zu data=",
        pl_cli_enum_label(&peerlink__v1__delivery__descriptor, m->delivery, label, sizeof(label)),
        m->data.len);
    put_value(out, (const char *)m->data.data, m->data.len);
    break;
  }
  case PEERLINK__V1__EVENT__KIND_NAT: {
    const Peerlink__V1__NatChanged *n = ev->nat;
    fprintf(out, " nat behavior=%s public=%s",
            pl_cli_enum_label(&peerlink__v1__nat_behavior__descriptor, n->behavior, label,
                              sizeof(label)),
            fmt_endpoint(ep, sizeof(ep), n->public_endpoint));
    if (n->tcp_public_endpoint)
      fprintf(out, " tcp_public=%s", fmt_endpoint(ep, sizeof(ep), n->tcp_public_endpoint));
    break;
  }
  case PEERLINK__V1__EVENT__KIND_FILE: {
    const Peerlink__V1__FileReceived *f = ev->file;
    fputs(" file", out);
    put_kv(out, "from", f->peer_id);
    put_kv(out, "name", f->name);
    if (f->path && *f->path)
      put_kv(out, "path", f->path);
    fprintf(out, " size=%" PRIu64, f->size);
    if (f->sha256 && *f->sha256)
      put_kv(out, "sha256", f->sha256);
    if (f->error && *f->error)
      put_kv(out, "error", f->error);
    break;
  }
  case PEERLINK__V1__EVENT__KIND_QUIC: {
    const Peerlink__V1__QuicChanged *q = ev->quic;
    fputs(" quic", out);
    put_kv(out, "peer", q->peer_id);
    if (q->state) {
      fprintf(out, " established=%s role=%s", q->state->established ? "yes" : "no",
              q->state->client ? "client" : "server");
      if (q->state->detail && *q->state->detail)
        put_kv(out, "detail", q->state->detail);
    }
    break;
  }
  default:
    fputs(" event kind=unknown", out); /* from a newer agent */
    break;
  }
  fputc('\n', out);
}

/* ---- bench and progress ---- */

const char *pl_cli_fmt_bytes(char *buf, size_t len, uint64_t bytes) {
  static const char *const units[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, len, "%" PRIu64 " Bytes", bytes);
  else
    snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

const char *pl_cli_fmt_bits(char *buf, size_t len, double bps) {
  static const char *const units[] = {"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec",
                                      "Tbits/sec"};
  double v = bps > 0 ? bps : 0;
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    u++;
  }
  snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

static int is_udp(const Peerlink__V1__BenchmarkReport *r) {
  return r->transport == PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_UDP ||
         r->transport == PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_UNSPECIFIED;
}

/* "3/1000 (0.3%)": datagrams lost of those sent. */
static void put_lost(FILE *out, uint64_t lost, uint64_t sent) {
  fprintf(out, "%" PRIu64 "/%" PRIu64 " (%.2g%%)", lost, sent,
          sent ? 100.0 * (double)lost / (double)sent : 0.0);
}

void pl_cli_format_bench_head(FILE *out) {
  fprintf(out, "%-17s  %-12s  %-15s  %-12s  %s\n", "Interval", "Sent", "Bitrate", "Received",
          "Receiver");
}

void pl_cli_format_bench_interval(FILE *out, const Peerlink__V1__BenchmarkReport *r,
                                  uint64_t prev_ms) {
  char sent[32], rate[32], recv[32], rrate[32];
  fprintf(out, "%6.2f-%-6.2f sec  %-12s  %-15s  %-12s  %s", (double)prev_ms / 1000.0,
          (double)r->elapsed_ms / 1000.0, pl_cli_fmt_bytes(sent, sizeof(sent), r->bytes_sent),
          pl_cli_fmt_bits(rate, sizeof(rate), r->sender_bps),
          pl_cli_fmt_bytes(recv, sizeof(recv), r->bytes_received),
          pl_cli_fmt_bits(rrate, sizeof(rrate), r->receiver_bps));
  if (is_udp(r)) {
    fputs("  lost ", out);
    put_lost(out, r->lost, r->packets_sent);
  }
  fputc('\n', out);
}

void pl_cli_format_bench_summary(FILE *out, const Peerlink__V1__BenchmarkReport *r) {
  char a[32], b[32], kind[32];
  double s = (double)r->elapsed_ms / 1000.0;
  int udp = is_udp(r);
  const char *unit = udp ? "datagrams" : "chunks";
  fputs("- - - - - - - - - - - - - - - - - - - - - - - - -\n", out);
  fprintf(out, "transport: %s\n",
          pl_cli_enum_label(&peerlink__v1__benchmark_transport__descriptor,
                            udp ? PEERLINK__V1__BENCHMARK_TRANSPORT__BENCHMARK_TRANSPORT_UDP
                                : (int)r->transport,
                            kind, sizeof(kind)));
  fprintf(out, "%6.2f-%-6.2f sec  %-12s  %-15s  %" PRIu64 " %s  cpu %.2f s  sender\n", 0.0, s,
          pl_cli_fmt_bytes(a, sizeof(a), r->bytes_sent),
          pl_cli_fmt_bits(b, sizeof(b), r->sender_bps), r->packets_sent, unit,
          r->sender_cpu_seconds);
  fprintf(out, "%6.2f-%-6.2f sec  %-12s  %-15s  %" PRIu64 " %s", 0.0, s,
          pl_cli_fmt_bytes(a, sizeof(a), r->bytes_received),
          pl_cli_fmt_bits(b, sizeof(b), r->receiver_bps), r->packets_received, unit);
  if (udp) {
    fputs("  lost ", out);
    put_lost(out, r->lost, r->packets_sent);
    fprintf(out, "  jitter %.3f ms  out of order %" PRIu64, r->jitter_us / 1000.0, r->out_of_order);
  }
  fprintf(out, "  cpu %.2f s  receiver\n", r->receiver_cpu_seconds);
}

const char *pl_cli_fmt_bar(char *buf, size_t len, double fraction, int width) {
  if (fraction < 0 || fraction != fraction)
    fraction = 0;
  if (fraction > 1)
    fraction = 1;
  int fill = (int)(fraction * width + 0.5);
  size_t n = 0;
  if (n + 1 < len)
    buf[n++] = '[';
  for (int i = 0; i < width && n + 1 < len; i++)
    buf[n++] = i < fill ? '#' : ' ';
  if (n + 1 < len)
    buf[n++] = ']';
  snprintf(buf + n, len > n ? len - n : 0, " %3d%%", (int)(fraction * 100));
  return buf;
}
