#ifndef PEERLINK_COMMON_ERR_H
#define PEERLINK_COMMON_ERR_H

/* Every peerlink function that can fail returns 0 or one of these negative codes. */
typedef enum {
  PL_OK = 0,
  PL_ERR_INVALID = -1,   /* a bad argument or value */
  PL_ERR_NOMEM = -2,     /* allocation failed */
  PL_ERR_PARSE = -3,     /* bytes that do not parse */
  PL_ERR_IO = -4,        /* a system call failed; errno has details */
  PL_ERR_STATE = -5,     /* not allowed in the current state */
  PL_ERR_NOT_FOUND = -6, /* no such thing */
  PL_ERR_TOO_BIG = -7,   /* over a size limit */
  PL_ERR_AUTH = -8,      /* authentication failed */
  PL_ERR_CRYPTO = -9,    /* a wolfSSL call failed */
  PL_ERR_CLOSED = -10,   /* the object is shutting down or closed */
  PL_ERR_TIMEOUT = -11,  /* a deadline passed */
  PL_ERR_FULL = -12,     /* a bounded queue is full: nothing was queued */
} pl_err;

/* A short English description of `rv`. Never NULL. */
const char *pl_strerror(int rv);

#endif
