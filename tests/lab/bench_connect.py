"""Time to connect, per NAT pair kind, in the NAT lab (issue 3, "Measure").

For each pair kind: one topology, two real agents, and N rounds of

    A.Connect(B, wait=true)            timed: call -> response (the first working path)
    [direct expected, relay came first: wait for A's PathChanged to DIRECT, timed]
    B's PathChanged up (same pairing)  so both sides hold the pairing before it is closed
    A.Disconnect(B)                    then PathChanged NONE on A and on B (B hears the CLOSE)
    [cold: delete the NATs' UDP conntrack entries, so the next round starts unpunched]

Each Connect makes a fresh pairing through the rendezvous (new secret, new offer to both).
Reported per pair kind and path reached: n, p50, p99, min, max of the wall time from the call
to the path (ms), and the agent's own `connect_ms` (offer received -> first working path; the
rendezvous schedules the start of probing 100 ms after it sends the offers).

    bench_connect.py [--connects 50] [--pairs open:open,home:hard] [--jobs 3] [--out FILE]

Pair kinds run side by side (--jobs), each worker in a lab of its own (own internet bridge,
coturn and rendezvous): the relay kinds spend ~3 s per round waiting for the relay timer, so
they run next to the direct ones. Use --jobs 1 for strictly one thing at a time.

Needs root (network namespaces, nftables). Exits 1 if a round failed (no path, no CLOSE seen,
an agent or the rendezvous died); exits 2 when not root. See README.md for the lab."""

import argparse
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

import agentctl
import bench_conntrack
import grid
import netlab
import servers

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.normpath(os.path.join(HERE, "..", ".."))
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
DEFAULT_PAIRS = ("open:open,easy:home,home:home,home:cgnat,cgnat:cgnat,same-lan,"
                 "home:hard,hard:hard")


def default_binary(name, bazel_rel):
    """bin/NAME (what `make build` ships), else the bazel-bin one."""
    for p in (os.path.join(WORKSPACE, "bin", name),
              os.path.join(WORKSPACE, "bazel-bin", bazel_rel)):
        if os.access(p, os.X_OK):
            return p
    return os.path.join(WORKSPACE, "bin", name)


def percentile(sorted_values, q):
    """Nearest-rank percentile (q in 0..100) of an ascending list: with 50 samples p99 is the
    largest, p50 the 25th."""
    if not sorted_values:
        return None
    k = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


def summarize(values):
    v = sorted(values)
    if not v:
        return {"n": 0}
    return {"n": len(v), "p50": percentile(v, 50), "p99": percentile(v, 99), "min": v[0],
            "max": v[-1], "mean": round(sum(v) / len(v), 1)}


class RoundError(Exception):
    """A round that did not complete; the message goes into the results."""


class LabRun:
    """One lab (its own internet bridge, coturn and rendezvous) for one worker: pair kinds
    measured at the same time must not share a lab, since site namespaces are named after
    kind and side (home x hard and hard x hard both build `hard2`)."""

    def __init__(self, args, log_dir, pin_mac, registry, on_signal):
        # Lab() installs its own signal handlers, which would tear down only this lab: block
        # the signals while it is made, take the handlers back, and register this lab with
        # the caller's, before a pending signal can run.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            self.lab = netlab.Lab(log=netlab.log_stderr)
            self._lock = threading.Lock()
            self._closed = False
            registry.append(self)
            for sig in SIGNALS:
                signal.signal(sig, on_signal)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        # A Linux bridge takes the lowest MAC of its ports; when a site is added or removed
        # the internet's MAC may change under the sites already there, whose neighbour entry
        # for the rendezvous then goes stale and their traffic to it is lost for many
        # seconds. Pinning the address keeps every site's entry valid.
        netlab.run(["ip", "-n", self.lab.inet, "link", "set", "br0", "address", pin_mac])
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        servers.start_coturn(self.lab, log_dir=log_dir)
        self.rdv, self.fields, self.rdv_missing = servers.start_rendezvous(
            self.lab, args.rendezvous_bin, log_dir=log_dir)
        # What agentctl.Agent needs of a Lab. A signal tears the lab down from another thread
        # while its worker may be building or removing a site: Lab's lists must not change
        # under its teardown, so every use goes through this lock, and none after teardown.
        self.workdir, self.sockdir = self.lab.workdir, self.lab.sockdir

    def _use(self, fn, *args, **kw):
        with self._lock:
            if self._closed:
                raise RoundError("the lab was torn down (signal)")
            return fn(*args, **kw)

    def site(self, kind, side):
        return self._use(self.lab.site, kind, side)

    def spawn(self, *args, **kw):
        return self._use(self.lab.spawn, *args, **kw)

    def destroy_site(self, site):
        with self._lock:
            if not self._closed:
                self.lab.destroy_site(site)

    def teardown(self):
        with self._lock:
            self._closed = True
            self.lab.teardown()


