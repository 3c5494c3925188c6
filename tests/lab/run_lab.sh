#!/usr/bin/env bash
# `make lab`: builds the agent and the rendezvous, checks the lab's NATs, then runs the NAT grid
# without and with 10% UDP loss and prints both grids (Markdown). Extra arguments go to grid.py
# (e.g. --pairs home:hard,same-lan). Results and logs: $LAB_OUT (default: a new /tmp dir).
# Exits non-zero if a NAT misbehaves or any grid cell differs from its expectation.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "make lab needs root (network namespaces, nftables)" >&2
  exit 1
fi
export PATH="$PATH:/usr/sbin:/sbin"
export PYTHONDONTWRITEBYTECODE=1
bazel build //agent:peerlink-agent //control/rendezvous:peerlink-rendezvous
out=${LAB_OUT:-$(mktemp -d /tmp/peerlink-lab.XXXXXX)}
mkdir -p "$out"
echo "== NAT self-test"
if ! /usr/bin/python3 -u tests/lab/nat_selftest.py >"$out/nat_selftest.log" 2>&1; then
  cat "$out/nat_selftest.log" >&2
  echo "the lab's NATs do not behave as documented; grid not run" >&2
  exit 1
fi
tail -n 1 "$out/nat_selftest.log"
echo "== NAT grid (results and logs in $out)"
rc=0
/usr/bin/python3 -u tests/lab/grid.py --losses 0,10 --out "$out" \
  --agent-bin bazel-bin/agent/peerlink-agent \
  --rendezvous-bin bazel-bin/control/rendezvous/peerlink-rendezvous "$@" || rc=$?
echo "grids: $out/grid-loss0.md $out/grid-loss10.md"
exit $rc
