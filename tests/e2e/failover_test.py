"""--rendezvous A,B: several rendezvous instances (sharing one registry in production) and the
agent moving to the next one whenever its attempt fails or its stream ends. Real programs on
loopback; the second instance listens on 127.0.0.2 so that "the host we dialled" (the relay of
offers with an empty ip, the default STUN servers) visibly follows the instance in use."""

import os
import re
import signal
import socket
import subprocess
import time
import unittest

import grpc

import grpcio_test as g  # generates the stubs and provides EventWatcher
import harness

agent_pb2, agent_pb2_grpc = g.agent_pb2, g.agent_pb2_grpc
rendezvous_pb2, rendezvous_pb2_grpc = g.rendezvous_pb2, g.rendezvous_pb2_grpc
REGISTERED, DISCONNECTED = g.REGISTERED, g.DISCONNECTED
DIRECT = agent_pb2.PATH_KIND_DIRECT


def start_rendezvous(host, name):
    """A rendezvous on `host` with its STUN responders (and relay) there too."""
    return harness.Proc([harness.runfile("control/rendezvous/peerlink-rendezvous"),
                         "--listen", "%s:0" % host, "--udp", "%s:0" % host,
                         "--udp-alt", "%s:0" % host], name)


def wait_log(proc, pattern, deadline=20.0):
    """The first match of `pattern` in the program's log (its structured lines say what it
    did), waiting for it up to `deadline`."""
    end = time.monotonic() + deadline
    while True:
        with open(proc.log_path, "rb") as f:
            m = re.search(pattern.encode(), f.read())
        if m:
            return m
        if time.monotonic() >= end:
            raise TimeoutError("no log line /%s/ in %s within %.0fs"
                               % (pattern, proc.log_path, deadline))
        # The log is the event source here; a short poll interval, bounded by `end`.
        time.sleep(0.05)


def registered_ids(addr):
    with grpc.insecure_channel(addr) as ch:
        return [a.id for a in rendezvous_pb2_grpc.RendezvousStub(ch).ListAgents(
            rendezvous_pb2.ListAgentsRequest(), timeout=10).agents]


class Base(unittest.TestCase):
    def setUp(self):
        self.procs, self.watchers = [], []

    def tearDown(self):
        for w in self.watchers:
            w.close()
        for p in reversed(self.procs):
            if p.p.poll() is None:
                self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def proc(self, p):
        self.procs.append(p)
        return p

    def watch(self, proc):
        w = g.EventWatcher(proc.fields["control"])
        self.watchers.append(w)
        return w

    def stub(self, proc):
        ch = grpc.insecure_channel(proc.fields["control"])
        self.addCleanup(ch.close)
        return agent_pb2_grpc.AgentStub(ch)


class DeadFirst(Base):
    def test_dead_first_instance_is_skipped(self):
        # Bound but not listening: a connection to it is refused, and no one else takes it.
        dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(dead.close)
        dead.bind(("127.0.0.1", 0))
        dead_addr = "127.0.0.1:%d" % dead.getsockname()[1]
        live = self.proc(harness.start_rendezvous())
        live_addr = live.fields["grpc"]
        a = self.proc(harness.start_agent("solo", rendezvous="%s,%s" % (dead_addr, live_addr)))
        # The start line names the instance dialled first, then the others.
        self.assertEqual(a.fields["rendezvous"], dead_addr)
        self.assertEqual(a.fields["rendezvous_next"], live_addr)
        self.watch(a).wait_state(REGISTERED)
        self.assertIn(a.fields["id"], registered_ids(live_addr))
        st = self.stub(a).GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual(st.rendezvous_state, REGISTERED)
        self.assertEqual(st.rendezvous_address, live_addr)
        wait_log(a, r"event=rendezvous_lost rendezvous=%s .* next=%s"
                 % (re.escape(dead_addr), re.escape(live_addr)))
        wait_log(a, r"event=registered rendezvous=%s " % re.escape(live_addr))


