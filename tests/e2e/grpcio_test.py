"""A second, independent client: Python grpcio (Debian's python3-grpcio) with stubs made by
Debian's protoc and grpc_python_plugin at test time."""

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import unittest

import grpc

import harness

GEN = harness.tmpdir()
# grpc's own .proto files would generate a Python package named `grpc`, shadowing grpcio; copy
# them under another root first (proto package names do not depend on file paths).
SRC = harness.tmpdir()
for rel in ("health/v1/health.proto", "reflection/v1/reflection.proto",
            "reflection/v1alpha/reflection.proto"):
    os.makedirs(os.path.dirname(os.path.join(SRC, "grpcproto", rel)), exist_ok=True)
    shutil.copy(os.path.join("/usr/share/grpc-proto/grpc", rel), os.path.join(SRC, "grpcproto", rel))
subprocess.run(
    ["protoc", "-I", os.path.dirname(harness.runfile("proto/peerlink/v1/agent.proto")) + "/../..",
     "-I", SRC, "--python_out", GEN, "--grpc_python_out", GEN,
     "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
     "peerlink/v1/common.proto", "peerlink/v1/agent.proto", "peerlink/v1/rendezvous.proto",
     "grpcproto/health/v1/health.proto", "grpcproto/reflection/v1/reflection.proto",
     "grpcproto/reflection/v1alpha/reflection.proto"], check=True)
sys.path.insert(0, GEN)

from google.protobuf import descriptor_pb2, descriptor_pool  # noqa: E402
from peerlink.v1 import agent_pb2, agent_pb2_grpc, rendezvous_pb2, rendezvous_pb2_grpc  # noqa: E402
from grpcproto.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpcproto.reflection.v1 import reflection_pb2 as refl_v1, reflection_pb2_grpc as refl_v1_grpc  # noqa: E402
from grpcproto.reflection.v1alpha import reflection_pb2 as refl_a, reflection_pb2_grpc as refl_a_grpc  # noqa: E402

REGISTERED = agent_pb2.RENDEZVOUS_STATE_REGISTERED
DISCONNECTED = agent_pb2.RENDEZVOUS_STATE_DISCONNECTED


class EventWatcher:
    """Reads an agent's WatchEvents stream on a thread so the test can wait for one event."""

    def __init__(self, addr):
        self.channel = grpc.insecure_channel(addr)
        self.stream = agent_pb2_grpc.AgentStub(self.channel).WatchEvents(
            agent_pb2.WatchEventsRequest(include_current=True))
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        try:
            for resp in self.stream:
                self.q.put(resp.event)
        except grpc.RpcError:
            pass

    def wait_for(self, pred, what, deadline=20.0):
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no event %s within %.0fs" % (what, deadline))
            try:
                ev = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if pred(ev):
                return ev

    def wait_state(self, state):
        return self.wait_for(lambda e: e.HasField("rendezvous") and e.rendezvous.state == state,
                             agent_pb2.RendezvousState.Name(state))

    def wait_peer(self, peer_id, joined=True):
        return self.wait_for(lambda e: e.HasField("peer_list") and e.peer_list.joined == joined
                             and e.peer_list.peer.id == peer_id,
                             "peer %s %s" % (peer_id, "joined" if joined else "left"))

    def close(self):
        self.stream.cancel()
        self.channel.close()


class TwoAgents(unittest.TestCase):
    def setUp(self):
        self.rdv = harness.start_rendezvous()
        self.rdv_addr = self.rdv.fields["grpc"]
        self.a = harness.start_agent("alpha", rendezvous=self.rdv_addr)
        self.b_state = os.path.join(harness.tmpdir(), "beta")
        self.b = harness.start_agent("beta", rendezvous=self.rdv_addr, state_dir=self.b_state)
        self.wa = EventWatcher(self.a.fields["control"])
        self.wb = EventWatcher(self.b.fields["control"])
        self.wa.wait_state(REGISTERED)
        self.wb.wait_state(REGISTERED)

    def tearDown(self):
        self.wa.close()
        self.wb.close()
        for p in (self.a, self.b, self.rdv):
            self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def stub(self, proc):
        ch = grpc.insecure_channel(proc.fields["control"])
        self.addCleanup(ch.close)
        return agent_pb2_grpc.AgentStub(ch)

    def peer_ids(self, proc):
        return sorted(p.id for p in self.stub(proc).ListPeers(agent_pb2.ListPeersRequest(),
                                                              timeout=10).peers)

    def test_agents_see_each_other(self):
        ida, idb = self.a.fields["id"], self.b.fields["id"]
        self.wa.wait_peer(idb)
        self.wb.wait_peer(ida)
        self.assertEqual(self.peer_ids(self.a), [idb])
        self.assertEqual(self.peer_ids(self.b), [ida])
        peer = self.stub(self.a).ListPeers(agent_pb2.ListPeersRequest(), timeout=10).peers[0]
        self.assertEqual(peer.name, "beta")
        self.assertRegex(peer.cert_fingerprint, r"^[0-9a-f]{64}$")
        self.assertTrue(peer.observed_address.startswith("127.0.0.1:"))
        self.assertGreater(peer.registered_unix_ms, 0)
        # The rendezvous's own view.
        with grpc.insecure_channel(self.rdv_addr) as ch:
            agents = rendezvous_pb2_grpc.RendezvousStub(ch).ListAgents(
                rendezvous_pb2.ListAgentsRequest(), timeout=10).agents
        self.assertEqual(sorted(x.id for x in agents), sorted([ida, idb]))

    def test_agent_leaving_is_reported(self):
        idb = self.b.fields["id"]
        self.wa.wait_peer(idb)
        self.wb.close()
        self.assertEqual(self.b.stop(), 0)
        self.wa.wait_peer(idb, joined=False)
        self.assertEqual(self.peer_ids(self.a), [])
        self.b = harness.start_agent("beta", rendezvous=self.rdv_addr, state_dir=self.b_state)
        self.wb = EventWatcher(self.b.fields["control"])
        self.assertEqual(self.b.fields["id"], idb)  # same state dir → same identity
        self.wa.wait_peer(idb)

    def test_rendezvous_restart_agents_reregister(self):
        ida, idb = self.a.fields["id"], self.b.fields["id"]
        self.wa.wait_peer(idb)
        port = int(self.rdv_addr.rsplit(":", 1)[1])
        self.rdv.kill()
        self.wa.wait_state(DISCONNECTED)
        self.wb.wait_state(DISCONNECTED)
        self.assertEqual(self.peer_ids(self.a), [])
        self.rdv = harness.start_rendezvous(port=port)
        self.wa.wait_state(REGISTERED)
        self.wb.wait_state(REGISTERED)
        self.wa.wait_peer(idb)
        self.wb.wait_peer(ida)
        st = self.stub(self.a).GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual(st.rendezvous_state, REGISTERED)


