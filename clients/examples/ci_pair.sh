#!/usr/bin/env bash
# A CI job's view of peerlink: start a rendezvous and two agents, connect them, send a datagram
# each way, and print one JSON line with the outcome — using only `buf curl` (any grpcurl-style
# client works the same way). Exits non-zero, saying why, if anything does not happen in time.
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

start rendezvous "$bin/peerlink-rendezvous" --listen 127.0.0.1:0 --udp 127.0.0.1:0
rdv=$(field grpc "$line")
start alpha "$bin/peerlink-agent" --name alpha --control 127.0.0.1:0 --udp 127.0.0.1:0 \
  --state-dir "$work/alpha" --rendezvous "$rdv" --network ci
a=$(field control "$line") a_id=$(field id "$line")
start beta "$bin/peerlink-agent" --name beta --control 127.0.0.1:0 --udp 127.0.0.1:0 \
  --state-dir "$work/beta" --rendezvous "$rdv" --network ci
b=$(field control "$line") b_id=$(field id "$line")

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

printf '{"alpha":"%s","beta":"%s","path":"%s","connect_ms":%d,"datagram":"delivered"}\n' \
  "$a_id" "$b_id" "$kind" "$connect_ms"
