#ifndef PEERLINK_COMMON_FLAGS_H
#define PEERLINK_COMMON_FLAGS_H

/* Declarative command-line flags with environment-variable fallback and `--help`.
 * Precedence: command line, then the environment variable, then the default. A value that does
 * not parse fails start-up with a message naming the flag. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  PL_FLAG_STRING,   /* char *: strdup'ed, or the default pointer */
  PL_FLAG_HOSTPORT, /* char *: "HOST:PORT" or "[V6]:PORT", port 0..65535; a "scheme://" prefix is
                       dropped */
  PL_FLAG_UINT,     /* uint64_t */
  PL_FLAG_MILLIS,   /* uint64_t milliseconds: "250ms", "5s", "2m" or a plain number of ms */
  PL_FLAG_BOOL,     /* int: present → 1; also "true"/"false"/"1"/"0" from the environment */
} pl_flag_type;

typedef struct pl_flag {
  const char *name; /* "control" for --control */
  const char *env;  /* environment fallback, or NULL */
  pl_flag_type type;
  void *dest;
  const char *def; /* default as text, or NULL for none */
  const char *help;
  uint64_t min, max; /* bounds for UINT/MILLIS when max != 0 */
  /* For MILLIS flags whose environment variable (from the Python prototype) holds seconds. */
  int env_in_seconds;
} pl_flag;

/* Parses argv[1..] into the flags; positional arguments (and everything after "--") are left
 * in argv order: *pfirst_positional indexes the first one (== argc when none).
 * Returns 0, 1 when --help was given (usage printed to stdout), or PL_ERR_INVALID with a
 * message in err ("--udp: expected HOST:PORT, got \"x\""). */
int pl_flags_parse(const pl_flag *flags, size_t nflags, int argc, char **argv,
                   int *pfirst_positional, char *err, size_t errlen, const char *usage_head);

/* The same for a command-line client whose flags may stand before, between and after its
 * positional arguments ("peerlinkctl --json status --agent HOST:PORT"): every argument starting
 * with '-' is a flag ("-" alone is positional; "-h" is --help; any other single-dash one is
 * unknown), and "--" ends the flags. argv[1..] is reordered: the flags (with their values, and
 * the "--") in their order, then the positional arguments in theirs, from *pfirst_positional.
 * Returns what pl_flags_parse returns, or PL_ERR_NOMEM. */
int pl_flags_parse_anywhere(const pl_flag *flags, size_t nflags, int argc, char **argv,
                            int *pfirst_positional, char *err, size_t errlen,
                            const char *usage_head);

/* Prints the usage text: `usage_head` then one line per flag with its default and variable. */
void pl_flags_usage(FILE *out, const pl_flag *flags, size_t nflags, const char *usage_head);

/* Splits "HOST:PORT" / "[V6]:PORT". host must hold 64 bytes. Returns 0 or PL_ERR_INVALID. */
int pl_hostport_split(const char *hostport, char host[64], int *pport);

/* 1 if host is a loopback address or "localhost", else 0. */
int pl_host_is_loopback(const char *host);

#endif
