#!/usr/bin/env bash
# make demo: a rendezvous and two agents on loopback, registered with each other; prints how to
# reach them. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$PWD/bin
buf=${PEERLINK_CACHE:-$HOME/.cache/peerlink}/npm/node_modules/.bin/buf
run=$(mktemp -d /tmp/peerlink-demo.XXXXXX)
pids=()

stop() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "demo: stopped (logs in $run)"
}
trap stop INT TERM EXIT

# Starts a program in the background; waits (with a deadline) for its address line.
start() {
  local name=$1; shift
  local fifo=$run/$name.out
  mkfifo "$fifo"
  "$@" >"$fifo" 2>"$run/$name.log" &
  pids+=($!)
  exec {fd}<"$fifo"
  if ! IFS= read -r -t 20 -u "$fd" line; then
    echo "demo: $name did not start; see $run/$name.log" >&2
    exit 1
  fi
  cat <&"$fd" >/dev/null &  # keep draining its stdout
  echo "$line"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^[^ ]* $1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }

rdv_line=$(start rendezvous "$bin/peerlink-rendezvous" --listen 127.0.0.1:0 --udp 127.0.0.1:0 \
  --udp-alt 127.0.0.1:0)
rdv=$(field grpc "$rdv_line")
a_line=$(start agent-a "$bin/peerlink-agent" --name alice --control 127.0.0.1:0 --udp 127.0.0.1:0 \
  --state-dir "$run/alice" --rendezvous "$rdv")
b_line=$(start agent-b "$bin/peerlink-agent" --name bob --control 127.0.0.1:0 --udp 127.0.0.1:0 \
  --state-dir "$run/bob" --rendezvous "$rdv")
a=$(field control "$a_line")
b=$(field control "$b_line")
echo "$rdv_line"; echo "$a_line"; echo "$b_line"

# Wait for both agents to see each other, through their own API (event stream, with deadline).
b_id=$(field id "$b_line")
exec {events}< <(exec timeout 20 "$bin/peerlinkctl" --agent "$a" --json watch --current)
watcher=$!
if ! grep -m1 -q "$b_id" <&"$events"; then
  echo "demo: alice never saw bob register; logs in $run" >&2
  exit 1
fi
kill "$watcher" 2>/dev/null || true
exec {events}<&-

# Pair them: alice asks for a path to bob and waits for it (punched through the rendezvous).
echo
echo "== alice connects to bob"
"$bin/peerlinkctl" --agent "$a" connect "$b_id"
echo
echo "== alice sends bob a datagram; bob's event stream shows it"
exec {events}< <(exec timeout 20 "$bin/peerlinkctl" --agent "$b" watch --current)
watcher=$!
IFS= read -r -t 20 -u "$events" _ # the stream is live once its first (current-state) line is in
"$bin/peerlinkctl" --agent "$a" send "$b_id" "hello from alice"
if ! grep -m1 "hello from alice" <&"$events"; then
  echo "demo: bob never got the datagram; logs in $run" >&2
  exit 1
fi
kill "$watcher" 2>/dev/null || true
exec {events}<&-
echo
echo "== alice ($a)"; "$bin/peerlinkctl" --agent "$a" status
echo; echo "== bob's peers"; "$bin/peerlinkctl" --agent "$b" peers
cat <<EOT

Both agents are registered with the rendezvous at $rdv. Try:
  $bin/peerlinkctl --agent $a status
  $bin/peerlinkctl --agent $b watch
  $bin/peerlinkctl --agent $a send $b_id "hi again"
  $buf curl --protocol grpc --http2-prior-knowledge --list-methods http://$a
  $buf curl --protocol grpc --http2-prior-knowledge -d '{}' http://$a/peerlink.v1.Agent/GetStatus
  grpcurl -plaintext $a list        (if you have grpcurl)

Not built yet (see the issues): reliable messages, the QUIC tunnel, file transfer, benchmarks,
the browser UI and its bridge.
Press Ctrl-C to stop.
EOT
wait "${pids[@]}" || true
