#ifndef PEERLINK_WIRE_FRAME_MAC_H
#define PEERLINK_WIRE_FRAME_MAC_H

/* Internal to agent/wire: the frame MAC (HMAC-SHA256 truncated to PL_FRAME_MAC_LEN). */

#include <stddef.h>
#include <stdint.h>

#include "agent/wire/frame.h"

/* mac receives PL_FRAME_MAC_LEN bytes. Returns 0 or PL_ERR_CRYPTO. */
int pl_frame__mac(const uint8_t key[32], const uint8_t *data, size_t len,
                  uint8_t mac[PL_FRAME_MAC_LEN]);

/* Constant-time check of `mac` against data. Returns 0 or PL_ERR_AUTH. */
int pl_frame__mac_verify(const uint8_t key[32], const uint8_t *data, size_t len,
                         const uint8_t mac[PL_FRAME_MAC_LEN]);

#endif
