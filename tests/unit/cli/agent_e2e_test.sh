#!/usr/bin/env bash
# peerlinkctl against the real programs: a rendezvous and two agents on loopback.
# status, peers and watch (text and --json); Ctrl-C ends a watch with exit 0; --json output
# is byte-for-byte what buf curl prints for the same call (when buf is installed); health;
# connect, send on every delivery (bob's watch sees each), bench (plain lines and --json),
# send-file (the sha256 sha256sum computes), disconnect; and the exit codes: 3 unreachable,
# 4 deadline exceeded, 5 refused (failed precondition).
# Waits on the lines the programs print, with deadlines; never a fixed sleep.
#
# usage: agent_e2e_test.sh PEERLINKCTL PEERLINK_AGENT PEERLINK_RENDEZVOUS
set -euo pipefail
. tests/test_home.sh

ctl=$(realpath "$1")
agent_bin=$(realpath "$2")
rdv_bin=$(realpath "$3")
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/cli_e2e.XXXXXX")
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
unset PEERLINK_AGENT PEERLINK_TOKEN
export TZ=UTC

# start NAME CMD...: runs CMD in the background, its stdout on a FIFO we hold open as fd
# $fd_NAME, its stderr in $work/NAME.err, its pid in $pid_NAME.
start() {
  local name=$1
  shift
  mkfifo "$work/$name.fifo"
  "$@" >"$work/$name.fifo" 2>"$work/$name.err" &
  pids+=($!)
  eval "exec {fd_$name}<\"$work/$name.fifo\""
  eval "pid_$name=$!"
}

