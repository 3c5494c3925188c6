#ifndef PEERLINK_AGENT_FILES_INBOX_H
#define PEERLINK_AGENT_FILES_INBOX_H

/* The files peers send us: takes each FILE stream a peer opens on its QUIC connection, feeds it
 * to a store (agent/files/store.h) writing into the files directory, answers on the stream, and
 * reports every transfer's end, stored or not, to its owner (the FileReceived event). The
 * stream's flow-control window reopens only as the data reaches the disk, so a fast sender and
 * a slow disk cost at most one stream window of memory per transfer. */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/files/store.h"
#include "agent/quic/quic.h"

typedef struct pl_files_incoming pl_files_incoming;

/* A transfer from peer_id ended (see pl_files_result). */
typedef void (*pl_files_received_fn)(void *arg, const char *peer_id, const pl_files_result *res);

/* Embed it; fill with pl_files_inbox_init. */
typedef struct pl_files_inbox {
  uv_loop_t *loop;
  const char *dir; /* borrowed: the files directory */
  pl_files_received_fn received;
  void *arg;
  pl_files_incoming *head;
  size_t active;           /* transfers in progress */
  uint64_t stored, failed; /* transfers ended */
  int closing;
} pl_files_inbox;

/* `dir` NULL: files are refused (no directory configured). */
void pl_files_inbox_init(pl_files_inbox *in, uv_loop_t *loop, const char *dir,
                         pl_files_received_fn received, void *arg);

/* For the connection's stream_open callback, for a stream of kind PL_QUIC_STREAM_FILE from
 * peer_id (copied). Returns 0 with *pcb and *psarg set, PL_ERR_STATE (closing, or no
 * directory), PL_ERR_NOMEM, PL_ERR_CRYPTO: the stream is then refused. */
int pl_files_inbox_accept(pl_files_inbox *in, pl_quic *q, int64_t sid, const char *peer_id,
                          const pl_quic_stream_cb **pcb, void **psarg);

/* Stopping: every transfer in progress is reset and aborted (`why`), its temporary removed; its
 * result still comes to `received`, once the store's file operation in flight has finished.
 * New streams are refused. */
void pl_files_inbox_close(pl_files_inbox *in, const char *why);

#endif
