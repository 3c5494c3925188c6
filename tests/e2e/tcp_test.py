"""TCP hole punching between real agents on loopback, through a real rendezvous: STUN over TCP
from the punching port, TCP candidates in the registration, the punched connection in
GetStatus and PathChanged, Send with DELIVERY_TCP both ways (acknowledged by the peer), and
the clear failures: no TCP path (--tcp-port off), a message over the limit, and a message
whose connection breaks before the peer acknowledged it."""

import os
import signal
import threading
import unittest

import grpc

import grpcio_test as g  # generates the stubs and provides EventWatcher
import harness

agent_pb2, agent_pb2_grpc = g.agent_pb2, g.agent_pb2_grpc
from peerlink.v1 import common_pb2  # noqa: E402

TCP = agent_pb2.DELIVERY_TCP
TCP_CANDIDATE = common_pb2.TRANSPORT_TCP


def stub(proc, test):
    ch = grpc.insecure_channel(proc.fields["control"])
    test.addCleanup(ch.close)
    return agent_pb2_grpc.AgentStub(ch)


def tcp_connected(peer_id):
    return lambda e: (e.HasField("path") and e.path.path.peer_id == peer_id and
                      e.path.path.tcp.connected)


class TcpPunching(unittest.TestCase):
    def setUp(self):
        self.rdv = harness.start_rendezvous(extra=["--udp", "127.0.0.1:0"])
        self.addr = self.rdv.fields["grpc"]
        self.procs = [self.rdv]
        self.a = self.agent("alpha", ["--max-message", str(8 << 20)])
        self.b = self.agent("beta")
        self.wa = g.EventWatcher(self.a.fields["control"])
        self.wb = g.EventWatcher(self.b.fields["control"])
        self.addCleanup(self.wa.close)
        self.addCleanup(self.wb.close)
        self.sa, self.sb = stub(self.a, self), stub(self.b, self)
        self.ida, self.idb = self.a.fields["id"], self.b.fields["id"]

    def agent(self, name, extra=()):
        p = harness.start_agent(name, rendezvous=self.addr, extra=list(extra))
        self.procs.append(p)
        return p

    def tearDown(self):
        for p in reversed(self.procs):
            if p.p.poll() is None:
                self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)
            else:
                p.kill()

    @staticmethod
    def wait_tcp_mapping(watcher, proc):
        """The NatChanged event that carries the punching port's mapping (STUN over TCP)."""
        return watcher.wait_for(lambda e: e.HasField("nat") and
                                e.nat.HasField("tcp_public_endpoint"),
                                "%s's TCP mapping" % proc.name).nat.tcp_public_endpoint

    def connect(self):
        r = self.sa.Connect(agent_pb2.ConnectRequest(peer_id=self.idb, wait=True,
                                                     timeout_ms=10000), timeout=15)
        self.assertEqual(r.path.kind, agent_pb2.PATH_KIND_DIRECT)
        self.wa.wait_for(tcp_connected(self.idb), "alpha's TCP path to beta")
        self.wb.wait_for(tcp_connected(self.ida), "beta's TCP path to alpha")

    def test_punch_then_messages_both_ways(self):
        port, bport = int(self.a.fields["tcp_port"]), int(self.b.fields["tcp_port"])
        ep = self.wait_tcp_mapping(self.wa, self.a)
        # Asked from the punching port itself: loopback shows that very port.
        self.assertEqual((ep.ip, ep.port), ("127.0.0.1", port))
        st = self.sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual(st.tcp_port, port)
        self.assertEqual((st.tcp_public_endpoint.ip, st.tcp_public_endpoint.port),
                         ("127.0.0.1", port))
        # The rendezvous accepted beta's TCP candidates and shows them to alpha.
        ev = self.wa.wait_for(lambda e: e.HasField("peer_list") and e.peer_list.joined and
                              e.peer_list.peer.id == self.idb and
                              any(c.transport == TCP_CANDIDATE
                                  for c in e.peer_list.peer.candidates),
                              "beta's TCP candidates at alpha")
        self.assertEqual([(c.kind, c.endpoint.ip, c.endpoint.port)
                          for c in ev.peer_list.peer.candidates if c.transport == TCP_CANDIDATE],
                         [(common_pb2.CANDIDATE_KIND_HOST, "127.0.0.1", bport)])
        peers = self.sa.ListPeers(agent_pb2.ListPeersRequest(), timeout=10).peers
        self.assertIn(("127.0.0.1", bport, TCP_CANDIDATE),
                      [(c.endpoint.ip, c.endpoint.port, c.transport)
                       for p in peers if p.id == self.idb for c in p.candidates])

        self.connect()
        st = self.sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        (peer,) = st.peers
        self.assertTrue(peer.tcp.connected)
        self.assertEqual(peer.tcp.detail, "connected")
        self.assertEqual(peer.tcp.local.port, port)
        self.assertEqual(peer.tcp.remote.port, bport)

        r = self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, data=b"over tcp", delivery=TCP),
                         timeout=10)
        self.assertEqual(r.sequence, 1)
        ev = self.wb.wait_for(lambda e: e.HasField("message"), "message at beta")
        self.assertEqual((ev.message.peer_id, ev.message.delivery, ev.message.data),
                         (self.ida, TCP, b"over tcp"))
        self.sb.Send(agent_pb2.SendRequest(peer_id=self.ida, data=b"and back", delivery=TCP),
                     timeout=10)
        ev = self.wa.wait_for(lambda e: e.HasField("message"), "message at alpha")
        self.assertEqual((ev.message.delivery, ev.message.data), (TCP, b"and back"))
        # In order and exactly once, and far beyond a datagram's size.
        big = os.urandom(3 << 20)
        for i in range(50):
            self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, data=b"%d" % i, delivery=TCP),
                         timeout=10)
        self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, data=big, delivery=TCP), timeout=30)
        got = [self.wb.wait_for(lambda e: e.HasField("message"), "message %d" % i).message.data
               for i in range(51)]
        self.assertEqual(got[:50], [b"%d" % i for i in range(50)])
        self.assertEqual(got[50], big)
        with self.assertRaises(grpc.RpcError) as e:
            self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, data=b"x" * ((4 << 20) + 1),
                                               delivery=TCP), timeout=30)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("a TCP message holds at most 4194304 bytes", e.exception.details())

    def test_no_tcp_path(self):
        c = self.agent("gamma", ["--tcp-port", "off"])
        self.assertEqual(c.fields["tcp_port"], "off")
        sc = stub(c, self)
        idc = c.fields["id"]
        self.wa.wait_peer(idc)
        r = self.sa.Connect(agent_pb2.ConnectRequest(peer_id=idc, wait=True, timeout_ms=10000),
                            timeout=15)
        self.assertEqual(r.path.kind, agent_pb2.PATH_KIND_DIRECT)
        ev = self.wa.wait_for(lambda e: e.HasField("path") and e.path.path.peer_id == idc and
                              e.path.path.HasField("tcp") and not e.path.path.tcp.connected and
                              e.path.path.tcp.detail, "alpha's TCP verdict on gamma")
        self.assertEqual(ev.path.path.tcp.detail, "no TCP candidates from the peer")
        with self.assertRaises(grpc.RpcError) as e:
            self.sa.Send(agent_pb2.SendRequest(peer_id=idc, data=b"x", delivery=TCP), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(e.exception.details(),
                         "no TCP path to %s (no TCP candidates from the peer)" % idc)
        st = sc.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.assertEqual(st.tcp_port, 0)
        self.assertFalse(st.HasField("tcp_public_endpoint"))
        with self.assertRaises(grpc.RpcError) as e:
            sc.Send(agent_pb2.SendRequest(peer_id=self.ida, data=b"x", delivery=TCP), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("TCP punching is off on this agent (--tcp-port off)", e.exception.details())
        # The datagram path is unaffected.
        sc.Send(agent_pb2.SendRequest(peer_id=self.ida, data=b"udp still"), timeout=10)
        self.wa.wait_for(lambda e: e.HasField("message") and e.message.data == b"udp still",
                         "the datagram at alpha")

    def test_broken_connection_fails_the_send(self):
        self.wa.wait_peer(self.idb)
        self.connect()
        # Beta stops reading (stopped), so nothing can acknowledge; then it dies and its kernel
        # resets the connection under the message.
        self.b.p.send_signal(signal.SIGSTOP)
        result = {}

        def send():
            try:
                self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, data=b"never acked",
                                                   delivery=TCP), timeout=30)
                result["ok"] = True
            except grpc.RpcError as e:
                result["error"] = e
        t = threading.Thread(target=send)
        t.start()
        # The Send is waiting on alpha's loop: a GetStatus round trip there means it arrived.
        self.sa.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
        self.b.p.kill()
        self.b.p.wait()
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertNotIn("ok", result)
        e = result["error"]
        self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("message not acknowledged: the TCP connection to %s ended" % self.idb,
                      e.details())
        ev = self.wa.wait_for(lambda e: e.HasField("path") and e.path.path.peer_id == self.idb
                              and e.path.path.HasField("tcp") and not e.path.path.tcp.connected,
                              "alpha told the TCP path is lost")
        self.assertIn("connection lost", ev.path.path.tcp.detail)


if __name__ == "__main__":
    unittest.main(verbosity=2)
