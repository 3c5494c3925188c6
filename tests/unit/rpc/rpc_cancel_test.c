/* Calls that end early: the client cancels mid-stream, the channel is freed with calls in
 * flight, the server shuts down with calls in flight. Each side must see the end exactly once
 * and free everything (the ASan build checks the freeing). */

#include <string.h>

#include "control/common/err.h"
#include "peerlink/v1/agent.pb-c.h"
#include "tests/unit/rpc/harness.h"

#define GSR &peerlink__v1__get_status_response__descriptor
#define EV &peerlink__v1__event__descriptor
#define NCALLS 3

typedef struct scenario {
  harness h;
  pl_rpc_client_call *calls[NCALLS];
  int ncalls;
  int statuses;
  pl_rpc_status codes[NCALLS];
  char messages[NCALLS][128];
  int messages_seen[NCALLS];
  int stopping;
  /* What the scenario does once every call is hanging on the server. */
  void (*all_hanging)(struct scenario *sc);
} scenario;

static void maybe_stop(scenario *sc) {
  if (sc->stopping || sc->statuses < sc->ncalls || sc->h.echo.done < sc->ncalls)
    return;
  sc->stopping = 1;
  harness_stop(&sc->h, 0);
}

static int index_of(scenario *sc, pl_rpc_client_call *call) {
  for (int i = 0; i < sc->ncalls; i++)
    if (sc->calls[i] == call)
      return i;
  CHECK(0);
  return -1;
}

static void sc_on_message(pl_rpc_client_call *call, const ProtobufCMessage *msg, void *arg) {
  (void)msg;
  scenario *sc = arg;
  sc->messages_seen[index_of(sc, call)]++;
}

static void sc_on_status(pl_rpc_client_call *call, pl_rpc_status code, const char *message,
                         void *arg) {
  scenario *sc = arg;
  int i = index_of(sc, call);
  sc->calls[i] = NULL; /* freed after this returns */
  sc->codes[i] = code;
  snprintf(sc->messages[i], sizeof(sc->messages[i]), "%s", message);
  fprintf(stderr, "  call %d: %s \"%s\"\n", i, pl_rpc_status_name(code), message);
  sc->statuses++;
  maybe_stop(sc);
}

static const pl_rpc_client_callbacks sc_callbacks = {sc_on_message, sc_on_status};

static void on_hang(echo_state *st, pl_rpc_call *call, void *arg) {
  scenario *sc = arg;
  (void)call;
  if (st->n_hanging == sc->ncalls && sc->all_hanging)
    sc->all_hanging(sc);
}

static void on_server_done(echo_state *st, void *arg) {
  (void)st;
  maybe_stop(arg);
}

static void scenario_start(scenario *sc, const char *name, int ncalls, const char *method) {
  memset(sc, 0, sizeof(*sc));
  harness_init(&sc->h, name, 30000);
  sc->h.echo.on_hang = on_hang;
  sc->h.echo.on_done = on_server_done;
  sc->h.echo.hook_arg = sc;
  harness_start_server(&sc->h, NULL);
  harness_open_channel(&sc->h, NULL);
  sc->ncalls = ncalls;
  for (int i = 0; i < ncalls; i++) {
    CHECK(pl_rpc_client_call_start(&sc->calls[i], sc->h.channel, method, EV, &sc_callbacks, sc,
                                   0) == 0);
    if (strstr(method, "Hang")) {
      Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
      CHECK(pl_rpc_client_call_send(sc->calls[i], &req.base) == 0);
      CHECK(pl_rpc_client_call_close_send(sc->calls[i]) == 0);
    }
  }
}

/* --- the client cancels a server stream after its first message ------------------------- */

static void cancel_all(scenario *sc) {
  for (int i = 0; i < sc->ncalls; i++) {
    pl_rpc_client_call_cancel(sc->calls[i]);
    pl_rpc_client_call_cancel(sc->calls[i]); /* twice is harmless */
    Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
    CHECK(pl_rpc_client_call_send(sc->calls[i], &ev.base) == PL_ERR_CLOSED);
  }
}

static void test_client_cancels_server_stream(void) {
  scenario sc;
  scenario_start(&sc, "client cancels server stream", 1, "/peerlink.test.Echo/Hang");
  sc.all_hanging = cancel_all;
  harness_run(&sc.h);
  CHECK(sc.statuses == 1 && sc.codes[0] == PL_RPC_CANCELLED);
  CHECK(sc.h.echo.done == 1 && sc.h.echo.done_cancelled == 1);
}

/* --- the client cancels a client stream it is still writing ------------------------------ */

