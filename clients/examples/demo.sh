#!/usr/bin/env bash
# make demo: a rendezvous, two agents and a bridge for each on loopback; the agents pair, trade a
# datagram and run a short benchmark; prints the two UI addresses and how to reach everything.
# Ctrl-C stops everything cleanly.
# As root (with ip and nft), the agents run behind NATs of the NAT lab instead: demo_lab.py
# builds the lab, starts the rendezvous and the agents there and runs this script with their
# address lines in DEMO_RDV_LINE/DEMO_A_LINE/DEMO_B_LINE. DEMO_LOOPBACK=1 forces loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -z ${DEMO_A_LINE:-} && ${DEMO_LOOPBACK:-0} != 1 && $(id -u) == 0 ]] &&
  command -v ip >/dev/null && command -v nft >/dev/null; then
  exec /usr/bin/python3 clients/examples/demo_lab.py
fi
bin=$PWD/bin
buf=${PEERLINK_CACHE:-$HOME/.cache/peerlink}/npm/node_modules/.bin/buf
run=${DEMO_RUN:-$(mktemp -d /tmp/peerlink-demo.XXXXXX)}
# The programs' PIDs, one a line: start runs in $(...), a subshell, so a shell array would stay
# empty here and the programs are not this shell's children (tail --pid waits for them).
pids=$run/pids
: >"$pids"

stop() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  local p
  for p in $(cat "$pids"); do kill -TERM "$p" 2>/dev/null || true; done
  for p in $(cat "$pids"); do
    timeout 5 tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null || true
  done
  echo "demo: stopped (logs in $run)"
}
trap stop INT TERM EXIT

# Starts a program in the background; waits (with a deadline) for its address line.
start() {
  local name=$1; shift
  local fifo=$run/$name.out
  mkfifo "$fifo"
  "$@" >"$fifo" 2>"$run/$name.log" &
  echo $! >>"$pids"
  exec {fd}<"$fifo"
  if ! IFS= read -r -t 20 -u "$fd" line; then
    echo "demo: $name did not start; see $run/$name.log" >&2
    exit 1
  fi
  cat <&"$fd" >/dev/null &  # keep draining its stdout
  echo "$line"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^[^ ]* $1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }

if [[ -n ${DEMO_A_LINE:-} ]]; then # lab mode: demo_lab.py runs them (and stops them after us)
  rdv_line=$DEMO_RDV_LINE a_line=$DEMO_A_LINE b_line=$DEMO_B_LINE
  rdv=$(field grpc "$rdv_line")
else
  rdv_line=$(start rendezvous "$bin/peerlink-rendezvous" --listen 127.0.0.1:0 --udp 127.0.0.1:0 \
    --udp-alt 127.0.0.1:0)
  rdv=$(field grpc "$rdv_line")
  a_line=$(start agent-a "$bin/peerlink-agent" --name alice --control 127.0.0.1:0 \
    --udp 127.0.0.1:0 --state-dir "$run/alice" --rendezvous "$rdv" --network demo)
  b_line=$(start agent-b "$bin/peerlink-agent" --name bob --control 127.0.0.1:0 \
    --udp 127.0.0.1:0 --state-dir "$run/bob" --rendezvous "$rdv" --network demo)
fi
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
echo "== a 2-second UDP benchmark, alice -> bob (the summary carries bob's own numbers)"
"$buf" curl --protocol grpc --http2-prior-knowledge --timeout 30s \
  -d "{\"peerId\":\"$b_id\",\"transport\":\"BENCHMARK_TRANSPORT_UDP\",\"durationMs\":2000,\"intervalMs\":500}" \
  "http://$a/peerlink.v1.Agent/Benchmark" >"$run/bench.json" ||
  echo "demo: the benchmark failed: $(tail -3 "$run/bench.json")" >&2
/usr/bin/python3 - "$run/bench.json" <<'PY' || true
import json, sys
text = open(sys.argv[1]).read()
dec, i, reports = json.JSONDecoder(), 0, []
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    obj, i = dec.raw_decode(text, i)
    reports.append(obj.get("report", {}))
for r in reports:
    mbps = lambda k: float(r.get(k, 0)) / 1e6
    tag = "summary " if r.get("final") else "interval"
    print("  %s %6s ms  sent %7.1f Mbit/s  received %7.1f Mbit/s  lost %s  jitter %.0f us" % (
        tag, r.get("elapsedMs", "0"), mbps("senderBps"), mbps("receiverBps"), r.get("lost", "0"),
        float(r.get("jitterUs", 0))))
PY

echo
echo "== a bridge for each agent (the browser UI)"
ui=$PWD/clients/web/dist
ab_line=$(start bridge-a "$bin/peerlink-bridge" --listen 127.0.0.1:0 --agent "$a" --ui "$ui")
bb_line=$(start bridge-b "$bin/peerlink-bridge" --listen 127.0.0.1:0 --agent "$b" --ui "$ui")
a_url=$(field url "$ab_line")
b_url=$(field url "$bb_line")
echo "$ab_line"; echo "$bb_line"
echo
echo "== alice ($a)"; "$bin/peerlinkctl" --agent "$a" status
echo; echo "== bob's peers"; "$bin/peerlinkctl" --agent "$b" peers
cat <<EOT

Open the UI:  alice  $a_url
              bob    $b_url

Both agents are registered with the rendezvous at $rdv. Try:
  $bin/peerlinkctl --agent $a status
  $bin/peerlinkctl --agent $b watch
  $bin/peerlinkctl --agent $a send $b_id "hi again"
  $buf curl --protocol grpc --http2-prior-knowledge --list-methods http://$a
  $buf curl --protocol grpc --http2-prior-knowledge -d '{}' http://$a/peerlink.v1.Agent/GetStatus
  grpcurl -plaintext $a list        (if you have grpcurl)

Press Ctrl-C to stop.
EOT
for p in $(cat "$pids"); do tail --pid="$p" -f /dev/null & done
wait || true # until Ctrl-C (or every program has exited)