class PairBench:
    """One pair kind: its sites, its two agents, its rounds."""

    def __init__(self, bench, a, b):
        self.bench, self.args, self.pb = bench, bench.args, bench.pb
        self.lr = None  # the LabRun, given by the worker that runs this pair
        self.a, self.b = a, b
        self.name = "same-lan" if a == "same-lan" else "%s x %s" % (a, b)
        self.expected = grid.expected(a, b)
        self.result = {"a": a, "b": b, "pair": self.name, "expected": self.expected,
                       "rounds": [], "notes": [], "ok": False}
        self.sites, self.agents, self.nats = [], [], []

    def log(self, msg):
        self.bench.log("%-14s %s" % (self.name, msg))

    def run(self, lr):
        self.lr = lr
        t0 = time.monotonic()
        try:
            self._setup()
            self._rounds()
        except Exception as e:  # report it with the pair, go on with the others
            self.result["notes"].append("driver error: %r" % e)
            self.log("driver error: %r" % e)
            traceback.print_exc()
        finally:
            self._teardown()
        self.result["seconds"] = round(time.monotonic() - t0, 1)
        self.result["summary"] = self._summary()
        rounds = self.result["rounds"]
        self.result["ok"] = (len(rounds) == self.args.connects
                             and all(r.get("ok") for r in rounds)
                             and not self.result.get("unclean_exit"))
        return self.result

    # ---- setup and teardown

    def _setup(self):
        lab = self.lr
        log_dir = os.path.join(self.bench.log_dir, self.name.replace(" x ", "-"))
        os.makedirs(log_dir, exist_ok=True)
        if self.a == "same-lan":
            self.sites.append(lab.site("same-lan", 1))
            hosts = self.sites[0].hosts
        else:
            self.sites.append(lab.site(self.a, 1))
            self.sites.append(lab.site(self.b, 2))
            hosts = [self.sites[0].hosts[0], self.sites[1].hosts[0]]
        self.nats = [ns for s in self.sites for ns in s.nats]
        kinds = (self.a, self.b)
        for ns, kind, side in ((hosts[0], kinds[0], "a"), (hosts[1], kinds[1], "b")):
            self.agents.append(agentctl.Agent(lab, ns, self.args.agent_bin,
                                              "%s-%s" % (kind, side), self.pb,
                                              self.bench.pb_grpc, log_dir))
        A, B = self.agents
        for ag in (A, B):
            if not ag.wait_registered(self.args.register_wait):
                raise RoundError("%s did not register within %.0fs" % (ag.name,
                                                                      self.args.register_wait))
        if not A.wait_peer(B.id, self.args.register_wait):
            raise RoundError("%s never saw %s join" % (A.name, B.name))
        # Connect should start with the server-reflexive candidate known, as in real use
        # where an agent has been up for a while.
        unmeasured = (self.pb.NAT_BEHAVIOR_UNSPECIFIED, self.pb.NAT_BEHAVIOR_UNKNOWN)
        for ag in (A, B):
            if "--stun" in ag.missing or ag.status().nat_behavior not in unmeasured:
                continue
            ag.events.wait_for(lambda e: e.WhichOneof("kind") == "nat"
                               and e.nat.behavior not in unmeasured, self.args.nat_wait)
        self.result["nat_behavior"] = {
            ag.name: self.pb.NatBehavior.Name(ag.status().nat_behavior) for ag in (A, B)}

    def _teardown(self):
        for ag in self.agents:
            rc = ag.stop()
            if rc != 0:
                self.result["notes"].append("%s exited with %s on SIGTERM" % (ag.name, rc))
                self.result["unclean_exit"] = True
        for s in self.sites:
            self.lr.destroy_site(s)

    # ---- rounds

    def _rounds(self):
        failures_in_a_row = 0
        for i in range(self.args.connects):
            r = {"i": i}
            try:
                self._round(r)
                r["ok"] = True
                failures_in_a_row = 0
            except RoundError as e:
                r["ok"] = False
                r["error"] = str(e)
                failures_in_a_row += 1
                self.log("round %d: %s" % (i, e))
            self.result["rounds"].append(r)
            if failures_in_a_row >= self.args.max_failures:
                self.result["notes"].append("stopped after %d failed rounds in a row"
                                            % failures_in_a_row)
                return
            if not self.lr.rdv.alive():
                raise RoundError("the rendezvous died (log: %s)" % self.lr.rdv.log_path)

    def _path_event(self, ag, pairing_id, kinds, since, deadline):
        return ag.events.wait_for(
            lambda e: e.HasField("path") and e.path.path.pairing_id == pairing_id
            and e.path.path.kind in kinds, deadline, since)

    def _round(self, r):
        import grpc
        pb, args = self.pb, self.args
        A, B = self.agents
        up = (pb.PATH_KIND_DIRECT, pb.PATH_KIND_RELAY)
        since_a, since_b = A.events.mark(), B.events.mark()
        t0_unix_ms = time.time() * 1000.0
        t0 = time.monotonic()
        try:
            resp = A.stub.Connect(pb.ConnectRequest(peer_id=B.id, wait=True,
                                                    timeout_ms=args.connect_timeout_ms),
                                  timeout=args.connect_timeout_ms / 1000.0 + 5)
        except grpc.RpcError as e:
            self._disconnect_quietly()
            raise RoundError("Connect: %s: %s" % (e.code().name, e.details()))
        wall_ms = (time.monotonic() - t0) * 1000.0
        p = resp.path
        pid = p.pairing_id
        r.update({"pairing_id": pid, "connect_wall_ms": round(wall_ms, 2),
                  "connect_path": grid.path_dict(pb, p), "agent_connect_ms": p.connect_ms})
        r["path"], r["ms"] = r["connect_path"]["kind"], r["connect_wall_ms"]
        if self.expected == "direct" and p.kind == pb.PATH_KIND_RELAY:
            # The path counted is the direct one: time to A's PathChanged to direct.
            ev = self._path_event(A, pid, (pb.PATH_KIND_DIRECT,), since_a, args.upgrade_wait)
            if ev:
                r["path"], r["ms"] = "direct", max(0.0, ev.unix_ms - t0_unix_ms)
                r["upgraded"] = True
            else:
                r["note"] = "relayed, no direct path within %.0fs" % args.upgrade_wait
        ev = self._path_event(B, pid, up, since_b, args.path_wait)
        if not ev:
            raise RoundError("%s reported no path for pairing %s within %.0fs"
                             % (B.name, pid, args.path_wait))
        r["b_path_ms"] = max(0.0, ev.unix_ms - t0_unix_ms)
        since_a, since_b = A.events.mark(), B.events.mark()
        try:
            A.stub.Disconnect(pb.DisconnectRequest(peer_id=B.id), timeout=5)
        except grpc.RpcError as e:
            raise RoundError("Disconnect: %s: %s" % (e.code().name, e.details()))
        none = (pb.PATH_KIND_NONE,)
        if not self._path_event(A, pid, none, since_a, args.close_wait):
            raise RoundError("%s published no PathChanged NONE after Disconnect" % A.name)
        if not self._path_event(B, pid, none, since_b, args.close_wait):
            raise RoundError("%s did not hear the CLOSE within %.0fs" % (B.name, args.close_wait))
        if args.cold:
            r["ct_deleted"] = sum(bench_conntrack.flush_udp(ns) for ns in self.nats)

    def _disconnect_quietly(self):
        """After a failed Connect: drop whatever pairing A has, so the next round is fresh."""
        import grpc
        A, B = self.agents
        try:
            A.stub.Disconnect(self.pb.DisconnectRequest(peer_id=B.id), timeout=5)
        except grpc.RpcError:
            pass

    # ---- results

    def _summary(self):
        by_path = {}
        for r in self.result["rounds"]:
            if r.get("ok"):
                by_path.setdefault(r["path"], []).append(r)
        out = {}
        for path, rs in sorted(by_path.items()):
            out[path] = {"wall_ms": summarize([x["ms"] for x in rs]),
                         "agent_connect_ms": summarize([x["agent_connect_ms"] for x in rs]),
                         "b_path_ms": summarize([x["b_path_ms"] for x in rs])}
        first = self.result["rounds"][0] if self.result["rounds"] else None
        ok_first = first is not None and first.get("ok")
        return {"paths": out, "failed": sum(1 for r in self.result["rounds"] if not r.get("ok")),
                "first_ms": first["ms"] if ok_first else None,
                "first_path": first["path"] if ok_first else None}