static void test_client_cancels_client_stream(void) {
  scenario sc;
  scenario_start(&sc, "client cancels client stream", 1, "/peerlink.test.Echo/Sum");
  for (int i = 0; i < 20; i++) {
    Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
    ev.unix_ms = i;
    CHECK(pl_rpc_client_call_send(sc.calls[0], &ev.base) == 0);
  }
  /* Cancel before any of it is sent: the server may see the call or not at all. */
  pl_rpc_client_call_cancel(sc.calls[0]);
  sc.h.echo.done = 1; /* do not wait for a server call that may never exist */
  harness_run(&sc.h);
  CHECK(sc.statuses == 1 && sc.codes[0] == PL_RPC_CANCELLED);
  CHECK(sc.h.echo.done_cancelled == sc.h.echo.done - 1);
}

/* --- the channel is freed with calls in flight ------------------------------------------- */

static void free_channel(scenario *sc) {
  pl_rpc_channel_free(sc->h.channel);
  sc->h.channel = NULL;
}

static void test_channel_free_cancels(void) {
  scenario sc;
  scenario_start(&sc, "channel freed with calls in flight", NCALLS, "/peerlink.test.Echo/Hang");
  sc.all_hanging = free_channel;
  harness_run(&sc.h);
  for (int i = 0; i < NCALLS; i++) {
    CHECK(sc.codes[i] == PL_RPC_CANCELLED);
    CHECK(sc.messages_seen[i] <= 1);
  }
  CHECK(sc.h.echo.done == NCALLS && sc.h.echo.done_cancelled == NCALLS);
}

/* --- the server shuts down with calls in flight ------------------------------------------ */

static void on_shutdown_done(void *arg) {
  scenario *sc = arg;
  sc->h.server_done = 1;
  free_channel(sc);
}

static void shutdown_with_calls(scenario *sc) {
  pl_rpc_server *server = sc->h.server;
  sc->h.server = NULL;
  sc->stopping = 1; /* the shutdown's done callback ends the scenario */
  pl_rpc_server_shutdown(server, 200, on_shutdown_done, sc);
  pl_rpc_server_shutdown(server, 200, on_shutdown_done, sc); /* ignored */
  /* One handler still finishes its call during the grace period... */
  pl_rpc_call *call = sc->h.echo.hanging[0];
  Peerlink__V1__Event ev = PEERLINK__V1__EVENT__INIT;
  ev.unix_ms = 1;
  CHECK(pl_rpc_call_send(call, &ev.base) == 0);
  CHECK(pl_rpc_call_finish(call, PL_RPC_UNAVAILABLE, "server %s", "stopping") == 0);
  /* ...the others are cancelled when it ends. */
}

static void test_shutdown_with_calls(void) {
  scenario sc;
  scenario_start(&sc, "shutdown with calls in flight", NCALLS, "/peerlink.test.Echo/Hang");
  sc.all_hanging = shutdown_with_calls;
  harness_run(&sc.h);
  CHECK(sc.statuses == NCALLS);
  int finished = 0;
  for (int i = 0; i < NCALLS; i++) {
    if (sc.codes[i] == PL_RPC_UNAVAILABLE && strcmp(sc.messages[i], "server stopping") == 0) {
      CHECK(sc.messages_seen[i] == 2);
      finished++;
    } else {
      CHECK(sc.codes[i] != PL_RPC_OK);
    }
  }
  CHECK(finished == 1);
  CHECK(sc.h.echo.done == NCALLS && sc.h.echo.done_cancelled == NCALLS - 1);
}

/* --- the server shuts down while a client connection is idle ----------------------------- */

static void on_idle_shutdown_done(void *arg) {
  harness *h = arg;
  h->server_done = 1;
  pl_rpc_channel_free(h->channel);
  h->channel = NULL;
}

/* The channel stays open: shutting down must not wait for the client to hang up. */
static void idle_then(recorder *r) {
  harness *h = r->h;
  pl_rpc_server_shutdown(h->server, 5000, on_idle_shutdown_done, h);
  h->server = NULL;
}

static void test_shutdown_idle_connection(void) {
  harness h;
  recorder r;
  harness_init(&h, "shutdown with an idle connection", 30000);
  harness_start_server(&h, NULL);
  harness_open_channel(&h, NULL);
  recorder_init(&r, &h, NULL);
  r.then = idle_then;
  Peerlink__V1__GetStatusResponse req = PEERLINK__V1__GET_STATUS_RESPONSE__INIT;
  CHECK(pl_rpc_unary(NULL, h.channel, "/peerlink.test.Echo/Echo", &req.base, GSR,
                     &recorder_callbacks, &r, 10000) == 0);
  harness_run(&h);
  CHECK(r.code == PL_RPC_OK);
}

int main(void) {
  test_client_cancels_server_stream();
  test_client_cancels_client_stream();
  test_channel_free_cancels();
  test_shutdown_with_calls();
  test_shutdown_idle_connection();
  printf("ok\n");
  return 0;
}
