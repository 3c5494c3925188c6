"""The rendezvous's NAT-traversal side, end to end, against the real binary: agents played by
Python (grpcio for the Register stream, `cryptography` for the identity key, stdlib sockets for
STUN and relay frames built here from docs/protocol.md). Everything is written independently of
the C code it checks: signatures, frame MACs and STUN come from Python's own libraries.

Absence ("this was dropped") is never waited for with a sleep: a valid datagram or message is
sent after the bad one, and the first thing to arrive must be the valid one (loopback UDP and
gRPC streams keep order)."""

import hashlib
import hmac
import os
import queue
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
import zlib

import grpc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import harness

GEN = harness.tmpdir()
subprocess.run(
    ["protoc", "-I", os.path.dirname(harness.runfile("proto/peerlink/v1/rendezvous.proto")) + "/../..",
     "--python_out", GEN, "--grpc_python_out", GEN,
     "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
     "peerlink/v1/common.proto", "peerlink/v1/rendezvous.proto"], check=True)
sys.path.insert(0, GEN)

from peerlink.v1 import common_pb2, rendezvous_pb2 as rdv, rendezvous_pb2_grpc  # noqa: E402

DEADLINE = 20.0
CONTEXT = b"peerlink-register-v1"
SRFLX = common_pb2.CANDIDATE_KIND_SERVER_REFLEXIVE
HOST = common_pb2.CANDIDATE_KIND_HOST

# ---- peerlink frames (docs/protocol.md) ----------------------------------------------------
RELAY_BIND, RELAY_BIND_ACK, RELAY_DATA, DATA, PROBE = 0x28, 0x29, 0x2A, 0x22, 0x20
VERSION = 1
MAC_LEN = 16
HEADER = struct.Struct(">BB8s16sQ")  # type, version, pairing, sender, seq


def keys(secret):
    """(frame key, relay key) = HMAC-SHA256(secret, label)."""
    return (hmac.new(secret, b"peerlink frame v1", hashlib.sha256).digest(),
            hmac.new(secret, b"peerlink relay v1", hashlib.sha256).digest())


def seal(key, body):
    return body + hmac.new(key, body, hashlib.sha256).digest()[:MAC_LEN]


def frame(ftype, key, pairing, sender, seq, body=b""):
    return seal(key, HEADER.pack(ftype, VERSION, pairing, sender, seq) + body)


def data_frame(fkey, pairing, sender, seq, payload):
    return frame(DATA, fkey, pairing, sender, seq, struct.pack(">H", len(payload)) + payload)


def relay_data(rkey, fkey, pairing, sender, seq, payload):
    inner = data_frame(fkey, pairing, sender, seq, payload)
    return frame(RELAY_DATA, rkey, pairing, sender, seq, struct.pack(">H", len(inner)) + inner)


def relay_bind(rkey, pairing, sender, seq, txid):
    return frame(RELAY_BIND, rkey, pairing, sender, seq, struct.pack(">Q", txid))


def parse_bind_ack(rkey, dgram):
    """Checks the MAC and returns (pairing, sender, seq, txid, (ip, port))."""
    body, mac = dgram[:-MAC_LEN], dgram[-MAC_LEN:]
    assert hmac.compare_digest(hmac.new(rkey, body, hashlib.sha256).digest()[:MAC_LEN], mac)
    ftype, version, pairing, sender, seq = HEADER.unpack_from(body)
    assert (ftype, version) == (RELAY_BIND_ACK, VERSION), (ftype, version)
    txid, family, port = struct.unpack_from(">QBH", body, HEADER.size)
    addr = body[HEADER.size + 11:]
    assert family == 4 and len(addr) == 16 and addr[4:] == b"\0" * 12, (family, addr)
    return pairing, sender, seq, txid, (socket.inet_ntoa(addr[:4]), port)


# ---- STUN (RFC 8489), stdlib only --------------------------------------------------------------
MAGIC = 0x2112A442


def binding_request(txid):
    return struct.pack(">HHI", 0x0001, 0, MAGIC) + txid


