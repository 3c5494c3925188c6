#!/usr/bin/env bash
# A CI job's view of peerlink: start a rendezvous and two agents, wait until each is healthy
# (grpc.health.v1 Check), connect them, send a datagram, run a short UDP benchmark (bytes bound)
# and assert on its summary, tear down, and print one JSON line with the outcome — using only
# `buf curl` (any grpcurl-style client works the same way). Exits non-zero, saying why, if
# anything does not happen in time.
#
#   ci_pair.sh [BIN_DIR]        (default: bin/ after `make build`)
set -euo pipefail
bin=${1:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
buf=${BUF:-${PEERLINK_CACHE:-$HOME/.cache/peerlink}/npm/node_modules/.bin/buf}
work=$(mktemp -d "${TMPDIR:-/tmp}/peerlink-ci.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

die() { echo "ci_pair: $*" >&2; exit 1; }

# Starts a program; sets $line to its address line (read with a deadline, never a sleep).
start() {
  local name=$1; shift
  mkfifo "$work/$name.out"
  "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  exec {fd}<"$work/$name.out"
  IFS= read -r -t 20 -u "$fd" line || die "$name did not start: $(tail -3 "$work/$name.log")"
  cat <&"$fd" >/dev/null &
}
field() { sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
call() { # call ADDR METHOD JSON
  "$buf" curl --protocol grpc --http2-prior-knowledge --timeout 20s -d "$3" "http://$1/peerlink.v1.Agent/$2"
}
# healthy NAME ADDR: the server answers SERVING (gRPC waits for the connection, up to 20 s).
healthy() {
  local out
  out=$("$buf" curl --protocol grpc --http2-prior-knowledge --timeout 20s \
    "http://$2/grpc.health.v1.Health/Check" 2>&1) || die "$1 is not healthy: $out"
  grep -q '"status": "SERVING"' <<<"$out" || die "$1 is not serving: $out"
}

start rendezvous "$bin/peerlink-rendezvous" --listen 127.0.0.1:0 --udp 127.0.0.1:0
rdv=$(field grpc "$line")
start alpha "$bin/peerlink-agent" --name alpha --control 127.0.0.1:0 --udp 127.0.0.1:0 \
  --state-dir "$work/alpha" --rendezvous "$rdv" --network ci
a=$(field control "$line") a_id=$(field id "$line")
start beta "$bin/peerlink-agent" --name beta --control 127.0.0.1:0 --udp 127.0.0.1:0 \
  --state-dir "$work/beta" --rendezvous "$rdv" --network ci
b=$(field control "$line") b_id=$(field id "$line")
healthy rendezvous "$rdv"
healthy alpha "$a"
healthy beta "$b"

# Wait until alpha knows beta (its event stream replays current state, then follows changes).
exec {ev}< <(exec timeout 20 "$buf" curl --protocol grpc --http2-prior-knowledge \
  -d '{"includeCurrent":true}' "http://$a/peerlink.v1.Agent/WatchEvents")
grep -m1 -q "$b_id" <&"$ev" || die "alpha never saw beta register"
exec {ev}<&-

started=$(date +%s%N)
path=$(call "$a" Connect "{\"peerId\":\"$b_id\",\"wait\":true,\"timeoutMs\":15000}") ||
  die "Connect failed: $path"
connect_ms=$(( ($(date +%s%N) - started) / 1000000 ))
kind=$(sed -n 's/.*"kind": "\([A-Z_]*\)".*/\1/p' <<<"$path" | head -1)
[ -n "$kind" ] || die "Connect returned no path: $path"

# beta watches for the message before alpha sends it; the stream is live once its first
# (current-state) message is in.
exec {bev}< <(exec timeout 20 "$buf" curl --protocol grpc --http2-prior-knowledge \
  -d '{"includeCurrent":true}' "http://$b/peerlink.v1.Agent/WatchEvents")
grep -m1 -q '"rendezvous"' <&"$bev" || die "beta's event stream did not start"
payload=$(printf 'ci-check' | base64)
call "$a" Send "{\"peerId\":\"$b_id\",\"data\":\"$payload\"}" >/dev/null || die "Send failed"
grep -m1 -q "\"data\": \"$payload\"" <&"$bev" || die "beta never received the datagram"
exec {bev}<&-

# A short UDP benchmark, bounded by bytes (and 10 s): the stream's last message is the summary
# with both ends' numbers; the receiver must have counted something.
bench=$("$buf" curl --protocol grpc --http2-prior-knowledge --timeout 30s \
  -d "{\"peerId\":\"$b_id\",\"transport\":\"BENCHMARK_TRANSPORT_UDP\",\"bytes\":\"1000000\",\"durationMs\":10000}" \
  "http://$a/peerlink.v1.Agent/Benchmark") || die "Benchmark failed: $bench"
# buf curl prints each message as an indented object: the summary is the one with "final": true.
summary=$(awk '/^\{/ { obj = "" } { obj = obj $0 "\n" } /^\}/ { last = obj } END { printf "%s", last }' \
  <<<"$bench")
grep -q '"final": true' <<<"$summary" || die "Benchmark gave no summary: $bench"
num() { sed -n "s/.*\"$1\": \"\{0,1\}\([0-9.e+]*\)\"\{0,1\},\{0,1\}\$/\1/p" <<<"$summary" | head -1; }
received=$(num bytesReceived) receiver_bps=$(num receiverBps)
[ "${received:-0}" -gt 0 ] || die "the receiver counted no bytes: $summary"

printf '{"alpha":"%s","beta":"%s","path":"%s","connect_ms":%d,"datagram":"delivered",' \
  "$a_id" "$b_id" "$kind" "$connect_ms"
printf '"healthy":true,"bench_bytes_sent":%s,"bench_bytes_received":%s,"bench_receiver_bps":%s}\n' \
  "$(num bytesSent)" "$received" "${receiver_bps:-0}"
