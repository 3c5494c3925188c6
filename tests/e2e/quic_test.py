"""The QUIC tunnel between two real agents on loopback: the connection comes up with the path
(QuicChanged, GetStatus's QuicState, exactly one client), chat both ways over QUIC_STREAM
(in order, exactly once, large messages, many at once), a peer with the wrong certificate
refused on both sides with a clear Send error and event, and a stopping peer heard at once."""

import os
import socket
import struct
import unittest

import grpc

import connect_test as c
import grpcio_test as g
import harness

agent_pb2 = g.agent_pb2
QUIC = agent_pb2.DELIVERY_QUIC_STREAM


def quic_event(peer_id, established=None, detail=None):
    def pred(e):
        if not e.HasField("quic") or e.quic.peer_id != peer_id:
            return False
        if established is not None and e.quic.state.established != established:
            return False
        return detail is None or detail in e.quic.state.detail
    return pred


def messages(watcher, peer_id, n, deadline=30):
    out = []
    for _ in range(n):
        ev = watcher.wait_for(lambda e: e.HasField("message") and e.message.delivery == QUIC and
                              e.message.peer_id == peer_id, "QUIC message %d" % len(out),
                              deadline=deadline)
        out.append(ev.message.data)
    return out


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
        self.sa, self.sb = c.stub(self.a, self), c.stub(self.b, self)
        self.ida, self.idb = self.a.fields["id"], self.b.fields["id"]
        r = self.sa.Connect(agent_pb2.ConnectRequest(peer_id=self.idb, wait=True,
                                                     timeout_ms=10000), timeout=15)
        self.assertEqual(r.path.kind, c.DIRECT)

    def tearDown(self):
        self.wa.close()
        self.wb.close()
        for p in (self.a, self.b, self.rdv):
            self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def test_tunnel_comes_up_with_the_path(self):
        self.wa.wait_for(quic_event(self.idb, True), "alpha's QUIC up")
        self.wb.wait_for(quic_event(self.ida, True), "beta's QUIC up")
        qa = self.sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10).peers[0].quic
        qb = self.sb.GetStatus(agent_pb2.GetStatusRequest(), timeout=10).peers[0].quic
        self.assertTrue(qa.established and qb.established)
        self.assertNotEqual(qa.client, qb.client)  # exactly one client...
        self.assertEqual(qa.client, self.ida < self.idb)  # ...the smaller ID
        self.assertGreater(qa.rtt_us, 0)

    def test_chat_both_ways(self):
        r = self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=QUIC,
                                               data=b"hello beta"), timeout=15)
        self.assertGreater(r.sequence, 0)
        self.assertEqual(messages(self.wb, self.ida, 1), [b"hello beta"])
        self.sb.Send(agent_pb2.SendRequest(peer_id=self.ida, delivery=QUIC, data=b"hello alpha"),
                     timeout=15)
        self.assertEqual(messages(self.wa, self.idb, 1), [b"hello alpha"])
        # Empty and large messages (more than the stream's send buffer: back-pressure).
        big = os.urandom(3 << 20)
        for data in (b"", big, b"after"):
            self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=QUIC, data=data),
                         timeout=30)
        self.assertEqual(messages(self.wb, self.ida, 3), [b"", big, b"after"])

    def test_many_at_once_arrive_in_order_exactly_once(self):
        n = 200
        payloads = [b"%04d:" % i + os.urandom(i * 37 % 5000) for i in range(n)]
        # Sends not waited for one by one: they are in flight together, and the agent may take
        # them in any order; the sequence numbers say in which, and that is the order they must
        # arrive in.
        futs = [self.sa.Send.future(agent_pb2.SendRequest(peer_id=self.idb, delivery=QUIC,
                                                          data=p), timeout=30)
                for p in payloads]
        seqs = [f.result().sequence for f in futs]
        self.assertEqual(len(set(seqs)), n)
        got = messages(self.wb, self.ida, n)
        self.assertEqual(got, [p for _, p in sorted(zip(seqs, payloads))])

    def test_forged_initial_does_not_end_the_connection(self):
        """Anyone who sees a frame knows the pairing ID. A client Initial forged with it (a
        header ngtcp2_accept takes, a payload no key opens) becomes a candidate beside the
        working connection, which goes on; the candidate just fails its handshake."""
        self.wa.wait_for(quic_event(self.idb, True), "alpha's QUIC up")
        self.wb.wait_for(quic_event(self.ida, True), "beta's QUIC up")
        sa_peer = self.sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10).peers[0]
        server = self.b if sa_peer.quic.client else self.a
        dcid, scid = os.urandom(16), os.urandom(8)
        payload = os.urandom(1200)
        length = len(payload) + 1  # the 1-byte packet number
        initial = (bytes([0xC0]) + struct.pack(">I", 1) + bytes([len(dcid)]) + dcid +
                   bytes([len(scid)]) + scid + b"\x00" + struct.pack(">H", 0x4000 | length) +
                   b"\x00" + payload)
        frame = b"\x25\x01" + bytes.fromhex(sa_peer.pairing_id) + initial
        host, port = server.fields["udp"].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        for _ in range(3):
            s.sendto(frame, (host, int(port)))
        # The same connection still carries messages both ways.
        self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=QUIC, data=b"still here"),
                     timeout=15)
        self.sb.Send(agent_pb2.SendRequest(peer_id=self.ida, delivery=QUIC, data=b"me too"),
                     timeout=15)
        self.assertEqual(messages(self.wb, self.ida, 1), [b"still here"])
        self.assertEqual(messages(self.wa, self.idb, 1), [b"me too"])
        for stub in (self.sa, self.sb):
            self.assertTrue(stub.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
                            .peers[0].quic.established)

    def test_stopping_peer_is_heard(self):
        self.wa.wait_for(quic_event(self.idb, True), "alpha's QUIC up")
        self.assertEqual(self.b.stop(), 0)
        ev = self.wa.wait_for(quic_event(self.idb, False), "alpha hears beta's QUIC close",
                              deadline=15)
        self.assertIn("closed by the peer", ev.quic.state.detail)
        with self.assertRaises(grpc.RpcError) as e:
            self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=QUIC, data=b"x"),
                         timeout=15)
        self.assertIn(e.exception.code(), (grpc.StatusCode.NOT_FOUND,
                                           grpc.StatusCode.FAILED_PRECONDITION,
                                           grpc.StatusCode.UNAVAILABLE))
        self.b = harness.start_agent("beta-again")  # tearDown stops it


