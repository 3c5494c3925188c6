#!/usr/bin/env bash
# make bench: control-plane benchmarks on loopback, with ratios against a reference measured in
# the same run (absolute numbers drift on shared machines; ratios from one run do not).
#
# Starts the real programs from bin/ (what `make build` ships) on 127.0.0.1 port 0, plus a
# grpcio reference server, then runs rdv_load (built with -c opt: the load generator should not
# be the bottleneck) against them: event fan-out, GetStatus calls/s vs grpcio, registration of
# many agents with the rendezvous's memory per agent. Then the rendezvous at scale
# (tests/bench/scale.sh: rdv_scale, 1,000 and 100,000 agents on a connection each, and the
# registry core alone, then two instances behind one Redis, then 100,000 agents over six
# instances behind one Redis; JSON in ${BENCH_OUT%.json}-scale-{small,large,redis,cluster}.json).
#
# Then the data plane (tests/bench/dataplane.py, programs built with -c opt): the agents' UDP,
# QUIC and TCP Benchmark against iperf3 -u, ngtcp2's gtlsserver/gtlsclient and iperf3 TCP,
# GetStatus during a blast, the relay against the direct path, reliable messages; as root in a
# private network namespace of its own (unshare --net: the relay and loss phases change
# nftables there only).
#
# Environment: BENCH_OUT (JSON result, default /tmp/peerlink-bench.json; the data plane's in
# ${BENCH_OUT%.json}-dataplane.json); BENCH_OPT=1 measures the control plane's programs built
# with -c opt instead of bin/; BENCH_AGENTS, BENCH_WATCHERS, BENCH_CALLS, BENCH_REPS, BENCH_K
# (e.g. 1,16,64) size the control-plane phases; BENCH_SECONDS (default 5), BENCH_CHUNK (1200),
# BENCH_QUIC_BYTES (256 MiB), BENCH_REPEATS (3), BENCH_ONLY (udp,status,relay,quic,tcp,reliable)
# the data plane's;
# BENCH_BAZEL_FLAGS go to bazel build.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${BENCH_OUT:-/tmp/peerlink-bench.json}
START_DEADLINE_S=15
# The data plane is always measured -c opt (its hot path is what it measures); the control
# plane measures bin/ unless BENCH_OPT=1.
targets=(//tests/bench:rdv_load //tests/bench:rdv_scale //tests/bench:registry_scale
  //control/rendezvous:peerlink-rendezvous //agent:peerlink-agent)

# --symlink_prefix=/ leaves bazel-bin pointing at the default build others use.
# shellcheck disable=SC2086 # BENCH_BAZEL_FLAGS is a list of flags
bazel build -c opt --symlink_prefix=/ ${BENCH_BAZEL_FLAGS:-} "${targets[@]}" 2>&1 |
  { grep -v linux-sandbox || true; } >&2
OPT_BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
RDV_LOAD=$OPT_BIN/tests/bench/rdv_load
if [ "${BENCH_OPT:-0}" = 1 ]; then
  RENDEZVOUS=$OPT_BIN/control/rendezvous/peerlink-rendezvous AGENT=$OPT_BIN/agent/peerlink-agent
else
  RENDEZVOUS=bin/peerlink-rendezvous AGENT=bin/peerlink-agent
fi
for p in "$RENDEZVOUS" "$AGENT"; do
  [ -x "$p" ] || { echo "bench: $p missing (run make build)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/peerlink-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME REGEX CMD...: runs CMD with its stdout on a pipe we keep open (so the program can
# never get SIGPIPE), reads its address line with a deadline and sets ADDR and PID.
start() {
  local name=$1 regex=$2 fd line
  shift 2
  exec {fd}< <(exec "$@" 2>"$tmp/$name.log")
  PID=$!
  pids+=("$PID")
  if ! read -r -t "$START_DEADLINE_S" -u "$fd" line || [[ ! $line =~ $regex ]]; then
    echo "bench: $name did not print its address within ${START_DEADLINE_S}s; its log:" >&2
    tail -n 20 "$tmp/$name.log" >&2
    exit 1
  fi
  ADDR=${BASH_REMATCH[1]}
  echo "bench: $name pid=$PID at $ADDR" >&2
}

# The reference server's code, generated now from the same protos with Debian's tools.
mkdir -p "$tmp/gen"
protoc -I proto --python_out="$tmp/gen" --grpc_python_out="$tmp/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  proto/peerlink/v1/common.proto proto/peerlink/v1/agent.proto

start rendezvous 'grpc=([0-9.]+:[0-9]+)' "$RENDEZVOUS" --listen 127.0.0.1:0
RDV_ADDR=$ADDR RDV_PID=$PID
start agent 'control=([0-9.]+:[0-9]+)' "$AGENT" --name bench-agent \
  --state-dir "$tmp/agent-state" --control 127.0.0.1:0 --udp 127.0.0.1:0 --rendezvous "$RDV_ADDR" \
  --network bench
AGENT_ADDR=$ADDR AGENT_PID=$PID
start grpcio 'grpc=([0-9.]+:[0-9]+)' /usr/bin/python3 tests/bench/ref_server.py "$tmp/gen"
REF_ADDR=$ADDR REF_PID=$PID

echo "bench: $(nproc) cores; measuring $RENDEZVOUS and $AGENT" >&2
"$RDV_LOAD" --rendezvous "$RDV_ADDR" --rendezvous-pid "$RDV_PID" \
  --agent "$AGENT_ADDR" --agent-pid "$AGENT_PID" --ref "$REF_ADDR" --ref-pid "$REF_PID" \
  --agents "${BENCH_AGENTS:-1000}" --watchers "${BENCH_WATCHERS:-1000}" \
  --calls "${BENCH_CALLS:-5000}" --reps "${BENCH_REPS:-3}" --k "${BENCH_K:-1,16,64}" \
  --network bench --json "$OUT"
echo "bench: JSON in $OUT" >&2

# The rendezvous at scale: 1,000 and BENCH_SCALE_AGENTS (100,000) agents, one connection each
# (tests/bench/scale.sh says how, and what it does where the descriptor limit is lower).
bash tests/bench/scale.sh "$OPT_BIN" "${OUT%.json}"

# The NAT traversal benchmarks (tests/lab): relay forwarding rate on loopback, and time from
# Connect to a path per NAT pair kind in the lab (p50/p99 over 50 connects each; root only).
echo "bench: relay forwarding rate (loopback)" >&2
/usr/bin/python3 tests/lab/bench_relay.py --rendezvous-bin "$RENDEZVOUS" --out "${OUT%.json}-relay.json"
if [ "$(id -u)" -eq 0 ]; then
  echo "bench: time to connect per NAT pair kind (NAT lab, ~3 min)" >&2
  PATH="$PATH:/usr/sbin:/sbin" /usr/bin/python3 tests/lab/bench_connect.py \
    --agent-bin "$AGENT" --rendezvous-bin "$RENDEZVOUS" --out "${OUT%.json}-connect.json"
else
  echo "bench: NAT-lab connect benchmark skipped (needs root)" >&2
fi

# The data plane: the same machine, one run, ratios against the reference tools.
echo "bench: data plane (agent UDP/QUIC/TCP vs iperf3 and ngtcp2's gtls examples, relay, status)" >&2
DP_ARGS=(tests/bench/dataplane.py --gen "$tmp/gen" --agent "$OPT_BIN/agent/peerlink-agent"
  --rendezvous "$OPT_BIN/control/rendezvous/peerlink-rendezvous" --seconds "${BENCH_SECONDS:-5}"
  --chunk "${BENCH_CHUNK:-1200}" --quic-bytes "${BENCH_QUIC_BYTES:-268435456}"
  --repeats "${BENCH_REPEATS:-3}" --only "${BENCH_ONLY:-udp,status,relay,quic,tcp,reliable}"
  --out "${OUT%.json}-dataplane.json")
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  PATH="$PATH:/usr/sbin:/sbin" unshare --net -- bash -c \
    'ip link set lo up && PL_BENCH_PRIVATE_NET=1 exec /usr/bin/python3 "$@"' dataplane "${DP_ARGS[@]}"
else
  echo "bench: not root: the relay and lossy phases are skipped (they need a network namespace)" >&2
  /usr/bin/python3 "${DP_ARGS[@]}"
fi