def binding_mapped(resp, txid):
    """Checks a Binding success response to txid; returns its XOR-MAPPED-ADDRESS."""
    mtype, length, magic = struct.unpack_from(">HHI", resp)
    assert (mtype, magic, resp[8:20]) == (0x0101, MAGIC, txid), (hex(mtype), hex(magic))
    assert length == len(resp) - 20
    mapped, pos, fingerprint = None, 20, False
    while pos < len(resp):
        atype, alen = struct.unpack_from(">HH", resp, pos)
        value = resp[pos + 4:pos + 4 + alen]
        if atype == 0x0020:  # XOR-MAPPED-ADDRESS
            family, xport = struct.unpack_from(">xBH", value)
            assert family == 1
            ip = struct.unpack(">I", value[4:8])[0] ^ MAGIC
            mapped = (socket.inet_ntoa(struct.pack(">I", ip)), xport ^ (MAGIC >> 16))
        elif atype == 0x8028:  # FINGERPRINT: CRC-32 of what precedes, XOR 0x5354554e
            crc = zlib.crc32(resp[:pos]) ^ 0x5354554E
            assert struct.unpack(">I", value)[0] == crc
            fingerprint = True
        pos += 4 + ((alen + 3) & ~3)
    assert fingerprint, "no FINGERPRINT"
    return mapped


