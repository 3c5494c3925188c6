#!/usr/bin/env bash
# peerlinkctl against the real programs: a rendezvous and two agents on loopback.
# status, peers and watch (text and --json); Ctrl-C ends a watch with exit 0; --json output
# is byte-for-byte what buf curl prints for the same call (when buf is installed).
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
bob_id=$(field id "$(expect_line bob 'control=')")
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

echo "agent_e2e_test: ok"
