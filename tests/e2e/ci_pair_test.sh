#!/usr/bin/env bash
# The CI orchestration example (clients/examples/ci_pair.sh) must keep working: it is what
# users copy. It drives the real programs through buf curl only.
set -euo pipefail
. tests/test_home.sh
bin=$TEST_TMPDIR/bin
mkdir -p "$bin"
ln -sf "$PWD/agent/peerlink-agent" "$bin/peerlink-agent"
ln -sf "$PWD/control/rendezvous/peerlink-rendezvous" "$bin/peerlink-rendezvous"
out=$(TMPDIR=$TEST_TMPDIR bash clients/examples/ci_pair.sh "$bin")
echo "$out"
grep -q '"path":"PATH_KIND_DIRECT"' <<<"$out"
grep -q '"datagram":"delivered"' <<<"$out"
