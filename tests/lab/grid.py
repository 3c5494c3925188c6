"""The NAT grid: for every pair of NAT kinds, two real peerlink agents behind real NATs connect
through a real rendezvous, send a datagram each way, and the outcome (direct / relay / failed,
time to connect, selected path) is checked against what the network allows.

    grid.py [--losses 0,10] [--pairs open:easy,same-lan] [--out DIR]
    grid.py --cleanup-stale [PREFIX]

Writes grid-lossN.md and grid-lossN.json per loss value into --out (default
$TEST_UNDECLARED_OUTPUTS_DIR, else ./lab-out), agent logs under logs/, and exits 1 if any
cell differs from its expectation. Needs root; see README.md."""

import argparse
import ipaddress
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

import agentctl
import netlab
import report
import servers

PAIRS = [(a, b) for i, a in enumerate(netlab.KINDS) for b in netlab.KINDS[i:]]
PAIRS.append(("same-lan", "same-lan"))

NAT_BEHAVIOR = {  # what each kind's agent should measure (reported, not part of pass/fail)
    "open": "NAT_BEHAVIOR_OPEN",
    "easy": "NAT_BEHAVIOR_ENDPOINT_INDEPENDENT",
    "home": "NAT_BEHAVIOR_ENDPOINT_INDEPENDENT",
    "cgnat": "NAT_BEHAVIOR_ENDPOINT_INDEPENDENT",
    "same-lan": "NAT_BEHAVIOR_ENDPOINT_INDEPENDENT",
    "hard": "NAT_BEHAVIOR_ENDPOINT_DEPENDENT",
    "udp-blocked": "NAT_BEHAVIOR_UDP_BLOCKED",
}


def expected(a, b):
    """Issue 3's expectation for a pair: a relay only where UDP is blocked or where a direct
    path needs port prediction (hard facing hard, home or cgnat)."""
    kinds = {a, b}
    if "udp-blocked" in kinds:
        return "relay"
    if kinds & {"open", "easy", "same-lan"}:
        return "direct"
    if "hard" in kinds:
        return "relay"
    return "direct"


def acceptable(a, b):
    """Outcomes that pass. Where relay is expected only for lack of port prediction, direct
    passes too (the stretch goal: birthday-paradox probing)."""
    exp = expected(a, b)
    if exp == "relay" and "udp-blocked" not in {a, b}:
        return {"relay", "direct"}
    return {exp}


class CellError(Exception):
    """Ends a cell as failed with a message for the table."""


def endpoint(ep):
    return "%s:%d" % (ep.ip, ep.port) if ep.ip else ""


def path_dict(pb, p):
    return {
        "kind": pb.PathKind.Name(p.kind).replace("PATH_KIND_", "").lower(),
        "local": endpoint(p.local),
        "remote": endpoint(p.remote),
        "rtt_us": p.rtt_us,
        "connect_ms": p.connect_ms,
        "probes_sent": getattr(p, "probes_sent", 0),
        "frames_received": getattr(p, "frames_received", 0),
        "via": via(p.remote.ip),
    }


def via(ip):
    """What kind of address a selected remote is, as seen in the lab's address plan."""
    if not ip:
        return ""
    if ip == netlab.RDV_IP:
        return "rendezvous relay"
    addr = ipaddress.ip_address(ip)
    if addr in ipaddress.ip_network("10.77.0.0/16"):
        return "host (private)"
    if addr in netlab.PUBLIC_NET:
        return "public"
    return "other"