class KilledInstance(Base):
    def test_agent_moves_to_the_next_instance_and_pairs_there(self):
        rdv_a = self.proc(start_rendezvous("127.0.0.1", "rendezvous-a"))
        rdv_b = self.proc(start_rendezvous("127.0.0.2", "rendezvous-b"))
        addr_a, addr_b = rdv_a.fields["grpc"], rdv_b.fields["grpc"]
        alpha = self.proc(harness.start_agent("alpha", rendezvous="%s,%s" % (addr_a, addr_b)))
        wa = self.watch(alpha)
        wa.wait_state(REGISTERED)
        self.assertIn(alpha.fields["id"], registered_ids(addr_a))
        sa = self.stub(alpha)
        self.assertEqual(sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
                         .rendezvous_address, addr_a)
        wait_log(alpha, r"event=stun_servers rendezvous=%s servers=%s,%s"
                 % tuple(map(re.escape, (addr_a, rdv_a.fields["udp"], rdv_a.fields["udp_alt"]))))

        beta = self.proc(harness.start_agent("beta", rendezvous=addr_b))
        wb = self.watch(beta)
        wb.wait_state(REGISTERED)

        rdv_a.p.send_signal(signal.SIGKILL)
        rdv_a.stop()
        wa.wait_state(DISCONNECTED)
        wa.wait_state(REGISTERED)
        self.assertIn(alpha.fields["id"], registered_ids(addr_b))
        st = sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual(st.rendezvous_state, REGISTERED)
        self.assertEqual(st.rendezvous_address, addr_b)
        wait_log(alpha, r"event=registered rendezvous=%s " % re.escape(addr_b))
        # B's STUN responders, on B's host: not A's ports with B's host, nor A's servers kept.
        wait_log(alpha, r"event=stun_servers rendezvous=%s servers=%s,%s"
                 % tuple(map(re.escape, (addr_b, rdv_b.fields["udp"], rdv_b.fields["udp_alt"]))))

        # An agent of B pairs with it through B.
        ida, idb = alpha.fields["id"], beta.fields["id"]
        wb.wait_peer(ida)
        r = self.stub(beta).Connect(agent_pb2.ConnectRequest(peer_id=ida, wait=True,
                                                             timeout_ms=10000), timeout=15)
        self.assertEqual(r.path.kind, DIRECT)
        self.assertEqual(r.path.peer_id, ida)
        wa.wait_for(lambda e: e.HasField("path") and e.path.path.kind == DIRECT
                    and e.path.path.peer_id == idb, "alpha's direct path to beta")
        # The offer named its relay by port only: alpha's relay is on B's host.
        wait_log(alpha, r"event=link pairing=\S+ peer=%s .* relay=%s\n"
                 % (idb, re.escape(rdv_b.fields["udp"])))


class BadList(unittest.TestCase):
    def run_agent(self, value, env_only=False):
        env = dict(os.environ)
        argv = [harness.runfile("agent/peerlink-agent"), "--control", "127.0.0.1:0",
                "--udp", "127.0.0.1:0", "--state-dir", os.path.join(harness.tmpdir(), "s")]
        if env_only:
            env["RENDEZVOUS_SERVICE_URL"] = value
        else:
            argv += ["--rendezvous", value]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=20)

    def test_bad_entries_are_refused_naming_them(self):
        for value, says in [
                ("127.0.0.1:7800,not an address", '--rendezvous: "not an address" is not HOST:PORT'),
                ("127.0.0.1:7800,127.0.0.1:70000", '"127.0.0.1:70000" is not HOST:PORT'),
                ("127.0.0.1:7800,,127.0.0.1:7801", "--rendezvous: empty address"),
                (",".join("127.0.0.1:%d" % (7800 + i) for i in range(9)),
                 "--rendezvous: at most 8 addresses")]:
            r = self.run_agent(value)
            self.assertEqual(r.returncode, 2, (value, r.stderr))
            self.assertIn(says, r.stderr)
            self.assertEqual(r.stdout, "", "no start line for a bad flag")
        r = self.run_agent("grpc://127.0.0.1:7800,grpc://bad", env_only=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('"bad" is not HOST:PORT (port 0-65535) (from $RENDEZVOUS_SERVICE_URL)',
                      r.stderr)


if __name__ == "__main__":
    unittest.main()
