#!/usr/bin/env bash
# Every method of an agent's API from the command line with grpcurl — or buf curl, which takes
# the same JSON. The agent serves reflection, so neither needs the .proto files. These are the
# commands (AGENT is HOST:PORT of the agent's --control; data is base64, 64-bit numbers are
# strings, as proto3 JSON has them):
#
#   grpcurl -plaintext AGENT list                                   # services (reflection)
#   grpcurl -plaintext AGENT describe peerlink.v1.Agent
#   grpcurl -plaintext AGENT grpc.health.v1.Health/Check
#   grpcurl -plaintext AGENT peerlink.v1.Agent/GetStatus
#   grpcurl -plaintext -d '{"includeCurrent":true}' AGENT peerlink.v1.Agent/WatchEvents
#   grpcurl -plaintext -d '{"pageSize":100}' AGENT peerlink.v1.Agent/ListPeers
#   grpcurl -plaintext -d '{"peerId":"ID","wait":true,"timeoutMs":15000}' \
#       AGENT peerlink.v1.Agent/Connect
#   grpcurl -plaintext -d '{"peerId":"ID","delivery":"DELIVERY_RELIABLE","data":"aGk="}' \
#       AGENT peerlink.v1.Agent/Send        # DELIVERY_DATAGRAM, _RELIABLE, _QUIC_STREAM, _TCP
#   grpcurl -plaintext -d '{"peerId":"ID","transport":"BENCHMARK_TRANSPORT_UDP",
#       "durationMs":5000,"bytes":"0"}' AGENT peerlink.v1.Agent/Benchmark
#   grpcurl -plaintext -d '{"peerId":"ID","path":"/abs/file","overwrite":false}' \
#       AGENT peerlink.v1.Agent/SendFile
#   grpcurl -plaintext -d '{"peerId":"ID"}' AGENT peerlink.v1.Agent/Disconnect
#
# buf curl: the same -d JSON, the URL http://AGENT/SERVICE/METHOD, and
# `--protocol grpc --http2-prior-knowledge`; `--list-services` for list, `--list-methods` (every
# service's) for describe. With a token, add
# -H 'authorization: Bearer TOKEN' to either.
#
# This script runs them:  grpcurl.sh [--print] COMMAND [ARGS]
#   list | describe | health | status | watch | peers [PAGE_SIZE [PAGE_TOKEN]] |
#   connect PEER_ID | disconnect PEER_ID | send PEER_ID TEXT [datagram|reliable|quic|tcp] |
#   bench PEER_ID [udp|quic|tcp] [BYTES] [DURATION_MS] | send-file PEER_ID PATH [REMOTE_NAME]
# Environment: AGENT (default 127.0.0.1:7700), PEERLINK_TOKEN, CLIENT=grpcurl|buf (default:
# grpcurl when on PATH, else buf), BUF (default: the one `make setup` installs).
# --print shows the command instead of running it.
set -euo pipefail
agent=${AGENT:-127.0.0.1:7700}
buf=${BUF:-${PEERLINK_CACHE:-$HOME/.cache/peerlink}/npm/node_modules/.bin/buf}
client=${CLIENT:-$(command -v grpcurl >/dev/null && echo grpcurl || echo buf)}
print=0
if [ "${1:-}" = --print ]; then print=1; shift; fi
usage() { sed -n '/^# This script runs them/,/^# --print/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
cmd=$1
shift

run() {
  if [ "$print" = 1 ]; then printf '%q ' "$@"; echo; else "$@"; fi
}
# rpc SERVICE/METHOD [JSON]: one call with the chosen client.
rpc() {
  local auth=()
  [ -z "${PEERLINK_TOKEN:-}" ] || auth=(-H "authorization: Bearer $PEERLINK_TOKEN")
  if [ "$client" = grpcurl ]; then
    run grpcurl -plaintext "${auth[@]}" ${2:+-d "$2"} "$agent" "$1"
  else
    run "$buf" curl --protocol grpc --http2-prior-knowledge "${auth[@]}" ${2:+-d "$2"} \
      "http://$agent/$1"
  fi
}
need() { [ $# -ge "$1" ] || usage; }
# JSON string content: the arguments here are IDs, names and paths; quote what JSON needs.
js() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '%s' "$s"; }

case $cmd in
list)
  if [ "$client" = grpcurl ]; then run grpcurl -plaintext "$agent" list
  else run "$buf" curl --protocol grpc --http2-prior-knowledge --list-services "http://$agent"; fi ;;
describe)
  if [ "$client" = grpcurl ]; then run grpcurl -plaintext "$agent" describe peerlink.v1.Agent
  else run "$buf" curl --protocol grpc --http2-prior-knowledge --list-methods "http://$agent"
  fi ;; # buf curl lists every service's methods
health) rpc grpc.health.v1.Health/Check ;;
status) rpc peerlink.v1.Agent/GetStatus ;;
watch) rpc peerlink.v1.Agent/WatchEvents '{"includeCurrent":true}' ;;
peers)
  rpc peerlink.v1.Agent/ListPeers \
    "{\"pageSize\":${1:-100}${2:+,\"pageToken\":\"$(js "$2")\"}}" ;;
connect)
  need 1 "$@"
  rpc peerlink.v1.Agent/Connect "{\"peerId\":\"$(js "$1")\",\"wait\":true,\"timeoutMs\":15000}" ;;
disconnect)
  need 1 "$@"
  rpc peerlink.v1.Agent/Disconnect "{\"peerId\":\"$(js "$1")\"}" ;;
send)
  need 2 "$@"
  case ${3:-datagram} in
  datagram) d=DELIVERY_DATAGRAM ;; reliable) d=DELIVERY_RELIABLE ;;
  quic) d=DELIVERY_QUIC_STREAM ;; tcp) d=DELIVERY_TCP ;; *) usage ;;
  esac
  rpc peerlink.v1.Agent/Send \
    "{\"peerId\":\"$(js "$1")\",\"delivery\":\"$d\",\"data\":\"$(printf '%s' "$2" | base64 -w0)\"}" ;;
bench)
  need 1 "$@"
  case ${2:-udp} in udp | quic | tcp) t=BENCHMARK_TRANSPORT_${2:-udp} ;; *) usage ;; esac
  rpc peerlink.v1.Agent/Benchmark "{\"peerId\":\"$(js "$1")\",\"transport\":\"${t^^}\",\
\"bytes\":\"${3:-0}\",\"durationMs\":${4:-5000}}" ;;
send-file)
  need 2 "$@"
  # The agent opens the file: give it an absolute path.
  rpc peerlink.v1.Agent/SendFile "{\"peerId\":\"$(js "$1")\",\"path\":\"$(js "$(realpath "$2")")\"\
${3:+,\"remoteName\":\"$(js "$3")\"}}" ;;
*) usage ;;
esac
