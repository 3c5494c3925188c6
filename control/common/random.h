#ifndef PEERLINK_COMMON_RANDOM_H
#define PEERLINK_COMMON_RANDOM_H

/* The project's one random source for nonces, transaction IDs, pairing secrets and jitter: the
 * kernel's CSPRNG (getrandom), seeded by the OS, never a fixed-seed PRNG. Modules that need
 * reproducible tests take a function of this type and default to pl_random_bytes. */

#include <stddef.h>

/* Fills buf with len random bytes. Returns 0 or a negative PL_ERR_*. */
typedef int (*pl_random_fn)(void *buf, size_t len);

/* getrandom(2), retried on EINTR and short reads. Returns 0 or PL_ERR_IO. */
int pl_random_bytes(void *buf, size_t len);

#endif
