"""SendFile between two real agents on loopback (paired through a rendezvous, over their QUIC
tunnel): a file arrives verified with FileReceived at the receiver, a 256 MiB file too,
bad names and local problems are refused with the status that says why, an existing file is
kept unless overwrite is asked, and a transfer that is cancelled or whose receiver goes away
fails clearly and leaves no file under the final name."""

import hashlib
import os
import signal
import struct
import unittest

import grpc

import grpcio_test as g
import harness

pb = g.agent_pb2
MIB = 1024 * 1024


def make_file(path, size, seed=0):
    """A file of `size` bytes, quick to write at any size: a 1 MiB random block repeated, each
    copy stamped with its index so no two MiB are alike. Returns its SHA-256 (hex)."""
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


def entries(d):
    return sorted(os.listdir(d))


def wait_quic(watcher, peer_id):
    """The QUIC tunnel to peer_id is up (a QuicChanged event or a path event that says so)."""
    def up(e):
        if e.HasField("quic"):
            return e.quic.peer_id == peer_id and e.quic.state.established
        return (e.HasField("path") and e.path.path.peer_id == peer_id
                and e.path.path.quic.established)
    watcher.wait_for(up, "QUIC to %s established" % peer_id, deadline=20)


class Pair(unittest.TestCase):
    """Two agents, the sender with a short --dead-after so a vanished receiver is noticed."""

    SENDER_FLAGS = ["--keepalive", "200ms", "--dead-after", "2s"]

    def setUp(self):
        self.dir = harness.tmpdir()
        self.rdv = harness.start_rendezvous(extra=["--udp", "127.0.0.1:0",
                                                   "--udp-alt", "127.0.0.1:0"])
        self.a = harness.start_agent("sender", rendezvous=self.rdv.fields["grpc"],
                                     extra=self.SENDER_FLAGS)
        self.b_state = os.path.join(harness.tmpdir(), "receiver")
        self.b_files = os.path.join(self.dir, "inbox")
        self.b = self.start_receiver()
        self.idb = self.b.fields["id"]
        self.ch = grpc.insecure_channel(self.a.fields["control"])
        self.addCleanup(self.ch.close)
        self.sa = g.agent_pb2_grpc.AgentStub(self.ch)
        wa = g.EventWatcher(self.a.fields["control"])
        self.addCleanup(wa.close)
        self.wb = g.EventWatcher(self.b.fields["control"])
        self.addCleanup(self.wb.close)
        wa.wait_peer(self.idb)
        r = self.sa.Connect(pb.ConnectRequest(peer_id=self.idb, wait=True, timeout_ms=10000),
                            timeout=15)
        self.assertEqual(r.path.kind, pb.PATH_KIND_DIRECT)
        wait_quic(wa, self.idb)

    def start_receiver(self):
        return harness.start_agent("receiver", rendezvous=self.rdv.fields["grpc"],
                                   state_dir=self.b_state, extra=["--files-dir", self.b_files])

    def tearDown(self):
        for p in (self.a, self.b, self.rdv):
            if p.p.poll() is None:
                self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)
            else:
                p.kill()

    def send(self, path, timeout=60, **kw):
        """SendFile to the receiver; returns its progress messages."""
        req = pb.SendFileRequest(peer_id=self.idb, path=path, **kw)
        return [r.progress for r in self.sa.SendFile(req, timeout=timeout)]

    def refused(self, code, *want, **kw):
        with self.assertRaises(grpc.RpcError) as e:
            self.send(**kw)
        self.assertEqual(e.exception.code(), code, e.exception.details())
        for w in want:
            self.assertIn(w, e.exception.details())
        return e.exception.details()

    def received(self, name):
        return self.wb.wait_for(lambda e: e.HasField("file") and e.file.name == name,
                                "FileReceived %s" % name, deadline=30).file


class Arrives(Pair):
    def test_file_arrives_verified_with_progress_and_event(self):
        src = os.path.join(self.dir, "report.bin")
        sha = make_file(src, 5 * MIB + 123, seed=1)
        prog = self.send(src)
        self.assertTrue(prog[-1].done)
        self.assertEqual(prog[-1].sha256, sha)
        self.assertEqual(prog[-1].bytes_done, 5 * MIB + 123)
        self.assertTrue(all(p.bytes_total == 5 * MIB + 123 for p in prog))
        done = [p.bytes_done for p in prog]
        self.assertEqual(done, sorted(done), "progress went backwards")
        self.assertFalse(any(p.done for p in prog[:-1]))
        ev = self.received("report.bin")
        self.assertEqual(ev.peer_id, self.a.fields["id"])
        self.assertEqual(ev.error, "")
        self.assertEqual(ev.sha256, sha)
        self.assertEqual(ev.size, 5 * MIB + 123)
        self.assertEqual(ev.path, os.path.join(self.b_files, "report.bin"))
        self.assertEqual(sha_of(ev.path), sha)
        self.assertEqual(entries(self.b_files), ["report.bin"])  # no temporaries left
        self.assertEqual(os.stat(self.b_files).st_mode & 0o777, 0o700)

    def test_256_mib_verified_end_to_end(self):
        src = os.path.join(self.dir, "big.bin")
        size = 256 * MIB
        sha = make_file(src, size, seed=2)
        prog = self.send(src, remote_name="big-copy.bin", timeout=600)
        self.assertTrue(prog[-1].done)
        self.assertEqual((prog[-1].bytes_done, prog[-1].sha256), (size, sha))
        self.assertGreater(len(prog), 2)  # progress along the way, not only the end
        ev = self.received("big-copy.bin")
        self.assertEqual((ev.error, ev.size, ev.sha256), ("", size, sha))
        self.assertEqual(sha_of(ev.path), sha)
        os.unlink(src)
        os.unlink(ev.path)

    def test_empty_file(self):
        src = os.path.join(self.dir, "empty")
        open(src, "wb").close()
        prog = self.send(src)
        self.assertTrue(prog[-1].done)
        self.assertEqual(prog[-1].sha256, hashlib.sha256(b"").hexdigest())
        self.assertEqual(os.path.getsize(self.received("empty").path), 0)


