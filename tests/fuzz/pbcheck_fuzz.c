/* The gRPC request decoding path: the strict wire-type check that runs before protobuf-c, then
 * the unpack itself, for each request type the servers accept. The first byte picks the type. */
#include <stddef.h>
#include <stdint.h>

#include "control/rpc/rpc_testing.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/rendezvous.pb-c.h"

static const ProtobufCMessageDescriptor *const types[] = {
    &peerlink__v1__register_request__descriptor,     &peerlink__v1__connect_request__descriptor,
    &peerlink__v1__watch_events_request__descriptor, &peerlink__v1__send_request__descriptor,
    &peerlink__v1__benchmark_request__descriptor,    &peerlink__v1__get_status_response__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const ProtobufCMessageDescriptor *desc = types[data[0] % (sizeof types / sizeof types[0])];
  if (pl_rpc__pbcheck_message(data + 1, size - 1, desc) != 0)
    return 0;
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, size - 1, data + 1);
  if (msg)
    protobuf_c_message_free_unpacked(msg, NULL);
  return 0;
}