def stun_binding(addr, deadline=DEADLINE):
    """Sends a Binding request from a fresh socket; returns (our address, XOR-MAPPED-ADDRESS)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(deadline)
    txid = os.urandom(12)
    try:
        s.sendto(binding_request(txid), addr)
        resp, src = s.recvfrom(2048)
        assert src == addr, src
        return s.getsockname(), binding_mapped(resp, txid)
    finally:
        s.close()


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the connection ended after %d of %d bytes" % (len(data), n)
        data += chunk
    return data


def stun_over_tcp(sock):
    """One Binding transaction on a TCP connection (RFC 8489 6.2.2: messages back to back,
    sized by their headers); returns the XOR-MAPPED-ADDRESS."""
    txid = os.urandom(12)
    sock.sendall(binding_request(txid))
    head = recv_exactly(sock, 20)
    return binding_mapped(head + recv_exactly(sock, struct.unpack_from(">H", head, 2)[0]), txid)


# ---- an agent played by Python -------------------------------------------------------------
class Identity:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.id = hashlib.sha256(self.spki).digest()[:16].hex()
        self.raw_id = bytes.fromhex(self.id)

    def sign(self, nonce):
        return self.key.sign(CONTEXT + nonce + self.id.encode(), ec.ECDSA(hashes.SHA256()))


class Agent:
    """One Register stream: requests from a queue, responses read on a thread."""

    def __init__(self, target, name, ident=None, candidates=(), network="e2e"):
        self.ident = ident or Identity()
        self.name = name
        self.network = network  # one for all, so they see each other
        self.candidates = list(candidates)
        self.channel = grpc.insecure_channel(target)
        self.out = queue.Queue()
        self.inq = queue.Queue()
        self.status = None
        self.stream = rendezvous_pb2_grpc.RendezvousStub(self.channel).Register(self._requests())
        threading.Thread(target=self._pump, daemon=True).start()

    def _requests(self):
        while True:
            req = self.out.get()
            if req is None:
                return
            yield req

    def _pump(self):
        try:
            for resp in self.stream:
                self.inq.put(resp)
            self.status = (grpc.StatusCode.OK, "")
        except grpc.RpcError as e:
            self.status = (e.code(), e.details())
        self.inq.put(None)

    def send(self, **kw):
        self.out.put(rdv.RegisterRequest(**kw))

    def hello(self, challenge=b"", signature=b""):
        return rdv.Hello(id=self.ident.id, name=self.name, public_key=self.ident.spki,
                         cert_fingerprint=hashlib.sha256(b"cert " + self.ident.spki).hexdigest(),
                         version="test", candidates=self.candidates, challenge=challenge,
                         signature=signature, network=self.network)

    def next(self, what, deadline=DEADLINE):
        try:
            resp = self.inq.get(timeout=deadline)
        except queue.Empty:
            raise TimeoutError("%s: nothing (%s) within %.0fs" % (self.name, what, deadline))
        if resp is None:
            self.inq.put(None)
            raise AssertionError("%s: stream ended %s while waiting for %s"
                                 % (self.name, self.status, what))
        return resp

    def wait(self, field, deadline=DEADLINE):
        """The next response carrying `field`, skipping registry changes."""
        end = time.monotonic() + deadline
        while True:
            resp = self.next(field, max(0.0, end - time.monotonic()))
            if resp.WhichOneof("msg") == field:
                return getattr(resp, field)
            if resp.WhichOneof("msg") != "change":
                raise AssertionError("%s: got %s while waiting for %s" % (self.name, resp, field))

    def wait_end(self, deadline=DEADLINE):
        """Skips messages until the stream ends; returns (code, details)."""
        end = time.monotonic() + deadline
        while True:
            try:
                resp = self.inq.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("%s: stream did not end" % self.name)
            if resp is None:
                return self.status

    def register(self):
        self.send(hello=self.hello())
        nonce = self.wait("challenge").nonce
        self.send(hello=self.hello(nonce, self.ident.sign(nonce)))
        return self.wait("registered")

    def close(self):
        self.out.put(None)
        self.stream.cancel()
        self.channel.close()


def srflx(port):
    return common_pb2.Candidate(kind=SRFLX, endpoint=common_pb2.Endpoint(ip="127.0.0.1", port=port))


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(DEADLINE)
    return s


def hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


class RendezvousCase(unittest.TestCase):
    extra = ()

    def setUp(self):
        self.rdv = harness.start_rendezvous(extra=["--udp", "127.0.0.1:0", "--udp-alt",
                                                  "127.0.0.1:0"] + list(self.extra))
        self.target = self.rdv.fields["grpc"]
        self.udp = hostport(self.rdv.fields["udp"])
        self.udp_alt = hostport(self.rdv.fields["udp_alt"])
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            a.close()
        self.assertEqual(self.rdv.stop(), 0, "rendezvous did not exit cleanly")

    def agent(self, name, **kw):
        a = Agent(self.target, name, **kw)
        self.agents.append(a)
        return a

    def stats(self):
        """The counters the rendezvous logged when it stopped (stops it)."""
        self.assertEqual(self.rdv.stop(), 0)
        with open(self.rdv.log_path) as f:
            lines = [l for l in f if "event=relay_stats" in l]
        self.assertTrue(lines, "no relay_stats line in the log")
        return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1]))

    def pair(self, a, b):
        """a asks for b; returns (offer to a, offer to b)."""
        a.send(pair=rdv.PairRequest(peer_id=b.ident.id))
        return a.wait("offer"), b.wait("offer")


class Registration(RendezvousCase):
    def test_start_line_names_every_socket(self):
        self.assertRegex(self.rdv.line, r"^peerlink-rendezvous: grpc=127\.0\.0\.1:\d+ "
                                        r"udp=127\.0\.0\.1:\d+ udp_alt=127\.0\.0\.1:\d+ "
                                        r"stun_tcp=127\.0\.0\.1:\d+$")
        self.assertNotEqual(self.udp, self.udp_alt)
        # STUN over TCP listens on the --udp address and port by default, as coturn does.
        self.assertEqual(self.rdv.fields["stun_tcp"], self.rdv.fields["udp"])

    def test_challenge_then_signed_hello_registers(self):
        a = self.agent("alpha")
        a.send(hello=a.hello())
        nonce = a.wait("challenge").nonce
        self.assertEqual(len(nonce), 32)
        a.send(hello=a.hello(nonce, a.ident.sign(nonce)))
        reg = a.wait("registered")
        self.assertEqual(reg.self.id, a.ident.id)
        self.assertEqual(reg.udp_port, self.udp[1])
        self.assertEqual(reg.udp_alt_port, self.udp_alt[1])
        self.assertEqual(reg.stun_tcp_port, self.udp[1])
        # Another stream gets another nonce.
        b = self.agent("beta")
        b.send(hello=b.hello())
        self.assertNotEqual(b.wait("challenge").nonce, nonce)

    def test_signature_by_another_key_is_refused(self):
        a = self.agent("alpha")
        a.send(hello=a.hello())
        nonce = a.wait("challenge").nonce
        a.send(hello=a.hello(nonce, Identity().sign(nonce)))
        code, details = a.wait_end()
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("hello.signature", details)

    def test_signature_over_another_nonce_is_refused(self):
        a = self.agent("alpha")
        a.send(hello=a.hello())
        a.wait("challenge")
        other = os.urandom(32)
        a.send(hello=a.hello(other, a.ident.sign(other)))
        code, details = a.wait_end()
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("hello.challenge", details)

    def test_signed_hello_without_challenge_is_refused(self):
        a = self.agent("alpha")
        nonce = os.urandom(32)
        a.send(hello=a.hello(nonce, a.ident.sign(nonce)))
        code, details = a.wait_end()
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("hello.challenge", details)

    def test_stealing_a_registration_needs_the_key(self):
        a = self.agent("alpha")
        a.register()
        # Someone with alpha's public key but not its private key.
        thief = self.agent("thief", ident=Identity())
        thief.ident.spki, thief.ident.id = a.ident.spki, a.ident.id
        thief.send(hello=thief.hello())
        nonce = thief.wait("challenge").nonce
        thief.send(hello=thief.hello(nonce, thief.ident.key.sign(
            CONTEXT + nonce + a.ident.id.encode(), ec.ECDSA(hashes.SHA256()))))
        self.assertEqual(thief.wait_end()[0], grpc.StatusCode.UNAUTHENTICATED)
        # alpha is still registered on its own stream.
        stub = rendezvous_pb2_grpc.RendezvousStub(a.channel)
        ids = [x.id for x in stub.ListAgents(rdv.ListAgentsRequest(), timeout=DEADLINE).agents]
        self.assertEqual(ids, [a.ident.id])

    def test_newer_registration_replaces_older_and_its_pairings(self):
        a, b = self.agent("alpha"), self.agent("beta")
        a.register()
        b.register()
        self.pair(a, b)
        again = self.agent("alpha-again", ident=a.ident)
        again.register()
        code, details = a.wait_end()
        self.assertEqual(code, grpc.StatusCode.ABORTED)
        self.assertIn("replaced", details)
        # The old pairing went with the old stream: beta sees alpha leave and join again, and
        # pairs afresh with the new stream.
        kinds = []
        while len(kinds) < 2:
            ch = b.wait("change")
            if ch.agent.id == a.ident.id:
                kinds.append(ch.kind)
        self.assertEqual(kinds, [rdv.RegistryChange.KIND_LEFT, rdv.RegistryChange.KIND_JOINED])
        oa, ob = self.pair(again, b)
        self.assertEqual(oa.pairing_id, ob.pairing_id)

    def test_invalid_hello_is_invalid_argument_before_any_challenge(self):
        a = self.agent("alpha")
        h = a.hello()
        h.id = "0" * 32
        a.send(hello=h)
        code, details = a.wait_end()
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("hello.id", details)


class Pairing(RendezvousCase):
    def test_pair_request_offers_both_sides(self):
        a, b = self.agent("alpha"), self.agent("beta")
        a.register()
        b.register()
        before = int(time.time() * 1000)
        oa, ob = self.pair(a, b)
        self.assertEqual(oa.pairing_id, ob.pairing_id)
        self.assertRegex(oa.pairing_id, r"^[0-9a-f]{16}$")
        self.assertEqual(len(oa.pairing_secret), 32)
        self.assertEqual(oa.pairing_secret, ob.pairing_secret)
        self.assertEqual(oa.peer.id, b.ident.id)
        self.assertEqual(ob.peer.id, a.ident.id)
        self.assertEqual(oa.peer_public_key, b.ident.spki)
        self.assertEqual(ob.peer_public_key, a.ident.spki)
        lo = a if a.ident.id < b.ident.id else b
        roles = {a.ident.id: oa.role, b.ident.id: ob.role}
        self.assertEqual(roles[lo.ident.id], rdv.ROLE_CONTROLLING)
        self.assertEqual(sorted(roles.values()), [rdv.ROLE_CONTROLLING, rdv.ROLE_CONTROLLED])
        self.assertEqual(oa.start_unix_ms, ob.start_unix_ms)
        self.assertGreaterEqual(oa.start_unix_ms, before)
        self.assertLess(oa.start_unix_ms, before + 10000)
        for o in (oa, ob):
            self.assertEqual((o.relay.ip, o.relay.port), ("", self.udp[1]))
        # Asking again makes a fresh pairing.
        oa2, ob2 = self.pair(b, a)
        self.assertEqual(oa2.pairing_id, ob2.pairing_id)
        self.assertNotEqual(oa2.pairing_id, oa.pairing_id)
        self.assertNotEqual(oa2.pairing_secret, oa.pairing_secret)

    def test_unknown_peer_and_self_are_pair_errors_not_stream_errors(self):
        a, b = self.agent("alpha"), self.agent("beta")
        a.register()
        b.register()
        a.send(pair=rdv.PairRequest(peer_id="f" * 32))
        err = a.wait("pair_error")
        self.assertEqual(err.peer_id, "f" * 32)
        self.assertIn("not registered", err.message)
        a.send(pair=rdv.PairRequest(peer_id=a.ident.id))
        self.assertIn("itself", a.wait("pair_error").message)
        # The stream still works.
        oa, ob = self.pair(a, b)
        self.assertEqual(oa.pairing_id, ob.pairing_id)


class AutoPair(RendezvousCase):
    extra = ("--auto-pair",)

    def test_free_agents_with_public_endpoints_pair_oldest_first(self):
        a = self.agent("alpha")
        a.register()
        b = self.agent("beta", candidates=[srflx(40001)])
        b.register()
        c = self.agent("gamma", candidates=[srflx(40002)])
        c.register()
        # alpha has no public endpoint yet: beta and gamma pair.
        ob, oc = b.wait("offer"), c.wait("offer")
        self.assertEqual((ob.peer.id, oc.peer.id), (c.ident.id, b.ident.id))
        # alpha registers one; its partner comes when beta's stream ends and beta is gone...
        a.send(candidates=rdv.CandidatesUpdate(candidates=[srflx(40003)]))
        d = self.agent("delta", candidates=[srflx(40004)])
        d.register()
        oa, od = a.wait("offer"), d.wait("offer")
        self.assertEqual((oa.peer.id, od.peer.id), (d.ident.id, a.ident.id))
        # ...and when gamma's partner leaves, gamma is free again and pairs with the next free one.
        b.close()
        e = self.agent("epsilon", candidates=[srflx(40005)])
        e.register()
        oc2, oe = c.wait("offer"), e.wait("offer")
        self.assertEqual((oc2.peer.id, oe.peer.id), (e.ident.id, c.ident.id))
        self.assertEqual(oc2.pairing_id, oe.pairing_id)


class Stun(RendezvousCase):
    def test_both_udp_ports_answer_stun(self):
        for addr in (self.udp, self.udp_alt):
            local, mapped = stun_binding(addr)
            self.assertEqual(mapped, local)

    def test_stun_over_tcp_on_the_udp_port(self):
        # Several requests on one connection (agents keep theirs open: a NAT keeps a mapping while
        # a connection uses it), each answered with the connection's source address.
        with socket.create_connection(self.udp, timeout=DEADLINE) as s:
            for _ in range(3):
                self.assertEqual(stun_over_tcp(s), s.getsockname())
        # Anything but a Binding request ends the connection.
        with socket.create_connection(self.udp, timeout=DEADLINE) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass  # reset rather than closed: either way, no answer

    def test_garbage_is_dropped_and_counted(self):
        s = udp_socket()
        s.sendto(b"\x99garbage", self.udp)
        s.sendto(b"\x2a" + b"\0" * 60, self.udp)
        s.sendto(b"\x2a\x01not a frame", self.udp_alt)
        # STUN after the garbage: an answer means the garbage was read first.
        stun_binding(self.udp)
        stun_binding(self.udp_alt)
        s.close()
        st = self.stats()
        self.assertEqual(st["stun"], 2)
        self.assertEqual(st["drop_not_ours"], 2)
        self.assertEqual(st["drop_parse"], 1)


class Relay(RendezvousCase):
    def setUp(self):
        super().setUp()
        self.a, self.b = self.agent("alpha"), self.agent("beta")
        self.a.register()
        self.b.register()
        oa, ob = self.pair(self.a, self.b)
        self.pid = bytes.fromhex(oa.pairing_id)
        self.pid_hex = oa.pairing_id
        self.fkey, self.rkey = keys(oa.pairing_secret)
        self.relay_seq = 0
        self.sa, self.sb = udp_socket(), udp_socket()
        self.addCleanup(self.sa.close)
        self.addCleanup(self.sb.close)

    def bind(self, sock, agent, seq, txid=7):
        sock.sendto(relay_bind(self.rkey, self.pid, agent.ident.raw_id, seq, txid), self.udp)
        dgram, src = sock.recvfrom(2048)
        self.assertEqual(src, self.udp)
        pairing, sender, aseq, atxid, observed = parse_bind_ack(self.rkey, dgram)
        # The relay speaks as the zero ID, with sequence numbers of its own that only grow.
        self.assertEqual((pairing, sender, atxid), (self.pid, b"\0" * 16, txid))
        self.assertGreater(aseq, self.relay_seq)
        self.relay_seq = aseq
        self.assertEqual(observed, sock.getsockname())

    def data(self, agent, seq, payload):
        return relay_data(self.rkey, self.fkey, self.pid, agent.ident.raw_id, seq, payload)

    def test_udp_to_udp(self):
        self.bind(self.sa, self.a, 1)
        self.bind(self.sb, self.b, 1)
        d = self.data(self.a, 2, b"hello beta")
        self.sa.sendto(d, self.udp)
        got, src = self.sb.recvfrom(2048)
        self.assertEqual((got, src), (d, self.udp))  # forwarded unchanged
        # A replay, a forged MAC and a frame from an outsider are dropped; the next valid one
        # arrives first.
        self.sa.sendto(d, self.udp)
        forged = bytearray(self.data(self.a, 3, b"forged"))
        forged[-1] ^= 1
        self.sa.sendto(bytes(forged), self.udp)
        self.sa.sendto(relay_data(self.rkey, self.fkey, self.pid, Identity().raw_id, 3, b"x"),
                       self.udp)
        d4 = self.data(self.a, 4, b"after")
        self.sa.sendto(d4, self.udp)
        self.assertEqual(self.sb.recvfrom(2048)[0], d4)
        # And back.
        back = self.data(self.b, 1, b"hello alpha")
        self.sb.sendto(back, self.udp)
        self.assertEqual(self.sa.recvfrom(2048)[0], back)
        st = self.stats()
        self.assertEqual((st["binds"], st["fwd_udp"]), (2, 3))
        self.assertEqual((st["drop_replay"], st["drop_auth"], st["drop_not_member"]), (1, 1, 1))

    def test_data_before_bind_is_dropped(self):
        self.sa.sendto(self.data(self.a, 1, b"too early"), self.udp)
        self.bind(self.sa, self.a, 2)  # answered after the early frame was read
        st = self.stats()
        self.assertEqual(st["drop_unbound"], 1)

    def test_udp_to_stream_and_back(self):
        # beta's UDP is "blocked": it never binds, so alpha's frames reach it on its stream...
        self.bind(self.sa, self.a, 1)
        d = self.data(self.a, 2, b"to the stream")
        self.sa.sendto(d, self.udp)
        got = self.b.wait("relay")
        self.assertEqual((got.pairing_id, got.payload), (self.pid_hex, d))
        # ...and beta's frames sent on its stream reach alpha's UDP binding.
        back = self.data(self.b, 1, b"from the stream")
        self.b.send(relay=rdv.RelayDatagram(pairing_id=self.pid_hex, payload=back))
        got, src = self.sa.recvfrom(2048)
        self.assertEqual((got, src), (back, self.udp))
        # beta's stream cannot speak for alpha, nor for a pairing it is not in, nor replay.
        self.b.send(relay=rdv.RelayDatagram(pairing_id=self.pid_hex,
                                            payload=self.data(self.a, 9, b"spoof")))
        self.b.send(relay=rdv.RelayDatagram(pairing_id="0123456789abcdef", payload=back))
        self.b.send(relay=rdv.RelayDatagram(pairing_id=self.pid_hex, payload=back))
        back2 = self.data(self.b, 2, b"second")
        self.b.send(relay=rdv.RelayDatagram(pairing_id=self.pid_hex, payload=back2))
        self.assertEqual(self.sa.recvfrom(2048)[0], back2)

    def test_stream_to_stream(self):
        d = self.data(self.a, 1, b"tcp both ways")
        self.a.send(relay=rdv.RelayDatagram(pairing_id=self.pid_hex, payload=d))
        got = self.b.wait("relay")
        self.assertEqual((got.pairing_id, got.payload), (self.pid_hex, d))

    def test_pairing_ends_with_a_stream(self):
        self.bind(self.sa, self.a, 1)
        self.bind(self.sb, self.b, 1)
        self.b.close()
        # After beta is gone (alpha sees it leave), the pairing is gone: a bind is not answered
        # but a STUN request sent after it is.
        left = self.a.wait("change")
        while left.kind != rdv.RegistryChange.KIND_LEFT:
            left = self.a.wait("change")
        self.sa.sendto(relay_bind(self.rkey, self.pid, self.a.ident.raw_id, 2, 1), self.udp)
        self.sa.sendto(struct.pack(">HHI", 1, 0, MAGIC) + b"x" * 12, self.udp)
        got, _ = self.sa.recvfrom(2048)
        self.assertEqual(struct.unpack_from(">H", got)[0], 0x0101)
        st = self.stats()
        self.assertEqual(st["drop_unknown_pairing"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
