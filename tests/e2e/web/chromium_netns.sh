#!/bin/sh
# Debian's chromium inside the lab namespace $PEERLINK_NETNS (playwright-core's executablePath).
exec ip netns exec "$PEERLINK_NETNS" /usr/bin/chromium "$@"
