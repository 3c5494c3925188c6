#ifndef PEERLINK_COMMON_NETNAME_H
#define PEERLINK_COMMON_NETNAME_H

/* Network names (Hello.network): the agent checks its --network with the rule the rendezvous
 * applies to every Hello. */

/* Characters in a network name. */
#define PL_NETNAME_MAX 64

/* 1 when `name` is a valid network name ("" included: no network), else 0: at most
 * PL_NETNAME_MAX characters of A-Z a-z 0-9 . _ : - (no spaces, nothing a log line or a Redis
 * key would need to quote). */
int pl_netname_valid(const char *name);

#endif