class Grid:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        os.makedirs(self.out, exist_ok=True)
        # Logs are appended to (a restarted rendezvous keeps its history): start clean.
        shutil.rmtree(os.path.join(self.out, "logs"), ignore_errors=True)
        for name in os.listdir(self.out):
            if name in ("rendezvous.log", "coturn.log") or name.startswith("grid-loss"):
                os.unlink(os.path.join(self.out, name))
        self.lab = netlab.Lab(log=netlab.log_stderr)
        gen = tempfile.mkdtemp(prefix="stubs-", dir=self.lab.workdir)
        self.pb, self.pb_grpc = agentctl.load_stubs(args.proto_dir, gen)
        self.coturn = servers.start_coturn(self.lab, log_dir=self.out)
        self.rdv = None
        self.rdv_missing = []
        self.agent_missing = []
        self.rdv_restarts = 0
        self._start_rendezvous()

    def _start_rendezvous(self):
        self.rdv, fields, self.rdv_missing = servers.start_rendezvous(
            self.lab, self.args.rendezvous_bin, log_dir=self.out)
        self.log("rendezvous: %s%s" % (" ".join("%s=%s" % kv for kv in fields.items()),
                                       "  (lacks %s)" % " ".join(self.rdv_missing)
                                       if self.rdv_missing else ""))

    def log(self, msg):
        print(msg, file=sys.stderr, flush=True)

    # ---- one cell

    def cell(self, a, b, loss):
        r = {"a": a, "b": b, "loss": loss, "expected": expected(a, b),
             "acceptable": sorted(acceptable(a, b)), "outcome": "failed", "notes": []}
        log_dir = os.path.join(self.out, "logs", "loss%d" % loss, "%s-%s" % (a, b))
        os.makedirs(log_dir, exist_ok=True)
        sites, agents = [], []
        t_cell = time.monotonic()
        try:
            if a == "same-lan":
                s = self.lab.site("same-lan", 1, loss=loss)
                sites.append(s)
                hosts = s.hosts
            else:
                sites.append(self.lab.site(a, 1, loss=loss))
                sites.append(self.lab.site(b, 2, loss=loss))
                hosts = [sites[0].hosts[0], sites[1].hosts[0]]
            for ns, kind, side in ((hosts[0], a, "a"), (hosts[1], b, "b")):
                agents.append(agentctl.Agent(self.lab, ns, self.args.agent_bin,
                                             "%s-%s" % (kind, side), self.pb, self.pb_grpc,
                                             log_dir))
            self.agent_missing = agents[0].missing
            self._run(r, agents[0], agents[1], a, b)
        except CellError as e:
            r["notes"].append(str(e))
        except Exception as e:  # the driver's own trouble: report it in the cell, go on
            r["notes"].append("driver error: %r" % e)
            with open(os.path.join(log_dir, "driver-error.txt"), "w") as f:
                traceback.print_exc(file=f)
        finally:
            for ag in agents:
                rc = ag.stop()
                if rc != 0:
                    r["notes"].append("%s exited with %s on SIGTERM (log: %s)"
                                      % (ag.name, rc, os.path.relpath(ag.proc.log_path,
                                                                       self.out)))
                    r["unclean_exit"] = True
            for s in sites:
                self.lab.destroy_site(s)
            if not self.rdv.alive():
                r["notes"].append("the rendezvous exited with %s during this cell (log: "
                                  "rendezvous.log); restarted" % self.rdv.stop())
                r["rendezvous_died"] = True
                self.rdv_restarts += 1
                self._start_rendezvous()
        r["cell_ms"] = int((time.monotonic() - t_cell) * 1000)
        r["ok"] = (r["outcome"] in acceptable(a, b) and not r.get("unclean_exit")
                   and not r.get("rendezvous_died"))
        if r["ok"] and r["outcome"] != r["expected"]:
            r["notes"].append("better than expected")
        return r

    def _run(self, r, A, B, ka, kb):
        import grpc
        pb = self.pb
        for ag in (A, B):
            if not ag.wait_registered(self.args.register_wait):
                raise CellError("%s did not register within %.0fs" % (ag.name,
                                                                     self.args.register_wait))
        if not A.wait_peer(B.id, self.args.register_wait):
            raise CellError("%s never saw %s join" % (A.name, B.name))
        for ag, kind in ((A, ka), (B, kb)):
            self._wait_nat_behavior(ag, kind)
        t0 = time.monotonic()
        t0_unix_ms = int(time.time() * 1000)
        try:
            resp = A.stub.Connect(pb.ConnectRequest(peer_id=B.id, wait=True,
                                                    timeout_ms=self.args.connect_timeout_ms),
                                  timeout=self.args.connect_timeout_ms / 1000.0 + 5)
        except grpc.RpcError as e:
            r["connect_error"] = "%s: %s" % (e.code().name, e.details())
            raise CellError("Connect: " + r["connect_error"])
        r["connect_wall_ms"] = int((time.monotonic() - t0) * 1000)
        r["connect_path"] = path_dict(pb, resp.path)
        if r["expected"] == "direct" and resp.path.kind != pb.PATH_KIND_DIRECT:
            since = 0  # a PathChanged may have come before Connect returned
            ev = A.events.wait_for(
                lambda e: e.HasField("path") and e.path.path.peer_id == B.id
                and e.path.path.kind == pb.PATH_KIND_DIRECT, self.args.upgrade_wait, since)
            if ev:
                r["upgraded_ms"] = int((time.monotonic() - t0) * 1000)
                r["notes"].append("went direct %d ms after Connect was called"
                                  % r["upgraded_ms"])
        r["a_to_b"] = self._deliver(A, B)
        # Connect returned when A's path was up; B's comes up when it sees A's probes or
        # acks, possibly later (under loss, noticeably): wait for it before B sends.
        up = (pb.PATH_KIND_DIRECT, pb.PATH_KIND_RELAY)
        ev = B.events.wait_for(lambda e: e.HasField("path") and e.path.path.peer_id == A.id
                               and e.path.path.kind in up, self.args.data_wait)
        if not ev:
            raise CellError("%s reported no path to %s within %.0fs of A's Connect returning"
                            % (B.name, A.name, self.args.data_wait))
        r["b_path_ms"] = max(0, ev.unix_ms - t0_unix_ms)
        r["b_to_a"] = self._deliver(B, A)
        paths = []
        r["nat_behavior"] = {}
        for me, other, kind in ((A, B, ka), (B, A, kb)):
            st = me.status()
            got = pb.NatBehavior.Name(st.nat_behavior)
            r["nat_behavior"][me.name] = got
            if "--stun" not in me.missing and got != NAT_BEHAVIOR[kind]:
                r["notes"].append("%s measured %s, expected %s"
                                  % (me.name, got.replace("NAT_BEHAVIOR_", ""),
                                     NAT_BEHAVIOR[kind].replace("NAT_BEHAVIOR_", "")))
            peer = [p for p in st.peers if p.peer_id == other.id]
            if not peer:
                raise CellError("%s's GetStatus lists no path to %s" % (me.name, other.name))
            paths.append(path_dict(pb, peer[0]))
        r["path_a"], r["path_b"] = paths
        kinds = {p["kind"] for p in paths}
        if kinds == {"direct"}:
            r["outcome"] = "direct"
        elif kinds <= {"direct", "relay"}:
            r["outcome"] = "relay"
            if len(kinds) == 2:
                r["notes"].append("sides disagree: %s says %s, %s says %s"
                                  % (A.name, paths[0]["kind"], B.name, paths[1]["kind"]))
        else:
            raise CellError("data went through but path kinds are %s" % sorted(kinds))

    def _wait_nat_behavior(self, ag, kind):
        """Waits (bounded) until the agent has measured its NAT, so Connect starts with its
        server-reflexive candidate known; skipped for binaries without --stun and for
        UDP-blocked agents, whose verdict takes STUN's full timeout. The measurement is judged
        from the GetStatus at the end of the cell."""
        pb = self.pb
        unmeasured = (pb.NAT_BEHAVIOR_UNSPECIFIED, pb.NAT_BEHAVIOR_UNKNOWN)
        if "--stun" in ag.missing or kind == "udp-blocked":
            return
        if ag.status().nat_behavior not in unmeasured:
            return
        ag.events.wait_for(lambda e: e.WhichOneof("kind") == "nat"
                           and e.nat.behavior not in unmeasured, self.args.nat_wait)

    def _deliver(self, src, dst):
        """Sends datagrams src→dst until dst reports one on WatchEvents; datagrams are not
        retransmitted, so under loss another is sent every resend interval."""
        import grpc
        pb = self.pb
        base = ("peerlink-lab %s->%s %s #" % (src.name, dst.name, os.urandom(4).hex())).encode()
        since = dst.events.mark()
        t0 = time.monotonic()
        end = t0 + self.args.data_wait
        attempts = 0
        while True:
            attempts += 1
            try:
                src.stub.Send(pb.SendRequest(peer_id=dst.id, delivery=pb.DELIVERY_DATAGRAM,
                                             data=base + str(attempts).encode()), timeout=5)
            except grpc.RpcError as e:
                raise CellError("Send %s→%s: %s: %s" % (src.name, dst.name, e.code().name,
                                                        e.details()))
            wait = max(0.0, min(self.args.resend, end - time.monotonic()))
            ev = dst.events.wait_for(
                lambda e: e.HasField("message") and e.message.data.startswith(base), wait, since)
            if ev:
                if ev.message.peer_id != src.id:
                    raise CellError("%s got the datagram attributed to %s, not %s"
                                    % (dst.name, ev.message.peer_id, src.id))
                return {"attempts": attempts, "ms": int((time.monotonic() - t0) * 1000)}
            if time.monotonic() >= end:
                raise CellError("no datagram %s→%s arrived within %.0fs (%d sent)"
                                % (src.name, dst.name, self.args.data_wait, attempts))

    # ---- the grid

    def run(self):
        all_ok = True
        start = time.monotonic()
        for loss in self.args.losses:
            t0 = time.monotonic()
            cells = []
            for a, b in self.args.pairs:
                if self.args.budget and time.monotonic() - start > self.args.budget:
                    # Report every cell before a test runner's timeout kills the run.
                    r = {"a": a, "b": b, "loss": loss, "expected": expected(a, b),
                         "acceptable": sorted(acceptable(a, b)), "outcome": "failed",
                         "ok": False, "notes": ["not run: the run's %.0f s budget is spent"
                                                % self.args.budget]}
                else:
                    r = self.cell(a, b, loss)
                cells.append(r)
                self.log("loss %d%% %-24s %-7s expected %-6s %s%s" % (
                    loss, "%s x %s" % (a, b), r["outcome"], r["expected"],
                    "ok" if r["ok"] else "MISMATCH",
                    ("  " + "; ".join(r["notes"])) if r["notes"] else ""))
                self.write(loss, cells, time.monotonic() - t0)  # partial results survive a kill
            md = self.write(loss, cells, time.monotonic() - t0)
            print(md, flush=True)
            all_ok = all_ok and all(c["ok"] for c in cells)
        return 0 if all_ok else 1

    def write(self, loss, cells, seconds):
        meta = {
            "loss_percent": loss,
            "seconds": round(seconds, 1),
            "prefix": self.lab.prefix,
            "agent_binary": self.args.agent_bin,
            "rendezvous_binary": self.args.rendezvous_bin,
            "agent_lacks_flags": self.agent_missing,
            "rendezvous_lacks_flags": self.rdv_missing,
            "rendezvous_restarts": self.rdv_restarts,
            "connect_timeout_ms": self.args.connect_timeout_ms,
        }
        base = os.path.join(self.out, "grid-loss%d" % loss)
        with open(base + ".json", "w") as f:
            json.dump({"meta": meta, "cells": cells}, f, indent=2)
        md = report.markdown(meta, cells, netlab.KINDS)
        with open(base + ".md", "w") as f:
            f.write(md)
        return md


