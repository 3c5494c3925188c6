"""Paths between real agents on loopback: through the rendezvous (STUN, offer, punching) and
by explicit candidates with no rendezvous; datagrams and reliable messages both ways; bad
datagrams counted."""

import os
import socket
import unittest

import grpc

import grpcio_test as g  # generates the stubs and provides EventWatcher
import harness

agent_pb2, agent_pb2_grpc, common_pb2 = g.agent_pb2, g.agent_pb2_grpc, None
from peerlink.v1 import common_pb2  # noqa: E402,F811

DIRECT = agent_pb2.PATH_KIND_DIRECT


def stub(proc, test):
    ch = grpc.insecure_channel(proc.fields["control"])
    test.addCleanup(ch.close)
    return agent_pb2_grpc.AgentStub(ch)


def endpoint_of(addr):
    ip, port = addr.rsplit(":", 1)
    return common_pb2.Candidate(kind=common_pb2.CANDIDATE_KIND_HOST,
                                endpoint=common_pb2.Endpoint(ip=ip, port=int(port)))


class ThroughRendezvous(unittest.TestCase):
    def setUp(self):
        self.rdv = harness.start_rendezvous(extra=["--udp", "127.0.0.1:0",
                                                   "--udp-alt", "127.0.0.1:0"])
        addr = self.rdv.fields["grpc"]
        self.a = harness.start_agent("alpha", rendezvous=addr)
        self.b = harness.start_agent("beta", rendezvous=addr)
        self.wa = g.EventWatcher(self.a.fields["control"])
        self.wb = g.EventWatcher(self.b.fields["control"])
        self.wa.wait_peer(self.b.fields["id"])

    def tearDown(self):
        self.wa.close()
        self.wb.close()
        for p in (self.a, self.b, self.rdv):
            self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def test_connect_direct_and_datagrams_both_ways(self):
        sa, sb = stub(self.a, self), stub(self.b, self)
        ida, idb = self.a.fields["id"], self.b.fields["id"]
        r = sa.Connect(agent_pb2.ConnectRequest(peer_id=idb, wait=True, timeout_ms=10000),
                       timeout=15)
        self.assertEqual(r.path.kind, DIRECT)
        self.assertEqual(r.path.peer_id, idb)
        self.assertEqual("%s:%d" % (r.path.remote.ip, r.path.remote.port), self.b.fields["udp"])
        # The other side got the offer too and has its own path.
        self.wb.wait_for(lambda e: e.HasField("path") and e.path.path.kind == DIRECT
                         and e.path.path.peer_id == ida, "beta's direct path to alpha")
        sa.Send(agent_pb2.SendRequest(peer_id=idb, data=b"hello beta"), timeout=10)
        ev = self.wb.wait_for(lambda e: e.HasField("message"), "message at beta")
        self.assertEqual((ev.message.peer_id, ev.message.data), (ida, b"hello beta"))
        sb.Send(agent_pb2.SendRequest(peer_id=ida, data=b"hello alpha"), timeout=10)
        ev = self.wa.wait_for(lambda e: e.HasField("message"), "message at alpha")
        self.assertEqual((ev.message.peer_id, ev.message.data), (idb, b"hello alpha"))
        st = sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual(st.nat_behavior, common_pb2.NAT_BEHAVIOR_OPEN)
        self.assertEqual([p.kind for p in st.peers], [DIRECT])
        # Disconnect ends the path, and says so.
        sa.Disconnect(agent_pb2.DisconnectRequest(peer_id=idb), timeout=10)
        self.wa.wait_for(lambda e: e.HasField("path") and e.path.path.kind ==
                         agent_pb2.PATH_KIND_NONE, "path none after Disconnect")
        with self.assertRaises(grpc.RpcError) as e:
            sa.Send(agent_pb2.SendRequest(peer_id=idb, data=b"x"), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        # ... and the peer hears of it (CLOSE frame) rather than timing the path out.
        self.wb.wait_for(lambda e: e.HasField("path") and e.path.path.kind ==
                         agent_pb2.PATH_KIND_NONE and "closed by the peer" in e.path.detail,
                         "beta told that alpha closed the path")

    def test_reliable_both_ways(self):
        # The end-to-end keys come from the offer: each side has the other's public key from
        # the rendezvous, and the ID proves it.
        sa, sb = stub(self.a, self), stub(self.b, self)
        ida, idb = self.a.fields["id"], self.b.fields["id"]
        reliable = agent_pb2.DELIVERY_RELIABLE
        r = sa.Connect(agent_pb2.ConnectRequest(peer_id=idb, wait=True, timeout_ms=10000),
                       timeout=15)
        self.assertEqual(r.path.kind, DIRECT)
        self.wb.wait_for(lambda e: e.HasField("path") and e.path.path.kind == DIRECT,
                         "beta's path")
        for i in range(20):
            self.assertEqual(sa.Send(agent_pb2.SendRequest(peer_id=idb, delivery=reliable,
                                                           data=b"to beta %d" % i),
                                     timeout=10).sequence, i + 1)
            sb.Send(agent_pb2.SendRequest(peer_id=ida, delivery=reliable,
                                          data=b"to alpha %d" % i), timeout=10)
        for w, text in ((self.wb, b"to beta %d"), (self.wa, b"to alpha %d")):
            for i in range(20):
                ev = w.wait_for(lambda e: e.HasField("message"), "message %d" % i)
                self.assertEqual((ev.message.delivery, ev.message.data), (reliable, text % i))
        st = sb.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual([p.data_dropped for p in st.peers], [0])
        self.assertTrue(st.public_key)

    def test_bad_datagrams_are_dropped_and_counted(self):
        sa = stub(self.a, self)
        host, port = self.a.fields["udp"].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        junk = [b"", b"\x20", b"\x20\x01" + b"\x00" * 60, b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42",
                os.urandom(200), b"\x2a" * 100]
        for d in junk:
            s.sendto(d, (host, int(port)))
        # A round trip on the control API after the datagrams were queued, then the count.
        before = 0
        for _ in range(50):  # bounded; each GetStatus is a round trip through the agent's loop
            st = sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
            before = st.dropped_unauthenticated
            if before >= len(junk) - 1:
                break
        self.assertGreaterEqual(before, len(junk) - 1)  # the empty datagram may not count


def explicit_connect(to, to_stub, secret, wait=False, timeout_ms=10000):
    """A ConnectRequest to agent `to` by its UDP address, with no rendezvous."""
    st = to_stub.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
    return agent_pb2.ConnectRequest(candidates=[endpoint_of(to.fields["udp"])],
                                    pairing_secret=secret, peer_cert_fingerprint=st.cert_fingerprint,
                                    peer_public_key=st.public_key, wait=wait,
                                    timeout_ms=timeout_ms)


def connect_explicit(test, a, b):
    """Pairs agents a and b by explicit candidates; returns a's watcher once a's path is up."""
    sa, sb = stub(a, test), stub(b, test)
    secret = os.urandom(32)
    wa = g.EventWatcher(a.fields["control"])
    test.addCleanup(wa.close)
    sb.Connect(explicit_connect(a, sa, secret), timeout=10)
    r = sa.Connect(explicit_connect(b, sb, secret, wait=True), timeout=15)
    test.assertEqual(r.path.kind, DIRECT)
    return wa


class DeadPath(unittest.TestCase):
    def test_peer_vanishing_is_detected_and_reported(self):
        # Fast keep-alives and death detection so the test is short; the logic is the same.
        timing = ["--keepalive", "200ms", "--dead-after", "1s"]
        a = harness.start_agent("left", extra=timing)
        b = harness.start_agent("right", extra=timing)
        try:
            sa = stub(a, self)
            wa = connect_explicit(self, a, b)
            b.kill()  # no CLOSE frame: the path just goes silent
            ev = wa.wait_for(lambda e: e.HasField("path") and
                             e.path.path.kind == agent_pb2.PATH_KIND_NONE, "path declared dead",
                             deadline=15)
            self.assertEqual(ev.path.path.peer_id, b.fields["id"])
            # The pairing stays, without a path, punching again for when the peer returns.
            st = sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
            self.assertEqual([(p.peer_id, p.kind) for p in st.peers],
                             [(b.fields["id"], agent_pb2.PATH_KIND_NONE)])
        finally:
            a.kill()
            b.kill()


class StoppingAgent(unittest.TestCase):
    def test_peer_hears_of_it_at_once(self):
        # A path that is only declared dead after a minute: within the test's deadline only the
        # stopping agent's CLOSE frame can end it.
        timing = ["--dead-after", "60s"]
        a = harness.start_agent("stays", extra=timing)
        b = harness.start_agent("leaves", extra=timing)
        try:
            wa = connect_explicit(self, a, b)
            self.assertEqual(b.stop(), 0)  # SIGTERM: an orderly stop
            ev = wa.wait_for(lambda e: e.HasField("path") and
                             e.path.path.kind == agent_pb2.PATH_KIND_NONE, "path closed",
                             deadline=15)
            self.assertEqual(ev.path.path.peer_id, b.fields["id"])
            self.assertEqual(ev.path.detail, "closed by the peer")
        finally:
            a.kill()
            b.kill()


class ExplicitCandidates(unittest.TestCase):
    def test_connect_without_rendezvous(self):
        a = harness.start_agent("east")
        b = harness.start_agent("west")
        try:
            sa, sb = stub(a, self), stub(b, self)
            secret = os.urandom(32)
            wb = g.EventWatcher(b.fields["control"])
            self.addCleanup(wb.close)
            fut = sa.Connect.future(explicit_connect(b, sb, secret, wait=True), timeout=15)
            rb = sb.Connect(explicit_connect(a, sa, secret, wait=True), timeout=15)
            ra = fut.result()
            self.assertEqual(ra.path.kind, DIRECT)
            self.assertEqual(rb.path.kind, DIRECT)
            self.assertEqual(ra.path.peer_id, b.fields["id"])  # learned from the peer's frames
            sa.Send(agent_pb2.SendRequest(peer_id=b.fields["id"], data=b"no rendezvous"),
                    timeout=10)
            ev = wb.wait_for(lambda e: e.HasField("message"), "message at west")
            self.assertEqual(ev.message.data, b"no rendezvous")
        finally:
            self.assertEqual(a.stop(), 0)
            self.assertEqual(b.stop(), 0)

    def test_wrong_secret_never_connects(self):
        a = harness.start_agent("one")
        b = harness.start_agent("two")
        try:
            sa, sb = stub(a, self), stub(b, self)
            sb.Connect(explicit_connect(a, sa, b"B" * 32), timeout=10)
            with self.assertRaises(grpc.RpcError) as e:
                sa.Connect(explicit_connect(b, sb, b"A" * 32, wait=True, timeout_ms=1500),
                           timeout=15)
            self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            self.assertIn("probe", e.exception.details())  # says what was tried
        finally:
            a.kill()
            b.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
