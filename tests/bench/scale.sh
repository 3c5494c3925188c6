#!/usr/bin/env bash
# make bench, rendezvous at scale (issue 10): rows of rdv_scale against a fresh rendezvous each
# (1,000 agents, then BENCH_SCALE_AGENTS, default 100,000), each agent on its own TCP connection
# from its own 127.x address; then the registry core alone at the same size (registry_scale);
# then two instances sharing one registry through a Redis of our own (--redis, a redis-server on
# a free loopback port): rdv_scale's agents alternate between the follower and the leader, so
# half of the registrations cross Redis (BENCH_SCALE_REDIS_AGENTS, default 1,000;
# BENCH_SCALE_REDIS_FRONT=follower puts every agent on the follower; BENCH_SCALE_REDIS=0 skips
# the row; skipped with a note where redis-server is not installed). Last, the large cluster row:
# BENCH_SCALE_REDIS_INSTANCES (6) instances on one Redis and one rdv_scale client per instance
# (its own 127.x range, --client K), BENCH_SCALE_REDIS_LARGE (100,000) agents over them, every
# client's phases started together (--sync-ready/--sync-go); scale_cluster.py reads the
# instances' RSS and CPU around the registration phase and sums the clients' JSON into one row
# (${OUT}-scale-cluster.json). Each instance and each client holds 1/N of the connections, so
# the row fits a per-process descriptor limit the single-instance row cannot (20,000 here).
# BENCH_SCALE_ONLY (small,large,core,redis,cluster; default all) picks rows.
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
AGG=$(dirname "$0")/scale_cluster.py
ONLY=,${BENCH_SCALE_ONLY:-small,large,core,redis,cluster},
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
extra_pids=() # the Redis row's redis-server and instances
cleanup() {
  [ -z "$rdv_pid" ] || { kill "$rdv_pid" 2>/dev/null || true; wait "$rdv_pid" 2>/dev/null || true; }
  for pid in "${extra_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${extra_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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

if [[ $ONLY == *,small,* ]]; then
  echo "scale: 1,000 agents (the small row)" >&2
  row 1000 100 small
fi
big=$WANT extra=$((WANT / 10))
if [ $((big + extra + MARGIN)) -gt "$hard" ]; then
  extra=$(((hard - MARGIN) / 11))
  big=$((hard - MARGIN - extra))
  echo "scale: the descriptor limit here is $hard (ulimit -Hn; raising it needs" \
    "CAP_SYS_RESOURCE): the large row has $big agents instead of $WANT" >&2
fi
if [[ $ONLY == *,large,* ]]; then
  echo "scale: $big agents (the large row)" >&2
  row "$big" "$extra" large
fi
if [[ $ONLY == *,core,* ]]; then
  echo "scale: the registry core alone, $WANT agents" >&2
  "$CORE" "$WANT" "$NET"
fi

# The Redis row: redis-server, two instances on it, one leader and one follower, rdv_scale
# against both (or the follower alone).
# start_redis: a redis-server of our own on a free loopback port; sets port and rpid.
start_redis() {
  local deadline
  port='' rpid=''
  for _ in 1 2 3 4 5; do # a free port: bind 0, then let redis-server take it
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$tmp" \
      --protected-mode yes --logfile "$tmp/redis.log" &
    rpid=$!
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && kill -0 "$rpid" 2>/dev/null &&
      [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != PONG ]; do
      sleep 0.1
    done
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
      extra_pids+=("$rpid")
      return 0
    fi
    kill "$rpid" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    rpid=
  done
  echo "scale: redis-server did not start ($tmp/redis.log)" >&2
  return 1
}

# start_cluster N TAG: redis-server, N --redis instances on it (logs $tmp/rdv-TAG-I.log), and
# waits (20 s) until one is the leader and the others follow. Sets port and rpid (start_redis),
# inst_grpc, inst_udp, inst_pid and inst_leader (the leader's index).
start_cluster() {
  local n_inst=$1 tag=$2 i fd line deadline nl nf role
  start_redis || return 1
  inst_grpc=() inst_udp=() inst_pid=() inst_leader=''
  for ((i = 0; i < n_inst; i++)); do
    exec {fd}< <(exec "$RDV" --listen 127.0.0.1:0 --udp 127.0.0.1:0 \
      --redis "127.0.0.1:$port" --redis-prefix "$tag$$" 2>"$tmp/rdv-$tag-$i.log")
    inst_pid[i]=$!
    extra_pids+=("${inst_pid[i]}")
    read -r -t 15 -u "$fd" line || { echo "scale: rendezvous $i did not start" >&2; return 1; }
    inst_grpc[i]=$(sed -n 's/.*grpc=\([^ ]*\).*/\1/p' <<<"$line")
    inst_udp[i]=$(sed -n 's/.* udp=\([^ ]*\).*/\1/p' <<<"$line")
  done
  # Each instance's last registry_role line.
  deadline=$((SECONDS + 20))
  while [ $SECONDS -lt $deadline ]; do
    nl=0 nf=0 inst_leader=''
    for ((i = 0; i < n_inst; i++)); do
      role=$(grep -o 'event=registry_role role=[a-z_]*' "$tmp/rdv-$tag-$i.log" | tail -1 | sed 's/.*=//')
      [ "$role" = leader ] && nl=$((nl + 1)) inst_leader=$i
      [ "$role" = follower ] && nf=$((nf + 1))
    done
    [ "$nl" = 1 ] && [ "$nf" = $((n_inst - 1)) ] && return 0
    sleep 0.2
  done
  echo "scale: not one leader and $((n_inst - 1)) followers after 20 s" >&2
  grep -h registry_role "$tmp"/rdv-"$tag"-*.log >&2 || true
  return 1
}

# Stops what the row started (instances, clients, redis-server).
stop_extra() {
  local pid
  for pid in "${extra_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${extra_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  extra_pids=()
}

redis_row() {
  local n=$1 front=$2 port='' rpid leader follower
  start_cluster 2 redis || return 1
  local -a grpc=("${inst_grpc[@]}") udp=("${inst_udp[@]}") pid=("${inst_pid[@]}")
  leader=$inst_leader follower=$((1 - inst_leader))
  # The leader's pid either way: its memory and CPU are reported as the second instance's.
  local -a second=(--rendezvous2-pid "${pid[leader]}")
  [ "$front" = follower ] || second+=(--rendezvous2 "${grpc[leader]}")
  echo "scale: first instance = the follower (pid ${pid[follower]}), second = the leader" \
    "(pid ${pid[leader]})" >&2
  "$SCALE" --rendezvous "${grpc[follower]}" --rendezvous-pid "${pid[follower]}" "${second[@]}" \
    --udp "${udp[leader]}" --agents "$n" --extra $((n / 10)) --network-size "$NET" \
    --window "$WINDOW" --pairs "$PAIRS" --json "$OUT-scale-redis.json" ||
    echo "scale: the redis row did not finish" >&2
  # Anything the instances had to say about the cluster while it ran.
  grep -h 'level=\(warn\|error\)' "$tmp"/rdv-redis-*.log | sort | uniq -c | sort -rn | head -5 >&2 || true
  stop_extra
}

# The large cluster row: redis-server, N instances on it (one leader, N-1 followers), one
# rdv_scale client per instance with n/N agents each, all clients' phases in step.
cluster_row() {
  local n_inst=$1 n=$2 port='' rpid i k per extra_c
  per=$((n / n_inst))
  extra_c=$((per / 10))
  if [ $((per + extra_c + MARGIN)) -gt "$hard" ]; then
    extra_c=$(((hard - MARGIN) / 11))
    per=$((hard - MARGIN - extra_c))
    echo "scale: the descriptor limit here is $hard: $per agents per instance" >&2
  fi
  echo "scale: $n agents asked, $n_inst instances + redis ($per or so per instance and" \
    "client, $extra_c more each during pairing)" >&2
  start_cluster "$n_inst" cluster || return 1
  local -a grpc=("${inst_grpc[@]}") udp=("${inst_udp[@]}") pid=("${inst_pid[@]}") cpids
  local leader=$inst_leader
  echo "scale: leader = instance $leader (pid ${pid[leader]})" >&2
  mkdir -p "$tmp/sync"
  local rest=$((n - per * n_inst)) mine # n not a multiple of n_inst: the first clients take one more
  [ "$rest" -ge 0 ] && [ $((per + 1 + extra_c + MARGIN)) -le "$hard" ] || rest=0
  for ((i = 0; i < n_inst; i++)); do
    mine=$((per + (i < rest ? 1 : 0)))
    "$SCALE" --client "$i" --rendezvous "${grpc[i]}" --rendezvous-pid "${pid[i]}" \
      --udp "${udp[i]}" --agents "$mine" --extra "$extra_c" --network-size "$NET" \
      --window "$WINDOW" --pairs "$PAIRS" --sync-ready "$tmp/sync/c$i-" --sync-go "$tmp/sync/go" \
      --json "$OUT-scale-cluster-$i.json" >"$tmp/client-$i.txt" 2>"$tmp/client-$i.log" &
    cpids[i]=$!
    extra_pids+=("${cpids[i]}")
  done
  # Sync points (scale.h): 1 keys made, 2 registered, 3 before STUN. The instances' RSS and CPU
  # are read at 1 and 2, while every client waits.
  local t0='' t1='' all alive
  for k in 1 2 3; do
    while :; do
      all=1 alive=0
      for ((i = 0; i < n_inst; i++)); do
        [ -e "$tmp/sync/c$i-$k" ] || all=0
        kill -0 "${cpids[i]}" 2>/dev/null && alive=$((alive + 1))
      done
      [ "$all" = 1 ] && break
      if [ "$alive" -lt "$n_inst" ]; then
        echo "scale: a cluster client stopped before sync point $k" >&2
        break
      fi
      sleep 0.05
    done
    case $k in
    1) python3 "$AGG" snap "$rpid" "${pid[@]}" >"$tmp/snap-before"; t0=$EPOCHREALTIME ;;
    2) t1=$EPOCHREALTIME; python3 "$AGG" snap "$rpid" "${pid[@]}" >"$tmp/snap-after" ;;
    esac
    touch "$tmp/sync/go$k"
  done
  local failed=0
  for ((i = 0; i < n_inst; i++)); do
    wait "${cpids[i]}" || { failed=1; echo "scale: cluster client $i failed:" >&2; tail -5 "$tmp/client-$i.log" >&2; }
  done
  [ "$failed" = 0 ] || echo "scale: the cluster row did not finish (clients' logs above)" >&2
  grep -h 'level=\(warn\|error\)' "$tmp"/rdv-cluster-*.log | sed 's/ts=[^ ]* //' | sort | uniq -c | sort -rn | head -8 >&2 || true
  if [ -n "$t1" ] && [ -s "$tmp/snap-after" ]; then
    python3 "$AGG" report "$OUT-scale-cluster.json" "$tmp/snap-before" "$tmp/snap-after" \
      "$t0" "$t1" "${pid[leader]}" "$rpid" "$OUT"-scale-cluster-[0-9]*.json
  fi
  stop_extra
}