class Refused(Pair):
    def test_bad_names_and_requests(self):
        src = os.path.join(self.dir, "ok.txt")
        make_file(src, 1000)
        inv = grpc.StatusCode.INVALID_ARGUMENT
        for name, why in (("../escape", "starts with '.'"), ("a/b", "contains '/'"),
                          ("/etc/passwd", "absolute path"), ("..", "starts with '.'"),
                          (".hidden", "starts with '.'"), ("x..y", "contains \"..\""),
                          ("tab\there", "control character"), ("x" * 256, "longer than 255")):
            self.refused(inv, "remote_name: ", why, path=src, remote_name=name)
        self.refused(inv, "path: required", path="")
        self.refused(inv, "path: its base name", path=self.dir + "/")
        with self.assertRaises(grpc.RpcError) as e:
            list(self.sa.SendFile(pb.SendFileRequest(path=src), timeout=10))
        self.assertEqual(e.exception.code(), inv)
        self.assertIn("peer_id: required", e.exception.details())
        with self.assertRaises(grpc.RpcError) as e:
            list(self.sa.SendFile(pb.SendFileRequest(peer_id="ab" * 16, path=src), timeout=10))
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.refused(grpc.StatusCode.NOT_FOUND, "path: cannot open", "no such file",
                     path=os.path.join(self.dir, "missing"))
        self.refused(inv, "not a regular file", path=self.dir, remote_name="dir")
        self.assertEqual(entries(self.b_files), [])

    def test_existing_file_kept_unless_overwrite(self):
        first = os.path.join(self.dir, "v1.txt")
        second = os.path.join(self.dir, "v2.txt")
        sha1 = make_file(first, 3 * MIB, seed=3)
        sha2 = make_file(second, 2 * MIB, seed=4)
        self.send(first, remote_name="notes.txt")
        self.assertEqual(self.received("notes.txt").error, "")
        details = self.refused(grpc.StatusCode.ALREADY_EXISTS, "notes.txt already exists",
                               "overwrite", path=second, remote_name="notes.txt")
        ev = self.received("notes.txt")
        self.assertIn("already exists", ev.error)
        self.assertEqual(ev.path, "")
        self.assertIn("refused", details)
        stored = os.path.join(self.b_files, "notes.txt")
        self.assertEqual(sha_of(stored), sha1)
        prog = self.send(second, remote_name="notes.txt", overwrite=True)
        self.assertEqual(prog[-1].sha256, sha2)
        self.assertEqual(self.received("notes.txt").error, "")
        self.assertEqual(sha_of(stored), sha2)
        self.assertEqual(entries(self.b_files), ["notes.txt"])


class Interrupted(Pair):
    def start_big(self, name, size=128 * MIB):
        src = os.path.join(self.dir, name)
        make_file(src, size, seed=5)
        call = self.sa.SendFile(pb.SendFileRequest(peer_id=self.idb, path=src), timeout=120)
        it = iter(call)
        # Wait for bytes the peer acknowledged: the transfer is under way.
        while True:
            p = next(it).progress
            self.assertFalse(p.done, "the transfer finished before the test could interrupt it")
            if p.bytes_done > 0:
                return call, it

    def test_cancel_resets_and_the_receiver_cleans_up(self):
        call, _ = self.start_big("cancelled.bin")
        call.cancel()
        ev = self.received("cancelled.bin")
        self.assertIn("the sender cancelled the transfer", ev.error)
        self.assertEqual(ev.path, "")
        self.assertEqual(entries(self.b_files), [])  # no final file, no temporary

    def test_receiver_stopping_fails_the_call(self):
        call, it = self.start_big("stopped.bin")
        self.assertEqual(self.b.stop(), 0)  # SIGTERM: an orderly stop; its peers hear of it
        with self.assertRaises(grpc.RpcError) as e:
            for _ in it:
                pass
        self.assertIn(e.exception.code(), (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED),
                      e.exception.details())
        self.assertEqual(entries(self.b_files), [])

    def test_receiver_killed_fails_the_call_and_leaves_no_file(self):
        call, it = self.start_big("killed.bin")
        self.b.p.send_signal(signal.SIGKILL)  # no goodbye: the path just goes silent
        self.b.kill()
        with self.assertRaises(grpc.RpcError) as e:
            for _ in it:
                pass
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE, e.exception.details())
        self.assertIn("the QUIC connection to the peer ended", e.exception.details())
        self.assertNotIn("killed.bin", entries(self.b_files))
        # The killed agent could not remove its temporary; the next start does.
        self.b = self.start_receiver()
        self.assertEqual(entries(self.b_files), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
