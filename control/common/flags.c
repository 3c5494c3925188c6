#include "control/common/flags.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/common/err.h"

int pl_hostport_split(const char *hostport, char host[64], int *pport) {
  const char *colon, *hstart = hostport;
  size_t hlen;
  if (hostport == NULL || *hostport == '\0')
    return PL_ERR_INVALID;
  if (hostport[0] == '[') {
    const char *close = strchr(hostport, ']');
    if (close == NULL || close[1] != ':')
      return PL_ERR_INVALID;
    hstart = hostport + 1;
    hlen = (size_t)(close - hstart);
    colon = close + 1;
  } else {
    colon = strrchr(hostport, ':');
    if (colon == NULL || memchr(hostport, ':', (size_t)(colon - hostport)) != NULL)
      return PL_ERR_INVALID; /* bare IPv6 needs brackets */
    hlen = (size_t)(colon - hostport);
  }
  if (hlen == 0 || hlen >= 64)
    return PL_ERR_INVALID;
  char *end;
  errno = 0;
  long port = strtol(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535)
    return PL_ERR_INVALID;
  memcpy(host, hstart, hlen);
  host[hlen] = '\0';
  unsigned char a6[16];
  if (hostport[0] == '[' && inet_pton(AF_INET6, host, a6) != 1)
    return PL_ERR_INVALID;
  /* Not an IP address: it must at least look like a host name. */
  for (size_t i = 0; i < hlen && hostport[0] != '['; i++)
    if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.')
      return PL_ERR_INVALID;
  *pport = (int)port;
  return 0;
}

int pl_host_is_loopback(const char *host) {
  struct in_addr a4;
  struct in6_addr a6;
  /* Other names could resolve anywhere; only this one is loopback by definition. */
  if (strcasecmp(host, "localhost") == 0)
    return 1;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return 0;
}

static int parse_millis(const char *s, int seconds_default, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno != 0 || v < 0)
    return PL_ERR_INVALID;
  double mult = seconds_default ? 1000.0 : 1.0;
  if (strcmp(end, "ms") == 0)
    mult = 1;
  else if (strcmp(end, "s") == 0)
    mult = 1000;
  else if (strcmp(end, "m") == 0)
    mult = 60000;
  else if (*end != '\0')
    return PL_ERR_INVALID;
  *out = (uint64_t)(v * mult + 0.5);
  return 0;
}

static int set_value(const pl_flag *f, const char *val, int from_env, char *err, size_t errlen) {
  uint64_t u = 0;
  char *end;
  char host[64];
  int port;
  switch (f->type) {
  case PL_FLAG_STRING: *(char **)f->dest = (char *)val; return 0;
  case PL_FLAG_HOSTPORT:
    /* The Python prototype's deployments set URLs (RENDEZVOUS_SERVICE_URL=grpc://host:port). */
    if (strstr(val, "://") != NULL)
      val = strstr(val, "://") + 3;
    if (pl_hostport_split(val, host, &port) != 0) {
      snprintf(err, errlen, "--%s: expected HOST:PORT (port 0-65535), got \"%s\"", f->name, val);
      return PL_ERR_INVALID;
    }
    *(char **)f->dest = (char *)val;
    return 0;
  case PL_FLAG_UINT:
    errno = 0;
    u = strtoull(val, &end, 10);
    if (*val == '\0' || *end != '\0' || errno != 0 || val[0] == '-') {
      snprintf(err, errlen, "--%s: expected a non-negative integer, got \"%s\"", f->name, val);
      return PL_ERR_INVALID;
    }
    break;
  case PL_FLAG_MILLIS:
    if (parse_millis(val, from_env && f->env_in_seconds, &u) != 0) {
      snprintf(err, errlen, "--%s: expected a duration like 500ms, 5s or 2m, got \"%s\"", f->name,
               val);
      return PL_ERR_INVALID;
    }
    break;
  case PL_FLAG_BOOL:
    if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0 || strcmp(val, "yes") == 0) {
      *(int *)f->dest = 1;
    } else if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0 || strcmp(val, "no") == 0) {
      *(int *)f->dest = 0;
    } else {
      snprintf(err, errlen, "--%s: expected true or false, got \"%s\"", f->name, val);
      return PL_ERR_INVALID;
    }
    return 0;
  }
  if (f->max != 0 && (u < f->min || u > f->max)) {
    snprintf(err, errlen, "--%s: %s is out of range (%llu..%llu%s)", f->name, val,
             (unsigned long long)f->min, (unsigned long long)f->max,
             f->type == PL_FLAG_MILLIS ? " ms" : "");
    return PL_ERR_INVALID;
  }
  *(uint64_t *)f->dest = u;
  return 0;
}

static const pl_flag *find_flag(const pl_flag *flags, size_t n, const char *name, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
      return &flags[i];
  return NULL;
}

