"""Data between real agents on loopback, end-to-end encrypted: datagrams and reliable messages
both ways (by explicit candidates; through the rendezvous: connect_test); a DATA frame captured
on the wire and replayed, or modified, is dropped and counted, never delivered; a reliable
message to a peer that vanished fails with a clear status within a bounded time; the limits
answer INVALID_ARGUMENT naming them.

To see DATA on the wire, alpha reaches beta through a UDP relay of the test's own (a Python
socket pair): alpha's only candidate for beta is the relay's address, and the relay forwards
both ways, keeping what it saw."""

import os
import socket
import threading
import time
import unittest
from concurrent import futures

import grpc

import grpcio_test as g  # generates the stubs and provides EventWatcher
import harness
from connect_test import endpoint_of, explicit_connect, stub

agent_pb2 = g.agent_pb2
DIRECT = agent_pb2.PATH_KIND_DIRECT
DATAGRAM = agent_pb2.DELIVERY_DATAGRAM
RELIABLE = agent_pb2.DELIVERY_RELIABLE
DATA = 0x22


def is_message(delivery, data=None):
    return lambda e: (e.HasField("message") and e.message.delivery == delivery
                      and (data is None or e.message.data == data))


def peer_path(st, peer_id):
    for p in st.peers:
        if p.peer_id == peer_id:
            return p
    raise AssertionError("no path to %s in GetStatus" % peer_id)


