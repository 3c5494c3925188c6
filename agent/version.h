#ifndef PEERLINK_AGENT_VERSION_H
#define PEERLINK_AGENT_VERSION_H

/* What the agent reports as its version (GetStatus, Hello). */
#define PL_AGENT_VERSION "0.1.0"

#endif
