#!/usr/bin/env bash
# make bench, rendezvous at scale (issue 10): rows of rdv_scale against a fresh rendezvous each
# (1,000 agents, then BENCH_SCALE_AGENTS, default 100,000), each agent on its own TCP connection
# from its own 127.x address; then the registry core alone at the same size (registry_scale).
#
#   scale.sh OPT_BIN OUT_PREFIX      (run.sh passes them; the programs built with -c opt)
#
# Every connection needs a descriptor in the rendezvous and one in rdv_scale: the hard limit is
# raised when this process may (root with CAP_SYS_RESOURCE); where it may not (a container
# without it), the row is cut to what the limit allows and says so.
# Environment: BENCH_SCALE_AGENTS, BENCH_SCALE_NETWORK (agents per network, 8),
# BENCH_SCALE_WINDOW (registrations in flight, 64), BENCH_SCALE_PAIRS (1000), BENCH_SCALE_PERF=1
# (perf record the rendezvous during the large row, report in OUT_PREFIX-scale.perf.txt).
set -euo pipefail
OPT_BIN=$1 OUT=$2
RDV=$OPT_BIN/control/rendezvous/peerlink-rendezvous
SCALE=$OPT_BIN/tests/bench/rdv_scale
CORE=$OPT_BIN/tests/bench/registry_scale
WANT=${BENCH_SCALE_AGENTS:-100000}
NET=${BENCH_SCALE_NETWORK:-8}
WINDOW=${BENCH_SCALE_WINDOW:-64}
PAIRS=${BENCH_SCALE_PAIRS:-1000}
MARGIN=300 # descriptors besides the agents' (listeners, epoll, UDP, logs)
for p in "$RDV" "$SCALE" "$CORE"; do
  [ -x "$p" ] || { echo "scale: $p missing" >&2; exit 1; }
done

ulimit -Hn $((WANT + WANT / 10 + MARGIN)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
hard=$(ulimit -Hn)

tmp=$(mktemp -d /tmp/peerlink-scale.XXXXXX)
rdv_pid=
cleanup() {
  [ -z "$rdv_pid" ] || { kill "$rdv_pid" 2>/dev/null || true; wait "$rdv_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT

# row N EXTRA LABEL: a fresh rendezvous, rdv_scale against it, the rendezvous stopped.
row() {
  local n=$1 extra=$2 label=$3 fd line perf_pid=
  exec {fd}< <(exec "$RDV" --listen 127.0.0.1:0 --udp 127.0.0.1:0 2>"$tmp/rdv-$label.log")
  rdv_pid=$!
  read -r -t 15 -u "$fd" line || { echo "scale: rendezvous did not start" >&2; exit 1; }
  local grpc udp
  grpc=$(sed -n 's/.*grpc=\([^ ]*\).*/\1/p' <<<"$line")
  udp=$(sed -n 's/.* udp=\([^ ]*\).*/\1/p' <<<"$line")
  if [ "${BENCH_SCALE_PERF:-0}" = 1 ] && [ "$label" = large ] && command -v perf >/dev/null; then
    perf record -g -o "$tmp/perf.data" -p "$rdv_pid" 2>/dev/null &
    perf_pid=$!
  fi
  "$SCALE" --rendezvous "$grpc" --rendezvous-pid "$rdv_pid" --udp "$udp" --agents "$n" \
    --extra "$extra" --network-size "$NET" --window "$WINDOW" --pairs "$PAIRS" \
    --json "$OUT-scale-$label.json" || echo "scale: the $label row did not finish" >&2
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
    perf report -i "$tmp/perf.data" --no-children --sort dso,sym 2>/dev/null |
      head -80 >"$OUT-scale.perf.txt" || true
    echo "scale: perf profile of the rendezvous in $OUT-scale.perf.txt" >&2
  fi
  kill "$rdv_pid" 2>/dev/null || true
  wait "$rdv_pid" 2>/dev/null || true
  rdv_pid=
  exec {fd}<&-
}

echo "scale: 1,000 agents (the small row)" >&2
row 1000 100 small
big=$WANT extra=$((WANT / 10))
if [ $((big + extra + MARGIN)) -gt "$hard" ]; then
  extra=$(((hard - MARGIN) / 11))
  big=$((hard - MARGIN - extra))
  echo "scale: the descriptor limit here is $hard (ulimit -Hn; raising it needs" \
    "CAP_SYS_RESOURCE): the large row has $big agents instead of $WANT" >&2
fi
echo "scale: $big agents (the large row)" >&2
row "$big" "$extra" large
echo "scale: the registry core alone, $WANT agents" >&2
"$CORE" "$WANT" "$NET"
