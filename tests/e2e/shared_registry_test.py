"""Several rendezvous instances sharing one registry through a real redis-server (--redis):
agents on different instances find, pair with and are relayed to each other; an instance
killed mid-pairing (its agents move to another, pairings resume); Redis restarted (instances
go on alone meanwhile, report it in health, and rejoin); a peer on an instance that died is a
clear PairError once the instance's TTL passed. Every server is started here, on loopback."""

import os
import re
import select
import signal
import socket
import subprocess
import time
import unittest

import grpc

import grpcio_test as g
import harness
import rendezvous_test as rt
from grpcproto.health.v1 import health_pb2, health_pb2_grpc

agent_pb2, agent_pb2_grpc = g.agent_pb2, g.agent_pb2_grpc
rdv, rendezvous_pb2_grpc = rt.rdv, rt.rendezvous_pb2_grpc

DEADLINE = 20.0
TTL = "1s"
SHARED = "peerlink.cluster.v1.SharedRegistry"
SERVING = health_pb2.HealthCheckResponse.SERVING


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """redis-server on loopback with its own data directory; ready once it says so."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = harness.tmpdir()
        self.start()

    def start(self):
        self.p = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "yes"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        end, buf = time.monotonic() + DEADLINE, b""
        while b"Ready to accept connections" not in buf:
            left = end - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                raise RuntimeError("redis-server did not start: %s" % buf.decode()[-500:])
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                buf += os.read(self.p.stdout.fileno(), 4096)

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()
        self.p.stdout.close()

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args), check=True,
                              capture_output=True, text=True).stdout.strip()


def wait_health(target, want_serving, what):
    """Follows the shared registry's health over Health.Watch until it is what we expect."""
    ch = grpc.insecure_channel(target)
    try:
        watch = health_pb2_grpc.HealthStub(ch).Watch(
            health_pb2.HealthCheckRequest(service=SHARED), timeout=DEADLINE)
        for st in watch:
            if (st.status == SERVING) == want_serving:
                return
        raise AssertionError("health watch ended before %s" % what)
    except grpc.RpcError as e:
        raise AssertionError("%s: %s" % (what, e))
    finally:
        ch.close()


def instance_of(proc):
    with open(proc.log_path) as f:
        return re.search(r"event=cluster_start instance=([0-9a-f]{32})", f.read()).group(1)


def wait_log(proc, text, deadline=DEADLINE):
    """True once the process's log holds `text` (it writes each line as it happens)."""
    end = time.monotonic() + deadline
    with open(proc.log_path) as f:
        seen = ""
        while time.monotonic() < end:
            seen += f.read()
            if text in seen:
                return True
            select.select([], [], [], 0.05)  # the log has no event to wait on; re-read soon
    return False


def list_ids(target):
    ch = grpc.insecure_channel(target)
    try:
        r = rendezvous_pb2_grpc.RendezvousStub(ch).ListAgents(rdv.ListAgentsRequest(),
                                                               timeout=DEADLINE)
        return sorted(a.id for a in r.agents)
    finally:
        ch.close()