class Tap:
    """Forwards UDP between alpha (which sends here) and beta, and keeps the DATA frames alpha
    sent. Beta answers alpha's frames to the address they came from: this socket."""

    def __init__(self, beta_udp):
        ip, port = beta_udp.rsplit(":", 1)
        self.beta = (ip, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.alpha = None
        self.data_frames = []
        self.lock = threading.Lock()
        self.stopped = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                d, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if src == self.beta:
                if self.alpha:
                    self.sock.sendto(d, self.alpha)
                continue
            self.alpha = src
            if d and d[0] == DATA:
                with self.lock:
                    self.data_frames.append(d)
            self.sock.sendto(d, self.beta)

    def inject(self, frame):
        """A datagram to beta as if alpha's path carried it."""
        self.sock.sendto(frame, self.beta)

    def frames(self):
        with self.lock:
            return list(self.data_frames)

    def close(self):
        self.stopped = True
        self.t.join(timeout=5)
        self.sock.close()


def connect_through(test, a, b, tap, extra_b=None):
    """alpha -> tap -> beta and beta -> alpha directly; returns (alpha's, beta's) watchers."""
    sa, sb = stub(a, test), stub(b, test)
    secret = os.urandom(32)
    wa, wb = g.EventWatcher(a.fields["control"]), g.EventWatcher(b.fields["control"])
    test.addCleanup(wa.close)
    test.addCleanup(wb.close)
    sb.Connect(explicit_connect(a, sa, secret), timeout=10)
    req = explicit_connect(b, sb, secret, wait=True)
    del req.candidates[:]
    req.candidates.append(endpoint_of(tap.addr))
    r = sa.Connect(req, timeout=15)
    test.assertEqual(r.path.kind, DIRECT)
    wb.wait_for(lambda e: e.HasField("path") and e.path.path.kind == DIRECT, "beta's path")
    return wa, wb


class Explicit(unittest.TestCase):
    def setUp(self):
        self.a = harness.start_agent("alpha", extra=["--reliable-timeout", "2s"])
        self.b = harness.start_agent("beta")
        self.tap = Tap(self.b.fields["udp"])
        self.addCleanup(self.tap.close)
        self.sa, self.sb = stub(self.a, self), stub(self.b, self)
        self.ida, self.idb = self.a.fields["id"], self.b.fields["id"]
        self.wa, self.wb = connect_through(self, self.a, self.b, self.tap)

    def tearDown(self):
        for p in (self.a, self.b):
            if p.p.poll() is None:
                self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def test_datagrams_and_reliable_both_ways(self):
        self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=DATAGRAM, data=b"dg a->b"),
                     timeout=10)
        self.wb.wait_for(is_message(DATAGRAM, b"dg a->b"), "the datagram at beta")
        self.sb.Send(agent_pb2.SendRequest(peer_id=self.ida, delivery=DATAGRAM, data=b"dg b->a"),
                     timeout=10)
        self.wa.wait_for(is_message(DATAGRAM, b"dg b->a"), "the datagram at alpha")
        # Many reliable messages at once each way: every Send returns once acknowledged, and the
        # peer sees each exactly once, in the order of the sequence numbers the Sends returned.
        n = 200
        with futures.ThreadPoolExecutor(16) as pool:
            fa = [pool.submit(self.sa.Send, agent_pb2.SendRequest(
                peer_id=self.idb, delivery=RELIABLE, data=b"a%04d" % i + b"." * (i * 13)),
                timeout=30) for i in range(n)]
            fb = [pool.submit(self.sb.Send, agent_pb2.SendRequest(
                peer_id=self.ida, delivery=RELIABLE, data=b"b%04d" % i), timeout=30)
                for i in range(n)]
            seq_a = {f.result().sequence: i for i, f in enumerate(fa)}
            seq_b = {f.result().sequence: i for i, f in enumerate(fb)}
        self.assertEqual(sorted(seq_a), list(range(1, n + 1)))
        self.assertEqual(sorted(seq_b), list(range(1, n + 1)))
        for seqs, w, tag in ((seq_a, self.wb, b"a"), (seq_b, self.wa, b"b")):
            for s in range(1, n + 1):
                ev = w.wait_for(is_message(RELIABLE), "reliable message %d" % s)
                self.assertEqual(ev.message.data[:5], tag + b"%04d" % seqs[s])
        # One of 1 MiB, the default limit, and one over it.
        big = os.urandom(1 << 20)
        self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=RELIABLE, data=big),
                     timeout=60)
        ev = self.wb.wait_for(is_message(RELIABLE), "the 1 MiB message", deadline=60)
        self.assertEqual(ev.message.data, big)
        with self.assertRaises(grpc.RpcError) as e:
            self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=RELIABLE,
                                               data=big + b"!"), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("at most 1048576 bytes (--max-reliable-message)", e.exception.details())
        with self.assertRaises(grpc.RpcError) as e:
            self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=DATAGRAM,
                                               data=b"x" * 1200), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("a datagram holds at most 1199 bytes", e.exception.details())

    def test_captured_frames_replayed_or_modified_are_dropped_and_counted(self):
        secret_text = b"the attack at dawn"
        self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=DATAGRAM, data=secret_text),
                     timeout=10)
        self.wb.wait_for(is_message(DATAGRAM, secret_text), "the genuine datagram")
        frames = [f for f in self.tap.frames() if len(f) == 34 + 1 + len(secret_text) + 16]
        self.assertTrue(frames, "the tap saw no DATA frame of the datagram's size")
        frame = frames[-1]
        self.assertNotIn(secret_text, frame)  # encrypted on the wire, not only authenticated
        before = peer_path(self.sb.GetStatus(agent_pb2.GetStatusRequest(), timeout=10),
                           self.ida).data_dropped
        forged = []
        forged.append(frame)  # replayed as it is
        f = bytearray(frame)
        f[34 + 3] ^= 0x20  # a ciphertext bit: would change the text
        forged.append(bytes(f))
        f = bytearray(frame)
        f[33] ^= 0x01  # the sequence number: a "new" frame with the old body
        forged.append(bytes(f))
        f = bytearray(frame)
        f[-1] ^= 0x80  # the tag
        forged.append(bytes(f))
        for d in forged:
            self.tap.inject(d)
        # A marker datagram after them: when it has arrived, the forgeries were handled.
        self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=DATAGRAM, data=b"marker"),
                     timeout=10)
        got = []
        self.wb.wait_for(lambda e: (got.append(e) if e.HasField("message") else None) or
                         is_message(DATAGRAM, b"marker")(e), "the marker")
        self.assertEqual([e.message.data for e in got], [b"marker"])  # nothing forged delivered
        end = time.monotonic() + 10
        while True:
            st = self.sb.GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
            dropped = peer_path(st, self.ida).data_dropped
            if dropped >= before + len(forged) or time.monotonic() > end:
                break
        self.assertEqual(dropped, before + len(forged))
        self.assertGreaterEqual(st.dropped_unauthenticated, len(forged))

    def test_reliable_to_a_vanished_peer_fails_in_bounded_time(self):
        self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=RELIABLE, data=b"hi"),
                     timeout=10)
        self.b.kill()  # no CLOSE: beta just goes silent
        t0 = time.monotonic()
        with self.assertRaises(grpc.RpcError) as e:
            # The call's own deadline is the bound: 2 s of --reliable-timeout and slack.
            self.sa.Send(agent_pb2.SendRequest(peer_id=self.idb, delivery=RELIABLE,
                                               data=b"anyone there?"), timeout=15)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE,
                         "%s after %.1fs" % (e.exception.details(), time.monotonic() - t0))
        self.assertIn("not acknowledged within 2000 ms", e.exception.details())
        self.assertIn(self.idb, e.exception.details())
        self.wa.wait_for(lambda e: e.HasField("path") and e.path.path.kind ==
                         agent_pb2.PATH_KIND_NONE and "stopped acknowledging" in e.path.detail,
                         "alpha closes the link")


if __name__ == "__main__":
    unittest.main()