# expect_line NAME REGEX: reads NAME's stdout until a line matches; prints that line.
expect_line() {
  local fd line
  eval "fd=\$fd_$1"
  while IFS= read -r -t 20 -u "$fd" line; do
    if [[ $line =~ $2 ]]; then
      printf '%s\n' "$line"
      return 0
    fi
  done
  fail "$1: no line matching '$2' within 20 s"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

start rdv "$rdv_bin" --listen 127.0.0.1:0
rdv=$(field grpc "$(expect_line rdv 'grpc=')")
[ -n "$rdv" ] || fail "no rendezvous address"

# One network: agents see each other only when they share one (or watch or pair).
start alice "$agent_bin" --control 127.0.0.1:0 --udp 127.0.0.1:0 --name alice \
  --state-dir "$work/alice" --rendezvous "$rdv" --network cli
alice_line=$(expect_line alice 'control=')
alice=$(field control "$alice_line")
alice_id=$(field id "$alice_line")

# The watch sees alice register, then bob join.
start watch "$ctl" --agent "$alice" watch --current
expect_line watch 'rendezvous state=registered' >/dev/null

start bob "$agent_bin" --control 127.0.0.1:0 --udp 127.0.0.1:0 --name bob \
  --state-dir "$work/bob" --rendezvous "$rdv" --network cli
bob_line=$(expect_line bob 'control=')
bob_id=$(field id "$bob_line")
bob=$(field control "$bob_line")
expect_line watch "peer-joined id=$bob_id name=bob address=127\.0\.0\.1:[0-9]+\$" >/dev/null

kill -INT "$pid_watch"
rc=0
wait "$pid_watch" || rc=$?
[ "$rc" = 0 ] || fail "watch exited $rc after SIGINT"
[ ! -s "$work/watch.err" ] || fail "watch wrote to stderr: $(cat "$work/watch.err")"

out=$("$ctl" --agent "$alice" status) || fail "status exited $?"
grep -qx "id:                $alice_id" <<<"$out" || fail "status: $out"
grep -qx "name:              alice" <<<"$out" || fail "status: $out"
grep -qx "rendezvous:        registered ($rdv)" <<<"$out" || fail "status: $out"

out=$("$ctl" --agent "$alice" peers) || fail "peers exited $?"
grep -Eq "^ID +NAME +ADDRESS +REGISTERED SINCE\$" <<<"$out" || fail "peers: $out"
grep -Eq "^$bob_id  bob  +127\.0\.0\.1:[0-9]+ +20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8}\$" \
  <<<"$out" || fail "peers: $out"

# --json against buf curl, an independent proto3 JSON printer (through reflection).
# make setup installs buf: a missing one is a set-up failure, not a reason to skip.
buf=$PEERLINK_CACHE/npm/node_modules/.bin/buf
[ -x "$buf" ] || fail "$buf is missing: run make setup"
{
  ours=$("$ctl" --agent "$alice" --json peers)
  theirs=$("$buf" curl --http2-prior-knowledge --protocol grpc \
    "http://$alice/peerlink.v1.Agent/ListPeers")
  [ "$ours" = "$theirs" ] || fail "peers --json differs from buf curl:
$(diff <(echo "$theirs") <(echo "$ours"))"
  # uptime moves between the two calls
  ours=$("$ctl" --agent "$alice" --json status | grep -v uptimeSeconds)
  theirs=$("$buf" curl --http2-prior-knowledge --protocol grpc \
    "http://$alice/peerlink.v1.Agent/GetStatus" | grep -v uptimeSeconds)
  [ "$ours" = "$theirs" ] || fail "status --json differs from buf curl:
$(diff <(echo "$theirs") <(echo "$ours"))"
}

# A watch with --json and a deadline: one JSON object per line, ended by the deadline, exit 0.
out=$("$ctl" --agent "$alice" --json --timeout 1000 watch --current) || fail "watch --json exit $?"
grep -q '^{"event":{"unixMs":"[0-9]*","rendezvous":{"state":"RENDEZVOUS_STATE_REGISTERED"' \
  <<<"$out" || fail "watch --json: $out"

# health: the server's overall status, text and JSON (as buf curl prints it)
out=$("$ctl" --agent "$alice" health) || fail "health exited $?"
[ "$out" = serving ] || fail "health: $out"
ours=$("$ctl" --agent "$alice" --json health)
theirs=$("$buf" curl --http2-prior-knowledge --protocol grpc "http://$alice/grpc.health.v1.Health/Check")
[ "$ours" = "$theirs" ] || fail "health --json differs from buf curl: $ours / $theirs"
rc=0
"$ctl" --agent "$alice" health --service no.such.Service 2>"$work/h.err" || rc=$?
[ "$rc" = 1 ] && grep -q "NOT_FOUND" "$work/h.err" || fail "health of an unknown service: exit $rc"

# refused: no path to bob yet (the agent answers FAILED_PRECONDITION or NOT_FOUND)
rc=0
"$ctl" --agent "$alice" send --delivery reliable "$bob_id" early 2>"$work/early.err" || rc=$?
{ [ "$rc" = 5 ] && grep -q FAILED_PRECONDITION "$work/early.err"; } ||
  { [ "$rc" = 1 ] && grep -q NOT_FOUND "$work/early.err"; } ||
  fail "send before connect: exit $rc: $(cat "$work/early.err")"

out=$("$ctl" --agent "$alice" connect "$bob_id") || fail "connect exited $?"
[[ $out =~ ^"path to $bob_id: direct via 127.0.0.1:"[0-9]+" (rtt " ]] || fail "connect: $out"

# bob's watch sees every delivery arrive
start bobwatch "$ctl" --agent "$bob" watch --current
expect_line bobwatch 'rendezvous state=registered' >/dev/null
for d in datagram reliable quic tcp; do
  out=$("$ctl" --agent "$alice" send --delivery "$d" "$bob_id" "hello $d") ||
    fail "send --delivery $d exited $?"
  [[ $out =~ ^"sent "[0-9]+" bytes to $bob_id by " ]] || fail "send --delivery $d: $out"
  expect_line bobwatch "message from=$alice_id delivery=[a-z-]+ bytes=[0-9]+ data=\"hello $d\"\$" >/dev/null
done
out=$("$ctl" --agent "$alice" --json send --delivery reliable "$bob_id" json)
grep -q '"sequence": "[0-9]*"' <<<"$out" || fail "send --json: $out"

# bench: plain interval lines and the summary with both ends (not a terminal: no bar)
out=$("$ctl" --agent "$alice" bench "$bob_id" --bytes 1000000 --interval 100ms) ||
  fail "bench exited $?"
grep -q '^Interval ' <<<"$out" || fail "bench: no heads: $out"
grep -Eq '^ +0\.00-[0-9.]+ +sec +[0-9.]+ [KM]?Bytes .* datagrams .*sender$' <<<"$out" ||
  fail "bench: no sender line: $out"
grep -Eq '^ +0\.00-[0-9.]+ +sec +[0-9.]+ [KM]?Bytes .* lost [0-9]+/[0-9]+ .*receiver$' <<<"$out" ||
  fail "bench: no receiver line: $out"
! grep -q $'\r' <<<"$out" || fail "bench drew a progress bar into a pipe"
# --json: one object per line, the last the summary with the receiver's bytes
out=$("$ctl" --agent "$alice" --json bench "$bob_id" --bytes 200000 --transport quic) ||
  fail "bench --json exited $?"
last=$(tail -1 <<<"$out")
[[ $last =~ ^\{\"report\":\{\"final\":true,.*\"bytesReceived\":\"200000\" ]] ||
  fail "bench --json: $out"
[ "$(grep -vc '^{.*}$' <<<"$out")" = 0 ] || fail "bench --json: not one object per line: $out"
# deadline exceeded: exit 4
rc=0
"$ctl" --agent "$alice" bench "$bob_id" --duration 10s --timeout 300ms >/dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "bench past its deadline: exit $rc"
rc=0
"$ctl" --agent "$alice" send-file "$bob_id" "$work/missing" 2>"$work/sf.err" || rc=$?
[ "$rc" != 0 ] && grep -q "send-file failed: " "$work/sf.err" || fail "send-file of no file: $rc"

# send-file: the final line carries the SHA-256 bob verified
head -c 200000 /dev/urandom >"$work/f.bin"
want=$(sha256sum "$work/f.bin" | cut -d' ' -f1)
out=$(cd "$work" && "$ctl" --agent "$alice" send-file "$bob_id" f.bin) || fail "send-file exited $?"
[ "$out" = "sent f.bin to $bob_id: 200000 bytes, sha256 $want" ] || fail "send-file: $out"
expect_line bobwatch " file from=$alice_id name=f\.bin .*size=200000 sha256=$want\$" >/dev/null
# again without --overwrite: refused (ALREADY_EXISTS), exit 5
rc=0
"$ctl" --agent "$alice" send-file "$bob_id" "$work/f.bin" 2>"$work/sf.err" || rc=$?
[ "$rc" = 5 ] && grep -q ALREADY_EXISTS "$work/sf.err" || fail "send-file again: exit $rc"
out=$("$ctl" --agent "$alice" --json send-file "$bob_id" "$work/f.bin" --overwrite --remote-name g.bin)
grep -q "\"done\":true,\"sha256\":\"$want\"" <<<"$(tail -1 <<<"$out")" || fail "send-file --json: $out"

out=$("$ctl" --agent "$alice" disconnect "$bob_id") || fail "disconnect exited $?"
[ "$out" = ok ] || fail "disconnect: $out"

# unreachable: exit 3, once bob is gone
kill "$pid_bob"
wait "$pid_bob" 2>/dev/null || true
rc=0
"$ctl" --agent "$bob" status 2>/dev/null || rc=$?
[ "$rc" = 3 ] || fail "status of a stopped agent: exit $rc"

echo "agent_e2e_test: ok"
