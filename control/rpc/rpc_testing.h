#ifndef PEERLINK_RPC_TESTING_H
#define PEERLINK_RPC_TESTING_H

/* Internal entry points of control/rpc/ that its unit tests also use (target :rpc_testing).
 * Free of gRPC types on purpose: tests include this, never <grpc/grpc.h>. */

#include <stddef.h>
#include <stdint.h>

#include "control/rpc/rpc.h"

/* Checks "HOST:PORT" (IPv6 hosts in brackets; addr.c). *ploopback is set for 127.0.0.0/8, ::1
 * and "localhost". Returns 0 or PL_ERR_INVALID. */
int pl_rpc__parse_hostport(const char *s, int *ploopback);

/* Rejects wire bytes protobuf-c would accept but misread: a known field (at any depth) whose
 * wire type cannot encode its declared type, and bytes that are not protobuf at all (pbcheck.c).
 * Returns 0 or PL_ERR_PARSE. */
int pl_rpc__pbcheck_message(const uint8_t *data, size_t len,
                            const ProtobufCMessageDescriptor *desc);

/* Queues `len` raw bytes as one request message, bypassing protobuf-c: how a test sends bytes
 * that do not parse. Returns 0, PL_ERR_FULL, PL_ERR_CLOSED, PL_ERR_NOMEM. */
int pl_rpc__client_call_send_raw(pl_rpc_client_call *call, const void *data, size_t len);

/* paused = 1: after the message now awaited, the call stops asking gRPC for responses, so the
 * server's messages back up in HTTP/2 flow control as behind a client that reads slowly.
 * paused = 0 reads again. */
void pl_rpc__client_call_pause_recv(pl_rpc_client_call *call, int paused);

#endif