/* Defaults first, then the environment; the command line overrides both. */
static int apply_defaults(const pl_flag *flags, size_t nflags, char *err, size_t errlen) {
  int rv;
  for (size_t i = 0; i < nflags; i++) {
    const pl_flag *f = &flags[i];
    if (f->def && (rv = set_value(f, f->def, 0, err, errlen)) != 0)
      return rv;
    const char *env = f->env ? getenv(f->env) : NULL;
    if (env && *env && (rv = set_value(f, env, 1, err, errlen)) != 0) {
      size_t used = strlen(err);
      snprintf(err + used, errlen - used, " (from $%s)", f->env);
      return rv;
    }
  }
  return 0;
}

/* argv[*pi] is a flag: sets it, taking its value from the next argument when it has no "=".
 * Returns 0, 1 after printing the usage for --help, or PL_ERR_INVALID. */
static int parse_flag(const pl_flag *flags, size_t nflags, int argc, char **argv, int *pi,
                      char *err, size_t errlen, const char *usage_head) {
  const char *a = argv[*pi];
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    pl_flags_usage(stdout, flags, nflags, usage_head);
    return 1;
  }
  if (a[1] != '-') {
    snprintf(err, errlen, "unknown flag %s (see --help)", a);
    return PL_ERR_INVALID;
  }
  const char *name = a + 2, *eq = strchr(name, '=');
  size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
  const pl_flag *f = find_flag(flags, nflags, name, nlen);
  if (f == NULL) {
    snprintf(err, errlen, "unknown flag --%.*s (see --help)", (int)nlen, name);
    return PL_ERR_INVALID;
  }
  const char *val = eq ? eq + 1 : NULL;
  if (val == NULL && f->type == PL_FLAG_BOOL)
    val = "true";
  if (val == NULL) {
    if (*pi + 1 >= argc) {
      snprintf(err, errlen, "--%s needs a value", f->name);
      return PL_ERR_INVALID;
    }
    val = argv[++*pi];
  }
  return set_value(f, val, 0, err, errlen);
}

int pl_flags_parse(const pl_flag *flags, size_t nflags, int argc, char **argv,
                   int *pfirst_positional, char *err, size_t errlen, const char *usage_head) {
  int rv = apply_defaults(flags, nflags, err, errlen);
  if (rv != 0)
    return rv;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "-h") != 0 && (strncmp(a, "--", 2) != 0 || a[2] == '\0'))
      break; /* first positional argument: the rest belongs to the command */
    if ((rv = parse_flag(flags, nflags, argc, argv, &i, err, errlen, usage_head)) != 0)
      return rv;
  }
  *pfirst_positional = i;
  return 0;
}

int pl_flags_parse_anywhere(const pl_flag *flags, size_t nflags, int argc, char **argv,
                            int *pfirst_positional, char *err, size_t errlen,
                            const char *usage_head) {
  int rv = apply_defaults(flags, nflags, err, errlen);
  if (rv != 0 || argc < 1) {
    *pfirst_positional = argc;
    return rv;
  }
  /* argv[0], the flags with their values (and "--"), then the positional arguments. */
  char **sorted = malloc((size_t)argc * sizeof(*sorted));
  char **pos = malloc((size_t)argc * sizeof(*pos));
  int nsorted = 0, npos = 0;
  if (sorted == NULL || pos == NULL) {
    snprintf(err, errlen, "out of memory");
    rv = PL_ERR_NOMEM;
    goto out;
  }
  sorted[nsorted++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      sorted[nsorted++] = argv[i]; /* kept, so argc still counts the arguments */
      while (++i < argc)
        pos[npos++] = argv[i];
      break;
    }
    if (a[0] != '-' || a[1] == '\0') {
      pos[npos++] = argv[i];
      continue;
    }
    int start = i;
    if ((rv = parse_flag(flags, nflags, argc, argv, &i, err, errlen, usage_head)) != 0)
      goto out;
    for (int j = start; j <= i; j++)
      sorted[nsorted++] = argv[j];
  }
  memcpy(argv + 1, sorted + 1, (size_t)(nsorted - 1) * sizeof(*argv));
  memcpy(argv + nsorted, pos, (size_t)npos * sizeof(*argv));
  *pfirst_positional = nsorted;
out:
  free(sorted);
  free(pos);
  return rv;
}

void pl_flags_usage(FILE *out, const pl_flag *flags, size_t nflags, const char *usage_head) {
  fprintf(out, "%s\n\nFlags (environment variable in brackets):\n", usage_head);
  for (size_t i = 0; i < nflags; i++) {
    const pl_flag *f = &flags[i];
    const char *arg = f->type == PL_FLAG_HOSTPORT ? " HOST:PORT"
                      : f->type == PL_FLAG_MILLIS ? " DURATION"
                      : f->type == PL_FLAG_UINT   ? " N"
                      : f->type == PL_FLAG_STRING ? " VALUE"
                                                  : "";
    fprintf(out, "  --%s%s\n      %s", f->name, arg, f->help);
    if (f->def)
      fprintf(out, " (default %s)", f->def);
    if (f->env)
      fprintf(out, " [%s%s]", f->env, f->env_in_seconds ? ", seconds" : "");
    fputc('\n', out);
  }
  fprintf(out, "  --help\n      Show this text.\n");
}