def parse_pairs(text):
    if not text:
        return PAIRS
    pairs = []
    for item in text.split(","):
        a, _, b = item.partition(":")
        b = b or a
        if a == "same-lan" or b == "same-lan":
            if (a, b) != ("same-lan", "same-lan"):
                raise argparse.ArgumentTypeError("same-lan pairs only with itself")
        elif a not in netlab.KINDS or b not in netlab.KINDS:
            raise argparse.ArgumentTypeError("unknown kind in %r (kinds: %s)"
                                             % (item, ", ".join(netlab.ALL_KINDS)))
        pairs.append((a, b))
    return pairs


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--losses", default="0",
                    type=lambda s: [int(x) for x in s.split(",")],
                    help="comma-separated UDP loss percentages, one grid each (default 0)")
    ap.add_argument("--loss", type=int, help="same as --losses N")
    ap.add_argument("--pairs", type=parse_pairs, default=PAIRS,
                    help="comma-separated A:B pairs (default: every pair once, and same-lan)")
    ap.add_argument("--out", default=os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", "lab-out"))
    ap.add_argument("--agent-bin", default=agentctl.DEFAULT_AGENT)
    ap.add_argument("--rendezvous-bin", default=agentctl.DEFAULT_RENDEZVOUS)
    ap.add_argument("--proto-dir", default=agentctl.DEFAULT_PROTO_DIR)
    ap.add_argument("--connect-timeout-ms", type=int, default=15000)
    ap.add_argument("--register-wait", type=float, default=15.0,
                    help="seconds for both agents to register and see each other")
    ap.add_argument("--nat-wait", type=float, default=5.0,
                    help="seconds to wait for an agent's NAT measurement before Connect")
    ap.add_argument("--upgrade-wait", type=float, default=10.0,
                    help="seconds a relayed pair that should go direct is given to do so")
    ap.add_argument("--data-wait", type=float, default=10.0,
                    help="seconds for a datagram to arrive (resent every --resend seconds)")
    ap.add_argument("--resend", type=float, default=0.5)
    ap.add_argument("--budget", type=float, default=0,
                    help="seconds for the whole run; cells after it are reported as not run "
                    "(default 0: no limit)")
    ap.add_argument("--cleanup-stale", nargs="?", const="", metavar="PREFIX",
                    help="only remove what dead lab runs left behind (or run PREFIX's)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("SKIPPED: the NAT lab needs root (network namespaces, nftables); running as "
              "uid %d" % os.geteuid())
        return 0
    if args.cleanup_stale is not None:
        return netlab.main(["--cleanup-stale", args.cleanup_stale] if args.cleanup_stale
                           else ["--cleanup-stale"])
    if args.loss is not None:
        args.losses = [args.loss]
    for path in (args.agent_bin, args.rendezvous_bin):
        if not os.access(path, os.X_OK):
            ap.error("no executable %s (bazel build //agent:peerlink-agent "
                     "//control/rendezvous:peerlink-rendezvous)" % path)
    args.out = os.path.abspath(args.out)
    args.agent_bin = os.path.abspath(args.agent_bin)
    args.rendezvous_bin = os.path.abspath(args.rendezvous_bin)
    grid = Grid(args)
    try:
        return grid.run()
    finally:
        grid.lab.teardown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
