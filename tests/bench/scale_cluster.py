#!/usr/bin/env python3
"""scale.sh's N-instance row: /proc snapshots of the instances, and the aggregation of the
rdv_scale clients' JSON (one client per instance) into one row.

  scale_cluster.py snap PID...            one line per PID: pid rss_kib cpu_s (stdout)
  scale_cluster.py report OUT BEFORE AFTER T0 T1 LEADER_PID REDIS_PID JSON...
"""
import json
import os
import sys


def snap(pids):
    tck = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        rss = -1
        cpu = -1.0
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / tck  # utime, stime
        except OSError:
            pass
        print(pid, rss, f"{cpu:.3f}")


def read_snap(path):
    out = {}
    with open(path) as f:
        for line in f:
            pid, rss, cpu = line.split()
            out[pid] = (int(rss), float(cpu))
    return out


def report(out, before, after, t0, t1, leader, redis, jsons):
    b, a = read_snap(before), read_snap(after)
    wall = float(t1) - float(t0)
    clients = []
    for path in jsons:
        try:
            with open(path) as f:
                clients.append(json.load(f))
        except (OSError, ValueError) as e:
            print(f"scale: {path}: {e}", file=sys.stderr)
    inst = [p for p in b if p != redis]
    n_inst = len(inst)
    agents = sum(c["agents"] for c in clients)
    registered = sum(c["register"]["registered"] for c in clients)
    errors = sum(c["register"]["errors"] for c in clients)
    grow = {p: a[p][0] - b[p][0] for p in inst}
    cpu = {p: a[p][1] - b[p][1] for p in inst}
    followers = [p for p in inst if p != leader]
    reg = max(registered, 1)
    per_inst = reg / max(n_inst, 1)
    row = {
        "instances": n_inst,
        "clients": len(clients),
        "agents": agents,
        "registered": registered,
        "errors": errors,
        "wall_s": wall,
        "per_s": registered / wall if wall > 0 else 0,
        "slowest_client_register_s": max((c["register"]["seconds"] for c in clients), default=0),
        "kib_per_agent_all_instances": sum(grow.values()) / reg,
        "leader_kib_per_agent_of_all": grow.get(leader, 0) / reg,
        "follower_kib_per_own_agent": (
            sum(grow[p] for p in followers) / (per_inst * len(followers)) if followers else 0),
        "instance_rss_after_kib": {p: a[p][0] for p in inst},
        "redis_rss_growth_kib": a[redis][0] - b[redis][0] if redis in a else -1,
        "cpu_s_all_instances": sum(cpu.values()),
        "cpu_us_per_registration": sum(cpu.values()) * 1e6 / reg,
        "leader_cpu_s": cpu.get(leader, 0),
        "redis_cpu_s": a[redis][1] - b[redis][1] if redis in a else -1,
        "pairing_idle_worst": max((c["pairing_idle"] for c in clients),
                                  key=lambda l: l["p99_us"], default={}),
        "pairing_busy_worst": max((c["pairing_busy"] for c in clients),
                                  key=lambda l: l["p99_us"], default={}),
        "pairing_idle_p50_us": [c["pairing_idle"]["p50_us"] for c in clients],
        "pairing_idle_p99_us": [c["pairing_idle"]["p99_us"] for c in clients],
        "pairing_busy_p50_us": [c["pairing_busy"]["p50_us"] for c in clients],
        "pairing_busy_p99_us": [c["pairing_busy"]["p99_us"] for c in clients],
        "during_pairing_registered": sum(c["register_during_pairing"]["registered"]
                                         for c in clients),
        "stun_per_s_sum": sum(c["stun"]["per_s"] for c in clients),
        "relay_per_s_sum": sum(c["relay"]["per_s"] for c in clients),
        "generator_rss_kib_sum": sum(c["memory"]["generator_rss_kib"] for c in clients),
    }
    with open(out, "w") as f:
        json.dump(row, f, indent=1)
    pi, pb = row["pairing_idle_worst"], row["pairing_busy_worst"]
    print(f"\nRendezvous at scale, {n_inst} instances + redis: {agents} agents "
          f"({len(clients)} rdv_scale clients, one per instance, one TCP connection per agent)")
    print(f"  registered {registered} of {agents} in {wall:.2f} s (all clients started together) "
          f"= {row['per_s']:.0f} registrations/s ({errors} errors; slowest client "
          f"{row['slowest_client_register_s']:.2f} s)")
    print(f"  instances' CPU {row['cpu_s_all_instances']:.2f} s = "
          f"{row['cpu_us_per_registration']:.0f} us per registration (leader "
          f"{row['leader_cpu_s']:.2f} s; redis-server {row['redis_cpu_s']:.2f} s)")
    print(f"  memory: instances' RSS growth {sum(grow.values())} KiB = "
          f"{row['kib_per_agent_all_instances']:.1f} KiB per agent; leader "
          f"{row['leader_kib_per_agent_of_all']:.1f} KiB per agent of all, followers "
          f"{row['follower_kib_per_own_agent']:.1f} KiB per own agent; redis +"
          f"{row['redis_rss_growth_kib']} KiB")
    if pi:
        print(f"  pairing, crowd registered (within each client's agents; the worst client's): "
              f"p50 {pi['p50_us']:.0f} us p99 {pi['p99_us']:.0f} us (n={pi['n']} each)")
    if pb:
        print(f"  pairing, while {row['during_pairing_registered']} more register (worst "
              f"client): p50 {pb['p50_us']:.0f} us p99 {pb['p99_us']:.0f} us")
    print(f"  STUN {row['stun_per_s_sum']:.0f} answers/s, relay {row['relay_per_s_sum']:.0f} "
          f"datagrams/s (sums over the clients, run together: STUN at each client's own instance, "
          f"the relay at the leader, which holds the relay table)\n")


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        snap(sys.argv[2:])
    else:
        report(*sys.argv[2:9], sys.argv[9:])
