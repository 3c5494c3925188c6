#ifndef PEERLINK_DESCRIPTOR_SET_H
#define PEERLINK_DESCRIPTOR_SET_H

#include <stddef.h>
#include <stdint.h>

/* FileDescriptorSet (with all imports) of every API a peerlink server describes through
 * reflection: peerlink.v1, grpc.health.v1 and grpc.reflection.{v1,v1alpha}. */
extern const uint8_t pl_descriptor_set[];
extern const size_t pl_descriptor_set_len;

#endif
