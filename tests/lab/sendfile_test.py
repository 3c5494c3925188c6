"""SendFile across real NATs: a file arrives verified through home NATs that drop 10% of the
UDP they forward, and through the rendezvous relay (symmetric NATs on both sides); a path that
dies mid-transfer (every packet of the receiver's host dropped) fails the call with UNAVAILABLE
saying so, and the receiver keeps no file under the final name and no temporary."""

import contextlib
import hashlib
import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import agentctl  # noqa: E402

AGENT = agentctl.DEFAULT_AGENT
DEADLINE = 30.0
MIB = 1024 * 1024
TABLE = "plfiledead"


def make_file(path, size, seed):
    """size bytes: a 1 MiB block stamped with its index at each MiB. Returns the SHA-256."""
    block = bytearray(hashlib.sha256(b"%d" % seed).digest() * (MIB // 32))
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(0, size, MIB):
            block[0:8] = struct.pack(">Q", i // MIB)
            piece = bytes(block[:min(MIB, size - i)])
            f.write(piece)
            h.update(piece)
    return h.hexdigest()


def sha_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(MIB), b""):
            h.update(piece)
    return h.hexdigest()


class SendFileLab(unittest.TestCase):
    @contextlib.contextmanager
    def pair(self, lab, kind_a, kind_b, loss=None, extra=()):
        """Sender and receiver on sites of the given kinds, connected; both stop cleanly at the
        end (inside the lab, before it is torn down)."""
        pb, pb_grpc, logs = self.setup
        left, right = lab.site(kind_a, 1, loss=loss), lab.site(kind_b, 2, loss=loss)
        files = os.path.join(lab.workdir, "inbox-%s-%s" % (kind_a, kind_b))
        a = agentctl.Agent(lab, left.hosts[0], AGENT, "sender", pb, pb_grpc, logs, extra=extra)
        try:
            b = agentctl.Agent(lab, right.hosts[0], AGENT, "receiver", pb, pb_grpc, logs,
                               extra=[("--files-dir", files)] + list(extra))
            try:
                self.assertNotIn("--files-dir", b.missing)
                self.assertIsNotNone(a.wait_peer(b.id, DEADLINE), "sender never saw receiver")
                r = a.stub.Connect(pb.ConnectRequest(peer_id=b.id, wait=True,
                                                     timeout_ms=int(DEADLINE * 1000)),
                                   timeout=DEADLINE + 5)
                yield a, b, files, right, r.path
            finally:
                self.assertEqual(b.stop(), 0)
        finally:
            self.assertEqual(a.stop(), 0)

    def send(self, a, b, src, timeout):
        pb = self.setup[0]
        return [m.progress for m in a.stub.SendFile(pb.SendFileRequest(peer_id=b.id, path=src),
                                                    timeout=timeout)]

    def received(self, b, name, deadline):
        return b.events.wait_for(lambda e: e.HasField("file") and e.file.name == name, deadline)

    def arrives(self, lab, kind_a, kind_b, size, loss=None, relayed=False):
        with self.pair(lab, kind_a, kind_b, loss=loss) as (a, b, files, _, path):
            self.arrives_on(a, b, files, path, lab, kind_a, kind_b, size, relayed)

    def arrives_on(self, a, b, files, path, lab, kind_a, kind_b, size, relayed):
        pb = self.setup[0]
        if relayed:
            self.assertEqual(path.kind, pb.PATH_KIND_RELAY)
        else:
            self.assertIsNotNone(a.wait_path(b.id, pb.PATH_KIND_DIRECT, DEADLINE),
                                 "no direct path to %s (Connect answered %s)"
                                 % (b.id, pb.PathKind.Name(path.kind)))
        name = "%s-%s.bin" % (kind_a, kind_b)
        src = os.path.join(lab.workdir, name)
        sha = make_file(src, size, seed=len(name))
        prog = self.send(a, b, src, timeout=240)
        self.assertTrue(prog[-1].done)
        self.assertEqual((prog[-1].bytes_done, prog[-1].sha256), (size, sha))
        ev = self.received(b, name, DEADLINE)
        self.assertIsNotNone(ev, "no FileReceived at the receiver")
        self.assertEqual((ev.file.error, ev.file.sha256, ev.file.size), ("", sha, size))
        self.assertEqual(sha_of(os.path.join(files, name)), sha)
        self.assertEqual(sorted(os.listdir(files)), [name])

    def test_ten_percent_loss(self):
        with agentctl.served_lab(self.setup[2]) as lab:
            self.arrives(lab, "home", "home", 4 * MIB, loss=10)

    def test_through_the_relay(self):
        with agentctl.served_lab(self.setup[2]) as lab:
            self.arrives(lab, "hard", "hard", 8 * MIB, relayed=True)

    def test_path_dies_mid_transfer(self):
        timing = [("--keepalive", "500ms"), ("--dead-after", "2s")]
        with agentctl.served_lab(self.setup[2]) as lab:
            with self.pair(lab, "open", "open", extra=timing) as (a, b, files, right, _):
                self.cut_mid_transfer(lab, a, b, files, right)

    def cut_mid_transfer(self, lab, a, b, files, right):
        import grpc
        pb = self.setup[0]
        src = os.path.join(lab.workdir, "cut.bin")
        make_file(src, 256 * MIB, seed=9)
        it = iter(a.stub.SendFile(pb.SendFileRequest(peer_id=b.id, path=src), timeout=180))
        while True:
            p = next(it).progress
            self.assertFalse(p.done, "finished before the path could be cut")
            if p.bytes_done > 0:
                break
        # Nothing in or out of the receiver's host but its own loopback (the test's control
        # connection): no direct path, no relay, no rendezvous.
        lab.nft(right.hosts[0], "table inet %s {\n"
                " chain in {\n  type filter hook input priority 0; policy accept;\n"
                "  iifname != \"lo\" drop\n }\n"
                " chain out {\n  type filter hook output priority 0; policy accept;\n"
                "  oifname != \"lo\" drop\n }\n}\n" % TABLE)
        with self.assertRaises(grpc.RpcError) as e:
            for _ in it:
                pass
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE, e.exception.details())
        self.assertIn("the QUIC connection to the peer ended", e.exception.details())
        ev = self.received(b, "cut.bin", 120)
        self.assertIsNotNone(ev, "the receiver never reported the failed transfer")
        self.assertNotEqual(ev.file.error, "")
        self.assertEqual(ev.file.path, "")
        self.assertEqual(os.listdir(files), [])  # no final file, no temporary
        os.unlink(src)

    def setUp(self):
        self.setup = agentctl.test_setup()


if __name__ == "__main__":
    agentctl.test_main()
