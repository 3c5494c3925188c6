/* The WatchEvents fan-out never loses an event silently: a watcher whose stream cannot take
 * one (send queue at its limit, no memory) is ended with RESOURCE_EXHAUSTED and a message; the
 * other watchers go on. Driven through fake calls (tests/unit/health/fake_rpc.h). */

#include <stdio.h>

#include "agent/events.h"
#include "control/common/err.h"
#include "tests/unit/common/check.h"
#include "tests/unit/health/fake_rpc.h"

static void publish_peer_event(pl_events *ev) {
  Peerlink__V1__RendezvousStateChanged rs = PEERLINK__V1__RENDEZVOUS_STATE_CHANGED__INIT;
  Peerlink__V1__Event e = PEERLINK__V1__EVENT__INIT;
  rs.detail = "test";
  e.kind_case = PEERLINK__V1__EVENT__KIND_RENDEZVOUS;
  e.rendezvous = &rs;
  pl_events_publish(ev, &e, NULL);
}

int main(void) {
  pl_events ev;
  pl_rpc_call fast, slow, broken;
  pl_events_init(&ev);
  fake_call_init(&fast);
  fake_call_init(&slow);
  fake_call_init(&broken);
  slow.hold = 1; /* its client reads nothing: every event stays queued */
  pl_rpc_call_set_send_limit(&slow, 2);
  CHECK_RV(pl_events_add(&ev, &fast), 0);
  CHECK_RV(pl_events_add(&ev, &slow), 0);
  CHECK_RV(pl_events_add(&ev, &broken), 0);
  broken.send_error = PL_ERR_NOMEM;

  publish_peer_event(&ev);
  CHECK(broken.finished);
  CHECK_U64(broken.code, ==, PL_RPC_RESOURCE_EXHAUSTED);
  CHECK_STR_CONTAINS(broken.message, "cannot queue an event");
  publish_peer_event(&ev);
  CHECK(!slow.finished); /* two queued: at the limit, not over it */
  publish_peer_event(&ev);
  CHECK_MSG(slow.finished, "a watcher at its send-queue limit was left with a silent gap");
  CHECK_U64(slow.code, ==, PL_RPC_RESOURCE_EXHAUSTED);
  CHECK_STR_CONTAINS(slow.message, "watcher too slow: 2 events queued");
  CHECK_U64(slow.n_sent, ==, 2);
  CHECK(!fast.finished);
  CHECK_U64(fast.n_sent, ==, 3);
  CHECK_U64(ev.published, ==, 3);

  /* Ended watchers stay linked until their on_done; publishing to them is harmless. */
  publish_peer_event(&ev);
  CHECK_U64(fast.n_sent, ==, 4);
  pl_events_remove(&ev, &slow);
  pl_events_remove(&ev, &broken);
  pl_events_remove(&ev, &fast);
  CHECK_U64(ev.count, ==, 0);
  fake_call_clear(&fast);
  fake_call_clear(&slow);
  fake_call_clear(&broken);
  printf("events_test: ok\n");
  return 0;
}
