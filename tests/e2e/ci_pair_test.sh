#!/usr/bin/env bash
# The CI orchestration example (clients/examples/ci_pair.sh) must keep working: it is what
# users copy. It drives the real programs through buf curl only: health, connect, a datagram
# and a UDP benchmark whose summary must show received bytes.
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
grep -q '"healthy":true' <<<"$out"
grep -Eq '"bench_bytes_received":[1-9][0-9]*,' <<<"$out"
# one JSON line, as a CI job parses it
[ "$(wc -l <<<"$out")" = 1 ]
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["bench_bytes_sent"] >= d["bench_bytes_received"] > 0' "$out"
