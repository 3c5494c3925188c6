/* The TCP punch schedule and its report. */
#include "agent/tcp/tcp_punch.h"

#include <stdio.h>
#include <string.h>

#include "control/common/addr.h"
#include "control/common/err.h"

int pl_tcp_punch_init(pl_tcp_punch *p, const struct sockaddr_storage *remote, size_t n,
                      uint64_t start_us, uint64_t timeout_us, uint64_t retry_us) {
  memset(p, 0, sizeof *p);
  for (size_t i = 0; i < n && p->n < PL_TCP_PUNCH_MAX_REMOTE; i++) {
    if (remote[i].ss_family != AF_INET && remote[i].ss_family != AF_INET6)
      return PL_ERR_INVALID;
    p->t[p->n].addr = remote[i];
    p->t[p->n].next_us = start_us;
    p->n++;
  }
  if (p->n == 0)
    return PL_ERR_INVALID;
  p->start_us = start_us;
  p->deadline_us = start_us + (timeout_us ? timeout_us : PL_TCP_PUNCH_TIMEOUT_US);
  p->retry_us = retry_us ? retry_us : PL_TCP_PUNCH_RETRY_US;
  p->state = PL_TCP_PUNCH_TRYING;
  snprintf(p->detail, sizeof p->detail, "connecting");
  return 0;
}

int pl_tcp_punch_poll(pl_tcp_punch *p, uint64_t now, size_t *pidx) {
  if (p->state != PL_TCP_PUNCH_TRYING || now >= p->deadline_us)
    return 0;
  for (size_t i = 0; i < p->n; i++) {
    if (!p->t[i].busy && now >= p->t[i].next_us) {
      p->t[i].busy = 1;
      p->t[i].attempts++;
      *pidx = i;
      return 1;
    }
  }
  return 0;
}

void pl_tcp_punch_failed(pl_tcp_punch *p, size_t idx, const char *why, int refused, uint64_t now) {
  if (idx >= p->n)
    return;
  pl_tcp_punch_target *t = &p->t[idx];
  t->busy = 0;
  t->next_us = now + p->retry_us;
  t->refused += refused != 0;
  snprintf(t->last_error, sizeof t->last_error, "%s", why);
}

void pl_tcp_punch_up(pl_tcp_punch *p) {
  p->connections++;
}

void pl_tcp_punch_auth_failed(pl_tcp_punch *p, const char *why) {
  p->auth_failures++;
  snprintf(p->auth_why, sizeof p->auth_why, "%s", why);
}

void pl_tcp_punch_won(pl_tcp_punch *p) {
  p->state = PL_TCP_PUNCH_CONNECTED;
  snprintf(p->detail, sizeof p->detail, "connected");
}

/* "198.18.1.2:4000, 10.77.2.2:4000" */
static void targets_text(const pl_tcp_punch *p, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < p->n && used < cap; i++) {
    char a[80];
    pl_addr_format((const struct sockaddr *)&p->t[i].addr, a, sizeof a);
    int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", a);
    if (w < 0)
      break;
    used += (size_t)w;
  }
}

static void explain(pl_tcp_punch *p) {
  char list[160];
  unsigned secs = (unsigned)((p->deadline_us - p->start_us + 500000) / 1000000);
  if (p->auth_failures) {
    /* auth_why reads "auth failed: ..." already (tcp_session.c). */
    snprintf(p->detail, sizeof p->detail, "%s", p->auth_why);
    return;
  }
  for (size_t i = 0; i < p->n; i++) {
    if (p->t[i].refused) {
      char a[80];
      pl_addr_format((const struct sockaddr *)&p->t[i].addr, a, sizeof a);
      snprintf(p->detail, sizeof p->detail, "refused: %s answered with a reset (%u of %u attempts)",
               a, p->t[i].refused, p->t[i].attempts);
      return;
    }
  }
  targets_text(p, list, sizeof list);
  if (p->connections)
    snprintf(p->detail, sizeof p->detail,
             "timed out after %u s: a connection came up but its handshake did not complete", secs);
  else
    snprintf(p->detail, sizeof p->detail, "timed out after %u s: no answer from %s", secs, list);
}

int pl_tcp_punch_expire(pl_tcp_punch *p, uint64_t now) {
  if (p->state != PL_TCP_PUNCH_TRYING || now < p->deadline_us)
    return 0;
  p->state = PL_TCP_PUNCH_FAILED;
  explain(p);
  return 1;
}

uint64_t pl_tcp_punch_deadline(const pl_tcp_punch *p) {
  if (p->state != PL_TCP_PUNCH_TRYING)
    return UINT64_MAX;
  uint64_t d = p->deadline_us;
  for (size_t i = 0; i < p->n; i++)
    if (!p->t[i].busy && p->t[i].next_us < d)
      d = p->t[i].next_us;
  return d;
}
