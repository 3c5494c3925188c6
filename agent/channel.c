/* Channels in DATA: the channel byte, and the reliable channel behind it. */
#include "agent/channel.h"

#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"

struct pl_channel {
  pl_reliable *rel;
  size_t max_payload; /* the reliable part's */
  uint64_t datagrams_received, dropped;
};

int pl_channel_new(pl_channel **pc, const pl_reliable_config *cfg) {
  pl_reliable_config c;
  if (pc == NULL)
    return PL_ERR_INVALID;
  if (cfg)
    c = *cfg;
  else
    pl_reliable_config_default(&c);
  if (c.max_payload > PL_CHANNEL_MAX_RELIABLE_PAYLOAD)
    return PL_ERR_INVALID;
  pl_channel *ch = calloc(1, sizeof *ch);
  if (ch == NULL)
    return PL_ERR_NOMEM;
  int rv = pl_reliable_new(&ch->rel, &c);
  if (rv != 0) {
    free(ch);
    return rv;
  }
  ch->max_payload = c.max_payload;
  *pc = ch;
  return 0;
}

void pl_channel_del(pl_channel *c) {
  if (c == NULL)
    return;
  pl_reliable_del(c->rel);
  free(c);
}

int pl_channel_datagram(const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *plen) {
  if (len > PL_CHANNEL_MAX_DATAGRAM)
    return PL_ERR_TOO_BIG;
  if (out == NULL || plen == NULL || (data == NULL && len > 0))
    return PL_ERR_INVALID;
  if (cap < len + 1)
    return PL_ERR_TOO_BIG;
  out[0] = PL_CHANNEL_DATAGRAM;
  if (len)
    memcpy(out + 1, data, len);
  *plen = len + 1;
  return 0;
}

int pl_channel_recv(pl_channel *c, const uint8_t *plain, size_t len, uint64_t now,
                    const uint8_t **pdata, size_t *pdatalen) {
  if (c == NULL || pdata == NULL || pdatalen == NULL || (plain == NULL && len > 0))
    return PL_ERR_INVALID;
  if (len == 0) {
    c->dropped++;
    return PL_ERR_PARSE;
  }
  switch (plain[0]) {
  case PL_CHANNEL_DATAGRAM:
    c->datagrams_received++;
    *pdata = plain + 1;
    *pdatalen = len - 1;
    return 1;
  case PL_CHANNEL_RELIABLE: {
    int rv = pl_reliable_recv(c->rel, plain + 1, len - 1, now);
    if (rv == PL_ERR_PARSE)
      c->dropped++;
    return rv;
  }
  default: c->dropped++; return PL_ERR_PARSE;
  }
}

int pl_channel_send(pl_channel *c, const uint8_t *msg, size_t len, uint64_t now,
                    uint64_t *pmsg_id) {
  if (c == NULL)
    return PL_ERR_INVALID;
  return pl_reliable_send(c->rel, msg, len, now, pmsg_id);
}

int pl_channel_poll(pl_channel *c, uint64_t now, uint8_t *buf, size_t cap, size_t *plen) {
  if (c == NULL || buf == NULL || plen == NULL)
    return PL_ERR_INVALID;
  if (cap < c->max_payload + 1)
    return PL_ERR_TOO_BIG;
  size_t n;
  int rv = pl_reliable_poll(c->rel, now, buf + 1, cap - 1, &n);
  if (rv != 0)
    return rv;
  buf[0] = PL_CHANNEL_RELIABLE;
  *plen = n ? n + 1 : 0;
  return 0;
}

uint64_t pl_channel_deadline(const pl_channel *c) {
  return pl_reliable_deadline(c->rel);
}

int pl_channel_next_event(pl_channel *c, pl_reliable_event *ev) {
  return pl_reliable_next_event(c->rel, ev);
}

void pl_channel_close(pl_channel *c) {
  pl_reliable_close(c->rel);
}

void pl_channel_stats_get(const pl_channel *c, pl_channel_stats *stats) {
  memset(stats, 0, sizeof *stats);
  stats->datagrams_received = c->datagrams_received;
  stats->dropped = c->dropped;
  pl_reliable_stats_get(c->rel, &stats->reliable);
}