have_redis=1
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  have_redis=0
  echo "scale: redis-server/redis-cli not installed: no redis rows" >&2
fi
if [ "${BENCH_SCALE_REDIS:-1}" != 0 ] && [ "$have_redis" = 1 ] && [[ $ONLY == *,redis,* ]]; then
  rn=${BENCH_SCALE_REDIS_AGENTS:-1000}
  # Each instance holds its half (or all) of the connections, rdv_scale all of them.
  if [ $((rn + rn / 10 + MARGIN)) -gt "$hard" ]; then
    rn=$(((hard - MARGIN) * 10 / 11))
    echo "scale: the descriptor limit here is $hard: the redis row has $rn agents" >&2
  fi
  if [ "${BENCH_SCALE_REDIS_FRONT:-both}" = follower ]; then
    echo "scale: $rn agents, 2 instances + redis (every agent on the follower)" >&2
  else
    echo "scale: $rn agents, 2 instances + redis (half on the follower, half on the leader)" >&2
  fi
  redis_row "$rn" "${BENCH_SCALE_REDIS_FRONT:-both}" || echo "scale: the redis row failed" >&2
fi
if [ "${BENCH_SCALE_REDIS:-1}" != 0 ] && [ "$have_redis" = 1 ] && [[ $ONLY == *,cluster,* ]]; then
  cluster_row "${BENCH_SCALE_REDIS_INSTANCES:-6}" "${BENCH_SCALE_REDIS_LARGE:-100000}" ||
    echo "scale: the cluster row failed" >&2
fi