class VanishedPeer(unittest.TestCase):
    """The peer is killed (no CONNECTION_CLOSE, no CLOSE): a QUIC Send cannot be acknowledged.
    The caller's deadline ends it; the agent forgets the call and frees the message once the
    connection gives up (ASan checks at exit), and answers other calls meanwhile."""

    def test_send_to_a_vanished_peer(self):
        a = harness.start_agent("alpha")
        b = harness.start_agent("beta")
        try:
            sa, sb = c.stub(a, self), c.stub(b, self)
            wa = g.EventWatcher(a.fields["control"])
            self.addCleanup(wa.close)
            secret = os.urandom(32)
            sb.Connect(explicit(a, sa, secret, wait=False), timeout=15)
            sa.Connect(explicit(b, sb, secret), timeout=15)
            idb = b.fields["id"]
            sa.Send(agent_pb2.SendRequest(peer_id=idb, delivery=QUIC, data=b"first"), timeout=15)
            b.kill()
            with self.assertRaises(grpc.RpcError) as e:
                sa.Send(agent_pb2.SendRequest(peer_id=idb, delivery=QUIC, data=os.urandom(1 << 20)),
                        timeout=3)
            self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            st = sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
            self.assertEqual([p.peer_id for p in st.peers], [idb])
        finally:
            b.kill()
            self.assertEqual(a.stop(), 0, "alpha did not exit cleanly")


def explicit(to, to_stub, secret, fingerprint=None, wait=True):
    st = to_stub.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
    req = agent_pb2.ConnectRequest(candidates=[c.endpoint_of(to.fields["udp"])],
                                   pairing_secret=secret,
                                   peer_cert_fingerprint=fingerprint or st.cert_fingerprint,
                                   wait=wait, timeout_ms=10000)
    if st.public_key:
        req.peer_public_key = st.public_key
    return req


class WrongCertificate(unittest.TestCase):
    """Beta pins a fingerprint that is not alpha's: punching works (the pairing secret is right)
    but the QUIC handshake is refused, and both sides say why."""

    def setUp(self):
        self.a = harness.start_agent("alpha")
        self.b = harness.start_agent("beta")
        self.wa = g.EventWatcher(self.a.fields["control"])
        self.wb = g.EventWatcher(self.b.fields["control"])
        self.sa, self.sb = c.stub(self.a, self), c.stub(self.b, self)

    def tearDown(self):
        self.wa.close()
        self.wb.close()
        for p in (self.a, self.b):
            self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def test_refused_both_ways(self):
        secret = os.urandom(32)
        wrong = "ab" * 32
        fa = self.sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10).cert_fingerprint
        self.assertNotEqual(fa, wrong)
        self.sb.Connect(explicit(self.a, self.sa, secret, fingerprint=wrong, wait=False),
                        timeout=15)
        r = self.sa.Connect(explicit(self.b, self.sb, secret), timeout=15)
        self.assertEqual(r.path.kind, c.DIRECT)
        ida, idb = self.a.fields["id"], self.b.fields["id"]
        # Beta's own pin refuses alpha; alpha hears the refusal.
        ev = self.wb.wait_for(quic_event(ida, False, "does not match the pinned fingerprint"),
                              "beta refuses alpha's certificate")
        self.assertIn(wrong, ev.quic.state.detail)
        self.wa.wait_for(quic_event(idb, False, "refused this agent's certificate"),
                         "alpha hears the refusal")
        for stub, peer, text in ((self.sb, ida, "does not match the pinned fingerprint"),
                                 (self.sa, idb, "refused this agent's certificate")):
            with self.assertRaises(grpc.RpcError) as e:
                stub.Send(agent_pb2.SendRequest(peer_id=peer, delivery=QUIC, data=b"x"),
                          timeout=30)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED,
                             e.exception.details())
            self.assertIn(text, e.exception.details())
        # Nothing got through; datagrams, which do not depend on QUIC, still do.
        st = self.sb.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertFalse(st.peers[0].quic.established)
        self.assertIn("does not match the pinned fingerprint", st.peers[0].quic.detail)


if __name__ == "__main__":
    unittest.main()