class Bench:
    def __init__(self, args):
        self.args = args
        self._log_lock = threading.Lock()
        self.log_dir = args.logs
        shutil.rmtree(self.log_dir, ignore_errors=True)
        os.makedirs(self.log_dir)
        self.labs = []
        for sig in SIGNALS:  # tears down every lab made so far
            signal.signal(sig, self._on_signal)
        n = max(1, min(args.jobs, len(args.pairs)))
        for i in range(n):  # in the main thread (signal handlers), before any other thread
            lr = LabRun(args, os.path.join(self.log_dir, "lab%d" % i),
                        "02:00:c6:12:%02x:01" % i, self.labs, self._on_signal)
            self.log("lab%d: %s, rendezvous %s" % (i, lr.lab.prefix, " ".join(
                "%s=%s" % kv for kv in lr.fields.items())))
        gen = tempfile.mkdtemp(prefix="stubs-", dir=self.labs[0].lab.workdir)
        self.pb, self.pb_grpc = agentctl.load_stubs(args.proto_dir, gen)

    def _on_signal(self, signum, frame):
        self.teardown()
        self.log("bench_connect: signal %d: namespaces and processes removed" % signum)
        os._exit(128 + signum)

    def teardown(self):
        """All labs at once: each stops its programs one after the other, with grace periods
        (agents and the rendezvous take up to 2 s on SIGTERM)."""
        threads = [threading.Thread(target=lr.teardown) for lr in self.labs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def log(self, msg):
        with self._log_lock:
            print(msg, file=sys.stderr, flush=True)

    def run(self):
        pairs = [PairBench(self, a, b) for a, b in self.args.pairs]
        # Longest first: relay rounds wait out the 3 s relay timer, direct ones take ~0.2 s.
        queue = sorted(pairs, key=lambda p: p.expected != "relay")
        qlock = threading.Lock()
        t0 = time.monotonic()

        def worker(lr):
            while True:
                with qlock:
                    if not queue:
                        return
                    pb = queue.pop(0)
                self.log("%-14s start (%d connects, %s)" % (pb.name, self.args.connects,
                                                            lr.lab.prefix))
                res = pb.run(lr)
                s = res["summary"]
                self.log("%-14s done in %.0f s: %s%s" % (
                    pb.name, res["seconds"],
                    ", ".join("%s n=%d p50=%.0f ms" % (k, v["wall_ms"]["n"], v["wall_ms"]["p50"])
                              for k, v in s["paths"].items()) or "no path",
                    ", %d failed" % s["failed"] if s["failed"] else ""))

        threads = [threading.Thread(target=worker, args=(lr,), daemon=True)
                   for lr in self.labs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = [p.result for p in pairs]
        meta = {
            "connects_per_pair": self.args.connects,
            "cold": self.args.cold,
            "jobs": self.args.jobs,
            "seconds": round(time.monotonic() - t0, 1),
            "cores": os.cpu_count(),
            "agent_binary": self.args.agent_bin,
            "rendezvous_binary": self.args.rendezvous_bin,
            "rendezvous_lacks_flags": self.labs[0].rdv_missing,
            "percentiles": "nearest rank",
            "ms": "wall time from the Connect call to the path (Connect's response; for a "
                  "direct pair relayed first, A's PathChanged to direct)",
        }
        dead = [lr.rdv.stop() for lr in self.labs if not lr.rdv.alive()]
        if dead:
            meta["rendezvous_exit"] = dead
        return meta, results


def table(meta, results):
    head = ("pair", "path", "n", "p50", "p99", "min", "max", "agent p50", "agent p99",
            "first", "fail")
    rows = []
    for res in results:
        paths = res["summary"]["paths"] or {"-": None}
        for path, s in paths.items():
            w = s["wall_ms"] if s else {"n": 0}
            ag = s["agent_connect_ms"] if s else {"n": 0}

            def f(x):
                return "%.0f" % x if x is not None else "-"
            rows.append((res["pair"], path + ("" if path in ("-", res["expected"])
                                              else " (expected %s)" % res["expected"]),
                         str(w["n"]), f(w.get("p50")), f(w.get("p99")), f(w.get("min")),
                         f(w.get("max")), f(ag.get("p50")), f(ag.get("p99")),
                         f(res["summary"]["first_ms"] if path == res["summary"]["first_path"]
                           else None), str(res["summary"]["failed"])))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["Time to connect, ms (wall: Connect call -> path; agent: its connect_ms; first: "
             "round 0), %d connects per pair, %s NATs, %d cores, %.0f s"
             % (meta["connects_per_pair"], "cold" if meta["cold"] else "warm", meta["cores"],
                meta["seconds"])]
    lines.append("  ".join(h.ljust(widths[i]) if i < 2 else h.rjust(widths[i])
                           for i, h in enumerate(head)))
    for r in rows:
        lines.append("  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                               for i, c in enumerate(r)))
    for res in results:
        for n in res["notes"]:
            lines.append("note: %s: %s" % (res["pair"], n))
        errors = [r["error"] for r in res["rounds"] if not r.get("ok")]
        if errors:
            lines.append("note: %s: %d failed rounds, first: %s" % (res["pair"], len(errors),
                                                                     errors[0]))
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--connects", type=int, default=50, help="connects per pair kind (50)")
    ap.add_argument("--pairs", type=grid.parse_pairs, default=grid.parse_pairs(DEFAULT_PAIRS),
                    help="comma-separated A:B pair kinds (default %s)" % DEFAULT_PAIRS)
    ap.add_argument("--jobs", type=int, default=3,
                    help="pair kinds measured at once (default 3: the two relay kinds, which "
                    "mostly wait for the relay timer, next to the direct ones; 1 for strictly "
                    "one at a time)")
    ap.add_argument("--warm", dest="cold", action="store_false",
                    help="keep the NATs' UDP state between rounds (default: delete it, so "
                    "every connect punches through unpunched NATs)")
    ap.add_argument("--out", default="bench-connect.json", help="JSON results file")
    ap.add_argument("--logs", help="agent and server logs (default: OUT without .json + -logs)")
    ap.add_argument("--agent-bin", default=default_binary("peerlink-agent",
                                                          "agent/peerlink-agent"))
    ap.add_argument("--rendezvous-bin", default=default_binary(
        "peerlink-rendezvous", "control/rendezvous/peerlink-rendezvous"))
    ap.add_argument("--proto-dir", default=agentctl.DEFAULT_PROTO_DIR)
    ap.add_argument("--connect-timeout-ms", type=int, default=15000)
    ap.add_argument("--register-wait", type=float, default=15.0)
    ap.add_argument("--nat-wait", type=float, default=5.0)
    ap.add_argument("--upgrade-wait", type=float, default=10.0,
                    help="seconds a direct pair that came up relayed gets to go direct")
    ap.add_argument("--path-wait", type=float, default=10.0,
                    help="seconds for B's path after A's Connect returned")
    ap.add_argument("--close-wait", type=float, default=10.0,
                    help="seconds for PathChanged NONE on both sides after Disconnect")
    ap.add_argument("--max-failures", type=int, default=3,
                    help="give up a pair kind after this many failed rounds in a row")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_connect: needs root (network namespaces, nftables)", file=sys.stderr)
        return 2
    for path in (args.agent_bin, args.rendezvous_bin):
        if not os.access(path, os.X_OK):
            ap.error("no executable %s (make build)" % path)
    args.agent_bin = os.path.abspath(args.agent_bin)
    args.rendezvous_bin = os.path.abspath(args.rendezvous_bin)
    args.out = os.path.abspath(args.out)
    args.logs = os.path.abspath(args.logs or os.path.splitext(args.out)[0] + "-logs")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    bench = Bench(args)
    try:
        meta, results = bench.run()
    finally:
        bench.teardown()
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "pairs": results}, f, indent=2)
    print(table(meta, results), flush=True)
    print("bench_connect: JSON in %s, logs in %s" % (args.out, args.logs), file=sys.stderr)
    ok = all(r["ok"] for r in results) and "rendezvous_exit" not in meta
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