class SharedRegistry(unittest.TestCase):
    def setUp(self):
        self.redis = Redis()
        self.addCleanup(self.redis.kill)
        self.procs = []
        # A alone takes the lead; B, started once A serves, follows.
        self.a = self.rendezvous("a")
        wait_health(self.a.fields["grpc"], True, "instance a in the shared registry")
        self.b = self.rendezvous("b")
        wait_health(self.b.fields["grpc"], True, "instance b in the shared registry")
        self.agents = []

    def tearDown(self):
        for x in self.agents:
            x.close()
        for p in self.procs:
            if p.p.poll() is None:
                self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def rendezvous(self, name, extra=()):
        p = harness.Proc([harness.runfile("control/rendezvous/peerlink-rendezvous"),
                          "--listen", "127.0.0.1:0", "--udp", "127.0.0.1:0",
                          "--redis", self.redis.addr, "--redis-ttl", TTL] + list(extra),
                         "rendezvous-" + name)
        self.procs.append(p)
        return p

    def raw_agent(self, rdv_proc, name):
        x = rt.Agent(rdv_proc.fields["grpc"], name)
        self.agents.append(x)
        x.register()
        return x

    def real_agent(self, name, rendezvous):
        p = harness.start_agent(name, rendezvous=rendezvous)
        self.procs.append(p)
        return p

    def test_agents_on_two_instances_find_pair_and_relay(self):
        x, y = self.raw_agent(self.a, "x"), self.raw_agent(self.b, "y")
        # Found: each instance lists both; and y, registered later in the same network, was
        # announced to x.
        both = sorted([x.ident.id, y.ident.id])
        self.assertEqual(list_ids(self.a.fields["grpc"]), both)
        self.assertEqual(list_ids(self.b.fields["grpc"]), both)
        ch = x.wait("change")
        self.assertEqual((ch.kind, ch.agent.id), (rdv.RegistryChange.KIND_JOINED, y.ident.id))
        # Paired across instances: both get offers of one pairing, the relay is the leader's.
        y.send(pair=rdv.PairRequest(peer_id=x.ident.id))
        oy, ox = y.wait("offer"), x.wait("offer")
        self.assertEqual(ox.pairing_id, oy.pairing_id)
        self.assertEqual(ox.peer.id, y.ident.id)
        leader_udp = rt.hostport(self.a.fields["udp"])
        self.assertEqual(oy.relay.port, leader_udp[1])
        # Relayed: UDP at the leader's relay both ways, and y's frames over its Register
        # stream at b reach x's UDP binding.
        pid = bytes.fromhex(ox.pairing_id)
        fkey, rkey = rt.keys(ox.pairing_secret)
        sx, sy = rt.udp_socket(), rt.udp_socket()
        self.addCleanup(sx.close)
        self.addCleanup(sy.close)
        for sock, agent in ((sx, x), (sy, y)):
            sock.sendto(rt.relay_bind(rkey, pid, agent.ident.raw_id, 1, 7), leader_udp)
            rt.parse_bind_ack(rkey, sock.recvfrom(2048)[0])
        d = rt.relay_data(rkey, fkey, pid, x.ident.raw_id, 2, b"to y")
        sx.sendto(d, leader_udp)
        self.assertEqual(sy.recvfrom(2048)[0], d)
        back = rt.relay_data(rkey, fkey, pid, y.ident.raw_id, 2, b"to x, over y's stream")
        y.send(relay=rdv.RelayDatagram(pairing_id=oy.pairing_id, payload=back))
        self.assertEqual(sx.recvfrom(2048)[0], back)
        # Garbage on an instance's channel is refused and changes nothing.
        self.assertEqual(
            self.redis.cli("PUBLISH", "peerlink:to:" + instance_of(self.b), "not a message"), "1")
        self.assertTrue(wait_log(self.b, "event=cluster_message_refused"),
                        "b did not report the garbage it refused")
        self.assertEqual(list_ids(self.b.fields["grpc"]), both)

    def test_registered_names_the_front_instance_stun_ports(self):
        y = rt.Agent(self.b.fields["grpc"], "y")
        self.agents.append(y)
        reg = y.register()
        self.assertEqual(reg.udp_port, rt.hostport(self.b.fields["udp"])[1])

    def test_real_agents_connect_across_instances(self):
        p = self.real_agent("p", self.a.fields["grpc"])
        q = self.real_agent("q", self.b.fields["grpc"])
        wp = g.EventWatcher(p.fields["control"])
        self.addCleanup(wp.close)
        wp.wait_peer(q.fields["id"])
        ch = grpc.insecure_channel(p.fields["control"])
        self.addCleanup(ch.close)
        r = agent_pb2_grpc.AgentStub(ch).Connect(
            agent_pb2.ConnectRequest(peer_id=q.fields["id"], wait=True, timeout_ms=10000),
            timeout=15)
        self.assertEqual(r.path.kind, agent_pb2.PATH_KIND_DIRECT)

    def test_leader_killed_mid_pairing_agents_move_and_pair_again(self):
        both = "%s,%s" % (self.a.fields["grpc"], self.b.fields["grpc"])
        p = self.real_agent("p", both)  # on a, the leader
        q = self.real_agent("q", self.b.fields["grpc"])
        wq = g.EventWatcher(q.fields["control"])
        self.addCleanup(wq.close)
        wq.wait_peer(p.fields["id"])
        # Mid-pairing: q asks, and a dies before anything else happens.
        ch = grpc.insecure_channel(q.fields["control"])
        self.addCleanup(ch.close)
        sq = agent_pb2_grpc.AgentStub(ch)
        sq.Connect(agent_pb2.ConnectRequest(peer_id=p.fields["id"]), timeout=10)
        self.a.p.send_signal(signal.SIGKILL)
        self.a.p.wait()
        # b takes the lead; p moves to b; q registers again at b and sees p there. While the
        # lead moves, ListAgents may answer UNAVAILABLE: that is the answer to retry on.
        want = sorted([p.fields["id"], q.fields["id"]])
        end = time.monotonic() + DEADLINE
        while True:
            self.assertLess(time.monotonic(), end, "p and q never both registered at b")
            try:
                if list_ids(self.b.fields["grpc"]) == want:
                    break
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
            try:
                wq.wait_for(lambda e: e.HasField("peer_list") or e.HasField("rendezvous"),
                            "a registration change at q", deadline=1.0)
            except (TimeoutError, AssertionError):
                pass  # p's move is not q's event: look again
        r = sq.Connect(agent_pb2.ConnectRequest(peer_id=p.fields["id"], wait=True,
                                                timeout_ms=10000), timeout=15)
        self.assertEqual(r.path.kind, agent_pb2.PATH_KIND_DIRECT)

    def test_redis_restart_islands_then_rejoin(self):
        self.redis.kill()
        wait_health(self.a.fields["grpc"], False, "a reporting the registry degraded")
        wait_health(self.b.fields["grpc"], False, "b reporting the registry degraded")
        # Meanwhile local registration and pairing work on each instance.
        x, y = self.raw_agent(self.b, "x"), self.raw_agent(self.b, "y")
        x.send(pair=rdv.PairRequest(peer_id=y.ident.id))
        self.assertEqual(x.wait("offer").pairing_id, y.wait("offer").pairing_id)
        self.assertEqual(list_ids(self.a.fields["grpc"]), [])
        # Redis back: both rejoin; the island's agents are told to register again.
        self.redis.start()
        wait_health(self.a.fields["grpc"], True, "a back in the shared registry")
        wait_health(self.b.fields["grpc"], True, "b back in the shared registry")
        code, _ = x.wait_end()
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)
        u, v = self.raw_agent(self.a, "u"), self.raw_agent(self.b, "v")
        v.send(pair=rdv.PairRequest(peer_id=u.ident.id))
        self.assertEqual(v.wait("offer").pairing_id, u.wait("offer").pairing_id)

    def test_peer_on_a_dead_instance_is_a_pair_error(self):
        # b follows; an agent on b, the instance that dies, and one on a that asks for it.
        gone, asker = self.raw_agent(self.b, "gone"), self.raw_agent(self.a, "asker")
        # asker registered second: its view starts with gone, which the leader vouches for.
        ch = asker.wait("change")
        self.assertEqual((ch.kind, ch.agent.id), (rdv.RegistryChange.KIND_JOINED, gone.ident.id))
        self.b.p.send_signal(signal.SIGKILL)
        self.b.p.wait()
        # The leader takes b's agents out once b's key expired: asker hears LEFT.
        end = time.monotonic() + DEADLINE
        while True:
            c = asker.wait("change", max(0.1, end - time.monotonic()))
            if c.kind == rdv.RegistryChange.KIND_LEFT and c.agent.id == gone.ident.id:
                break
        asker.send(pair=rdv.PairRequest(peer_id=gone.ident.id))
        pe = asker.wait("pair_error")
        self.assertEqual(pe.reason, rdv.PairError.REASON_UNKNOWN_PEER)
        self.assertIn("not registered", pe.message)


if __name__ == "__main__":
    unittest.main()