class OneAgent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = harness.start_agent("solo")
        cls.addr = cls.agent.fields["control"]
        cls.ch = grpc.insecure_channel(cls.addr)

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        assert cls.agent.stop() == 0

    def raw(self, path, payload):
        fn = self.ch.unary_unary(path, request_serializer=None, response_deserializer=None)
        return fn(payload, timeout=10)

    def test_describe_through_reflection_v1_and_v1alpha(self):
        for mod, grpc_mod in ((refl_v1, refl_v1_grpc), (refl_a, refl_a_grpc)):
            stub = grpc_mod.ServerReflectionStub(self.ch)
            req = mod.ServerReflectionRequest(file_containing_symbol="peerlink.v1.Agent")
            resp = next(iter(stub.ServerReflectionInfo(iter([req]), timeout=10)))
            pool = descriptor_pool.DescriptorPool()
            files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                     for b in resp.file_descriptor_response.file_descriptor_proto]
            added = set()
            while len(added) < len(files):  # dependencies first, as grpcurl does
                for f in files:
                    if f.name not in added and all(d in added for d in f.dependency):
                        pool.Add(f)
                        added.add(f.name)
            svc = pool.FindServiceByName("peerlink.v1.Agent")
            self.assertEqual(svc.methods_by_name["GetStatus"].output_type.full_name,
                             "peerlink.v1.GetStatusResponse")
            self.assertIn("peerlink/v1/common.proto", added)
            bad = next(iter(stub.ServerReflectionInfo(iter([mod.ServerReflectionRequest(
                file_containing_symbol="no.such.Symbol")]), timeout=10)))
            self.assertEqual(bad.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0])

    def test_health(self):
        stub = health_pb2_grpc.HealthStub(self.ch)
        self.assertEqual(stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status,
                         health_pb2.HealthCheckResponse.SERVING)
        watch = stub.Watch(health_pb2.HealthCheckRequest(service="peerlink.v1.Agent"), timeout=10)
        self.assertEqual(next(watch).status, health_pb2.HealthCheckResponse.SERVING)
        watch.cancel()

    def test_unknown_method_and_garbage(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.raw("/peerlink.v1.Agent/Nope", b"")
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        with self.assertRaises(grpc.RpcError) as e:
            self.raw("/peerlink.v1.Agent/GetStatus", b"\xff\xff\xff\xff")
        self.assertEqual(e.exception.code(), grpc.StatusCode.INTERNAL)
        self.assertIn("error parsing request", e.exception.details())
        st = agent_pb2.GetStatusResponse.FromString(self.raw("/peerlink.v1.Agent/GetStatus", b""))
        self.assertEqual(st.name, "solo")

    def test_thousand_concurrent_watch_streams(self):
        n = 1000
        channels = [grpc.insecure_channel(self.addr) for _ in range(4)]
        try:
            streams = [agent_pb2_grpc.AgentStub(channels[i % 4]).WatchEvents(
                agent_pb2.WatchEventsRequest(include_current=True), timeout=60) for i in range(n)]
            for s in streams:  # every stream is open and got the current state
                self.assertTrue(next(s).event.HasField("rendezvous"))
            for s in streams:
                s.cancel()
        finally:
            for c in channels:
                c.close()
        st = agent_pb2_grpc.AgentStub(self.ch).GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual(st.name, "solo")


if __name__ == "__main__":
    unittest.main(verbosity=2)
