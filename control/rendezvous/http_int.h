#ifndef PEERLINK_RENDEZVOUS_HTTP_INT_H
#define PEERLINK_RENDEZVOUS_HTTP_INT_H

/* Shared by http.c, ws_register.c and ws_watch.c: one WebSocket's queue of text messages, its
 * close, and the JSON of a registered agent ("worker"). pl_rdv__ names are not for other
 * modules. */

#include <jansson.h>
#include <libwebsockets.h>

#include "control/rendezvous/http.h"
#include "control/rendezvous/internal.h"

typedef struct pl_rdv__wsmsg {
  struct pl_rdv__wsmsg *next;
  size_t len;
  unsigned char buf[]; /* LWS_PRE bytes, then the text */
} pl_rdv__wsmsg;

typedef enum { PL_RDV__WS_REGISTER, PL_RDV__WS_WATCH } pl_rdv__ws_kind;

/* One WebSocket (heap; the lws session data points to it). */
typedef struct pl_rdv__ws {
  pl_rdv_http *http;
  struct lws *wsi;
  pl_rdv__ws_kind kind;
  pl_rdv__wsmsg *head, *tail;
  size_t n, limit; /* queued messages, and how many may be */
  char *rx;        /* the fragments of the message being received */
  size_t rx_len;
  int closing; /* closes with close_code once the queue has gone out */
  int close_code;
  char close_reason[120];
  char peer[64];
  char path_id[40];               /* register: the ID in the path */
  pl_rdv__stream *st;             /* register: its Register stream in the registry */
  struct pl_rdv__ws *prev, *next; /* watch: the listener's watchers */
} pl_rdv__ws;

struct pl_rdv_http {
  uv_loop_t *loop;
  pl_rdv_service *svc;
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  char *token;
  int port;
  int stopping;
  pl_rdv__ws *watchers;
};

/* http.c. Queues one text message. Past the limit only with `force` (a closing error).
 * Returns 0, PL_ERR_FULL, PL_ERR_CLOSED (closing or closed), PL_ERR_NOMEM. */
int pl_rdv__ws_push(pl_rdv__ws *ws, const char *text, size_t len, int force);
/* Closes with `code` once what is queued has gone out (from a timer: lws 4.1.6 under libuv
 * sends no Close frame for a close from WRITEABLE). */
void pl_rdv__ws_close(pl_rdv__ws *ws, int code, const char *reason);
/* A registered agent as /debug/list_workers and /ws/watch show it; NULL when out of memory. */
json_t *pl_rdv__worker_json(pl_rdv_service *svc, const Peerlink__V1__AgentInfo *info);

/* ws_register.c. open returns 0 or -1 (refuse). */
int pl_rdv__wsreg_open(pl_rdv__ws *ws);
void pl_rdv__wsreg_message(pl_rdv__ws *ws, const char *text, size_t len);
void pl_rdv__wsreg_closed(pl_rdv__ws *ws);

/* ws_watch.c */
int pl_rdv__wswatch_open(pl_rdv__ws *ws);
void pl_rdv__wswatch_message(pl_rdv__ws *ws, const char *text, size_t len);
void pl_rdv__wswatch_closed(pl_rdv__ws *ws);
/* svc->on_change (arg is the pl_rdv_http). */
void pl_rdv__wswatch_change(void *arg, Peerlink__V1__RegistryChange__Kind kind,
                            const Peerlink__V1__AgentInfo *info);
/* Every worker as a JSON list; NULL when out of memory. */
json_t *pl_rdv__workers_json(pl_rdv_service *svc);

#endif
