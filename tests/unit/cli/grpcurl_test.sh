#!/usr/bin/env bash
# clients/examples/grpcurl.sh with buf curl (CLIENT=buf) against the real programs: a
# rendezvous and two agents on loopback. Each documented command runs and its answer is
# checked: list (reflection), describe, health, status, peers, connect, send on every delivery
# (bob's watch through the script sees each), bench (the summary), send-file (bob's sha256),
# disconnect. Waits on lines with deadlines; never a fixed sleep.
#
# usage: grpcurl_test.sh GRPCURL_SH PEERLINK_AGENT PEERLINK_RENDEZVOUS
set -euo pipefail
. tests/test_home.sh

script=$(realpath "$1")
agent_bin=$(realpath "$2")
rdv_bin=$(realpath "$3")
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/grpcurl.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
# make setup installs buf: a missing one is a set-up failure, not a reason to skip.
export BUF=$PEERLINK_CACHE/npm/node_modules/.bin/buf CLIENT=buf
[ -x "$BUF" ] || fail "$BUF is missing: run make setup"
unset PEERLINK_TOKEN

start() { # start NAME CMD...: stdout on a FIFO held open as fd $fd_NAME
  local name=$1
  shift
  mkfifo "$work/$name.fifo"
  "$@" >"$work/$name.fifo" 2>"$work/$name.err" &
  pids+=($!)
  eval "exec {fd_$name}<\"$work/$name.fifo\""
}
expect_line() { # expect_line NAME REGEX
  local fd line
  eval "fd=\$fd_$1"
  while IFS= read -r -t 20 -u "$fd" line; do
    [[ $line =~ $2 ]] && { printf '%s\n' "$line"; return 0; }
  done
  fail "$1: no line matching '$2' within 20 s"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
g() { AGENT=$alice "$script" "$@"; } # the script against alice

start rdv "$rdv_bin" --listen 127.0.0.1:0
rdv=$(field grpc "$(expect_line rdv 'grpc=')")
start alice "$agent_bin" --control 127.0.0.1:0 --udp 127.0.0.1:0 --name alice \
  --state-dir "$work/alice" --rendezvous "$rdv" --network gc
line=$(expect_line alice 'control=')
alice=$(field control "$line") alice_id=$(field id "$line")
start bob "$agent_bin" --control 127.0.0.1:0 --udp 127.0.0.1:0 --name bob \
  --state-dir "$work/bob" --rendezvous "$rdv" --network gc
line=$(expect_line bob 'control=')
bob=$(field control "$line") bob_id=$(field id "$line")

out=$(g list) || fail "list: $out"
for s in peerlink.v1.Agent grpc.health.v1.Health grpc.reflection.v1.ServerReflection; do
  grep -qx "$s" <<<"$out" || fail "list lacks $s: $out"
done
out=$(g describe) || fail "describe: $out"
for m in GetStatus WatchEvents ListPeers Connect Disconnect Send Benchmark SendFile; do
  grep -qx "peerlink.v1.Agent/$m" <<<"$out" || fail "describe lacks $m: $out"
done
out=$(g health) || fail "health: $out"
grep -q '"status": "SERVING"' <<<"$out" || fail "health: $out"
out=$(g status) || fail "status: $out"
grep -q "\"id\": \"$alice_id\"" <<<"$out" && grep -q '"name": "alice"' <<<"$out" ||
  fail "status: $out"

# alice sees bob once he registered: the watch replays current state, then follows
start awatch env AGENT="$alice" "$script" watch
expect_line awatch "\"id\": \"$bob_id\"" >/dev/null
out=$(g peers 10) || fail "peers: $out"
grep -q "\"id\": \"$bob_id\"" <<<"$out" && grep -q '"totalSize": "1"' <<<"$out" ||
  fail "peers: $out"

out=$(g connect "$bob_id") || fail "connect: $out"
grep -q '"kind": "PATH_KIND_DIRECT"' <<<"$out" || fail "connect: $out"

start bwatch env AGENT="$bob" "$script" watch
expect_line bwatch '"rendezvous"' >/dev/null
for d in datagram reliable quic tcp; do
  out=$(g send "$bob_id" "hello $d" "$d") || fail "send $d: $out"
  grep -q '"sequence": "[0-9]*"' <<<"$out" || fail "send $d: $out"
  expect_line bwatch "\"data\": \"$(printf 'hello %s' "$d" | base64 -w0)\"" >/dev/null
done

out=$(g bench "$bob_id" udp 500000 5000) || fail "bench: $out"
grep -q '"final": true' <<<"$out" || fail "bench: no summary: $out"
grep -q '"bytesReceived": "[1-9][0-9]*"' <<<"$out" || fail "bench: nothing received: $out"

head -c 100000 /dev/urandom >"$work/f.bin"
want=$(sha256sum "$work/f.bin" | cut -d' ' -f1)
out=$(g send-file "$bob_id" "$work/f.bin" copy.bin) || fail "send-file: $out"
grep -q "\"sha256\": \"$want\"" <<<"$out" && grep -q '"done": true' <<<"$out" ||
  fail "send-file: $out"
expect_line bwatch "\"sha256\": \"$want\"" >/dev/null

out=$(g disconnect "$bob_id") || fail "disconnect: $out"
[ "$out" = "{}" ] || fail "disconnect: $out"

# --print shows the documented command and runs nothing
out=$(AGENT=$alice CLIENT=grpcurl "$script" --print status)
[ "$out" = "grpcurl -plaintext $alice peerlink.v1.Agent/GetStatus " ] || fail "--print: $out"

echo "grpcurl_test: ok"
