"""The rendezvous relay's forwarding rate, on loopback (no root needed).

Two synthetic agents register with a real peerlink-rendezvous over gRPC (signed Hello, as in
docs/protocol.md and rendezvous.proto), A asks to pair with B, and both Offers bring the
pairing secret. Two UDP sockets then RELAY_BIND as A and B; A blasts RELAY_DATA frames (a
DATA frame with a 1200-byte payload inside: 1304-byte datagrams, a fresh sequence number and
relay MAC each) for a fixed time, and a receiver process counts what arrives on B's socket.
Three phases, interleaved --repeats times:

  sender  A's frames to a socket nobody reads: what the Python sender alone can make
  direct  the same frames straight to B's socket: the raw loopback path, no relay
  relay   the same frames through the relay to B's socket

Reported per phase: datagrams/s sent and received, Mbit/s (UDP payload) received, loss, where
datagrams were dropped (the relay's or the receiver's socket overflowing, from /proc/net/udp),
CPU used by sender, relay and receiver, and the relay's CPU time per forwarded datagram (its
cost, independent of how fast the sender is; it includes the kernel's work for the relay's
receive and send calls). The sender is Python and may be the slowest part: the verdict says
which side limits.

    bench_relay.py [--duration 3] [--repeats 3] [--rates max,50000] [--out FILE]

The end of a phase is an event, not a timer: A sends an end marker after its data (resent
until seen), and the receiver reports its counts when the marker arrives; loopback and the
single-threaded relay keep order, so everything sent before the marker that was not dropped
has arrived by then."""

import argparse
import hashlib
import hmac
import json
import os
import queue
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.normpath(os.path.join(HERE, "..", ".."))

# ---- frames (docs/protocol.md) ---------------------------------------------------------------
DATA, RELAY_BIND, RELAY_BIND_ACK, RELAY_DATA = 0x22, 0x28, 0x29, 0x2A
HEADER = struct.Struct(">BB8s16sQ")  # type, version, pairing ID, sender ID, sequence number
MAC_LEN = 16
END_TAG = b"peerlink-bench-end:"
ALL_ZERO_ID = bytes(16)


def derive_keys(secret):
    """(frame key, relay key)."""
    return (hmac.new(secret, b"peerlink frame v1", hashlib.sha256).digest(),
            hmac.new(secret, b"peerlink relay v1", hashlib.sha256).digest())


class FrameMaker:
    """Frames of one side of a pairing, with its sequence numbers. The inner DATA frame of a
    blast is built once (the relay never looks inside); every RELAY_DATA gets the next sequence
    number and its own MAC, as a real agent's would."""

    def __init__(self, secret, pairing_hex, sender_hex):
        self.fkey, self.rkey = derive_keys(secret)
        self.pairing = bytes.fromhex(pairing_hex)
        self.sender = bytes.fromhex(sender_hex)
        self.seq = 0
        self._rmac = hmac.new(self.rkey, digestmod=hashlib.sha256)

    def _next(self):
        self.seq += 1
        return self.seq

    def frame(self, ftype, key, body):
        head = HEADER.pack(ftype, 1, self.pairing, self.sender, self._next()) + body
        return head + hmac.new(key, head, hashlib.sha256).digest()[:MAC_LEN]

    def relay_bind(self, txid):
        return self.frame(RELAY_BIND, self.rkey, struct.pack(">Q", txid))

    def inner_data(self, payload):
        return self.frame(DATA, self.fkey, struct.pack(">H", len(payload)) + payload)

    def relay_body(self, inner):
        return struct.pack(">H", len(inner)) + inner

    def relay_data(self, body):
        """RELAY_DATA around a prepared body (length + inner frame). The hot path."""
        self.seq += 1
        head = HEADER.pack(RELAY_DATA, 1, self.pairing, self.sender, self.seq) + body
        m = self._rmac.copy()
        m.update(head)
        return head + m.digest()[:MAC_LEN]


def parse_bind_ack(rkey, dgram):
    """The txid of a valid RELAY_BIND_ACK from the relay, else None."""
    if len(dgram) != HEADER.size + 27 + MAC_LEN:
        return None
    head, mac = dgram[:-MAC_LEN], dgram[-MAC_LEN:]
    if not hmac.compare_digest(hmac.new(rkey, head, hashlib.sha256).digest()[:MAC_LEN], mac):
        return None
    ftype, version, _, sender, _ = HEADER.unpack_from(head)
    if ftype != RELAY_BIND_ACK or version != 1 or sender != ALL_ZERO_ID:
        return None
    return struct.unpack_from(">Q", head, HEADER.size)[0]


# ---- processes -------------------------------------------------------------------------------
class Proc(netlab.LabProc):
    """A child on this machine (no namespace) whose stdout lines are read with deadlines."""

    def __init__(self, argv, name, log_dir, pass_fds=()):
        super().__init__(None, argv, name, log_dir, capture=True, pass_fds=pass_fds)

    def cpu_seconds(self):
        return cpu_seconds(self.p.pid)


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def udp_drops(port):
    """The kernel's drop counter of the IPv4 UDP socket bound to 127.0.0.1:port (receive
    buffer overflows), from /proc/net/udp."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[1] == want:
                return int(cols[-1])
    return 0


# ---- a synthetic agent on the Register stream ------------------------------------------------
def load_stubs(proto_dir, gen_dir):
    subprocess.run(
        ["protoc", "-I", proto_dir, "--python_out", gen_dir, "--grpc_python_out", gen_dir,
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
         "peerlink/v1/common.proto", "peerlink/v1/rendezvous.proto"], check=True)
    sys.path.insert(0, gen_dir)
    from peerlink.v1 import rendezvous_pb2, rendezvous_pb2_grpc  # noqa: E402
    return rendezvous_pb2, rendezvous_pb2_grpc


class SynthAgent:
    """An identity (P-256 key; ID = SHA-256(SPKI)[0:16]) and a Register stream fed from a
    queue, its responses read on a thread."""

    def __init__(self, target, name, pb, pb_grpc):
        import grpc
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        self.pb, self.name = pb, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.id = hashlib.sha256(self.spki).digest()[:16].hex()
        self.channel = grpc.insecure_channel(target)
        self.out, self.inq = queue.Queue(), queue.Queue()
        self.stream = pb_grpc.RendezvousStub(self.channel).Register(iter(self.out.get, None))
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        import grpc
        try:
            for resp in self.stream:
                self.inq.put(resp)
            self.inq.put(RuntimeError("%s: Register stream ended" % self.name))
        except grpc.RpcError as e:
            self.inq.put(RuntimeError("%s: Register stream: %s: %s"
                                      % (self.name, e.code().name, e.details())))

    def wait(self, field, deadline):
        """The next response carrying field (registry changes are skipped)."""
        end = time.monotonic() + deadline
        while True:
            try:
                resp = self.inq.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("%s: no %s within %.0fs" % (self.name, field, deadline))
            if isinstance(resp, Exception):
                raise resp
            if resp.WhichOneof("msg") == field:
                return getattr(resp, field)
            if resp.WhichOneof("msg") not in ("change",):
                raise RuntimeError("%s: got %s while waiting for %s"
                                   % (self.name, resp.WhichOneof("msg"), field))

    def _hello(self, nonce=b"", signature=b""):
        return self.pb.Hello(id=self.id, name=self.name, public_key=self.spki,
                             cert_fingerprint=hashlib.sha256(self.spki).hexdigest(),
                             version="bench", challenge=nonce, signature=signature)

    def register(self, deadline):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        self.out.put(self.pb.RegisterRequest(hello=self._hello()))
        nonce = self.wait("challenge", deadline).nonce
        sig = self.key.sign(b"peerlink-register-v1" + nonce + self.id.encode(),
                            ec.ECDSA(hashes.SHA256()))
        self.out.put(self.pb.RegisterRequest(hello=self._hello(nonce, sig)))
        return self.wait("registered", deadline)

    def pair(self, peer_id):
        self.out.put(self.pb.RegisterRequest(pair=self.pb.PairRequest(peer_id=peer_id)))

    def close(self):
        self.out.put(None)
        self.stream.cancel()
        self.channel.close()


def relay_bind(sock, maker, relay, deadline):
    """RELAY_BIND from sock until the relay acks it (retransmitted every 200 ms)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        txid = int.from_bytes(os.urandom(8), "big")
        sock.sendto(maker.relay_bind(txid), relay)
        resend = min(end, time.monotonic() + 0.2)
        while True:
            left = resend - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                break
            dgram, src = sock.recvfrom(2048)
            if src == relay and parse_bind_ack(maker.rkey, dgram) == txid:
                return
    raise TimeoutError("no RELAY_BIND_ACK from %s:%d within %.0fs" % (relay + (deadline,)))


# ---- the receiver process --------------------------------------------------------------------
def receiver_main(fd, min_len):
    """Counts datagrams of at least min_len bytes on socket fd; a shorter one carrying END_TAG
    and a token ends a phase: prints `token=T n=N bytes=B first=F last=L` (monotonic seconds of
    the first and last counted datagram) and starts counting again. Exits on b"QUIT"."""
    s = socket.socket(fileno=fd)
    buf = bytearray(4096)
    recv_into, mono = s.recv_into, time.monotonic
    n = nbytes = 0
    first = last = 0.0
    done = set()
    while True:
        k = recv_into(buf)
        if k >= min_len:
            if n == 0:
                first = mono()
            n += 1
            nbytes += k
            last = mono()
            continue
        msg = bytes(buf[:k])
        if msg == b"QUIT":
            return 0
        i = msg.find(END_TAG)
        if i < 0:
            continue
        token = msg[i + len(END_TAG):i + len(END_TAG) + 8].decode(errors="replace")
        if token in done:
            continue  # a resent marker of a phase already reported
        done.add(token)
        print("token=%s n=%d bytes=%d first=%.6f last=%.6f" % (token, n, nbytes, first, last),
              flush=True)
        n = nbytes = 0


# ---- the benchmark ---------------------------------------------------------------------------
class Bench:
    def __init__(self, args):
        self.args = args
        self.procs, self.agents, self.socks = [], [], []
        self.tmp = tempfile.mkdtemp(prefix="peerlink-bench-relay-")
        self.log_dir = args.logs or self.tmp

    def log(self, msg):
        print(msg, file=sys.stderr, flush=True)

    def setup(self):
        a = self.args
        self.rdv = Proc([a.rendezvous_bin, "--listen", "127.0.0.1:0", "--udp", "127.0.0.1:0",
                         "--stats-interval", "0"], "rendezvous", self.log_dir)
        self.procs.append(self.rdv)
        fields = dict(re.findall(r"(\w+)=(\S+)", self.rdv.read_line(a.deadline)))
        if "udp" not in fields:
            raise RuntimeError("the rendezvous serves no UDP relay: %s" % fields)
        host, port = fields["udp"].rsplit(":", 1)
        self.relay = (host, int(port))
        self.log("bench_relay: rendezvous grpc=%s relay=%s:%d (%s)"
                 % (fields["grpc"], host, self.relay[1], a.rendezvous_bin))
        pb, pb_grpc = load_stubs(a.proto_dir, self.tmp)
        A = SynthAgent(fields["grpc"], "bench-a", pb, pb_grpc)
        B = SynthAgent(fields["grpc"], "bench-b", pb, pb_grpc)
        self.agents += [A, B]
        A.register(a.deadline)
        B.register(a.deadline)
        A.pair(B.id)
        oa, ob = A.wait("offer", a.deadline), B.wait("offer", a.deadline)
        assert oa.pairing_id == ob.pairing_id and oa.pairing_secret == ob.pairing_secret
        self.maker_a = FrameMaker(oa.pairing_secret, oa.pairing_id, A.id)
        maker_b = FrameMaker(ob.pairing_secret, ob.pairing_id, B.id)
        self.sa, sb, self.sink = (self.udp_socket() for _ in range(3))
        relay_bind(self.sa, self.maker_a, self.relay, a.deadline)
        relay_bind(sb, maker_b, self.relay, a.deadline)
        self.b_addr = sb.getsockname()
        # The payload and the frames around it; markers are far shorter than data.
        self.body = self.maker_a.relay_body(self.maker_a.inner_data(os.urandom(a.payload)))
        self.dgram_len = len(self.maker_a.relay_data(self.body))
        self.receiver = Proc([sys.executable, os.path.abspath(__file__), "--_receiver",
                              str(sb.fileno()), str(self.dgram_len)], "receiver", self.log_dir,
                             pass_fds=(sb.fileno(),))
        self.procs.append(self.receiver)
        sb.close()  # the receiver has its own copy
        self.log("bench_relay: pairing %s bound; datagrams of %d bytes (inner payload %d)"
                 % (oa.pairing_id, self.dgram_len, a.payload))

    def udp_socket(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # The same receive buffer for B's socket in both paths (root may exceed rmem_max).
        try:
            s.setsockopt(socket.SOL_SOCKET, 33, self.args.rcvbuf)  # SO_RCVBUFFORCE
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.args.rcvbuf)
        s.bind(("127.0.0.1", 0))
        self.socks.append(s)
        return s

    def blast(self, dst, rate):
        """Sends RELAY_DATA frames to dst for --duration seconds, as fast as possible or paced
        at rate datagrams/s. Returns (sent, seconds)."""
        sendto, make, body = self.sa.sendto, self.maker_a.relay_data, self.body
        duration = self.args.duration
        batch = 64
        sent = 0
        t0 = time.monotonic()
        end = t0 + duration
        while True:
            for _ in range(batch):
                sendto(make(body), dst)
            sent += batch
            now = time.monotonic()
            if now >= end:
                return sent, now - t0
            if rate:
                ahead = t0 + sent / rate - now
                if ahead > 0.001:
                    time.sleep(min(ahead, end - now))  # pacing, not waiting for an event

    def end_marker(self, dst, token):
        """Sends the end marker to dst until the receiver reports the phase; returns the
        report's fields."""
        inner = self.maker_a.inner_data(END_TAG + token.encode())
        end = time.monotonic() + self.args.deadline
        while time.monotonic() < end:
            self.sa.sendto(self.maker_a.relay_data(self.maker_a.relay_body(inner)), dst)
            try:
                line = self.receiver.read_line(min(0.05, max(0.0, end - time.monotonic())))
            except TimeoutError:
                continue  # resend: the marker itself can be dropped by an overflowing queue
            f = dict(re.findall(r"(\w+)=(\S+)", line))
            if f.get("token") == token:
                return f
        raise TimeoutError("the receiver did not report phase %s within %.0fs"
                           % (token, self.args.deadline))

    def phase(self, kind, rate, rep):
        dst = {"sender": self.sink.getsockname(), "direct": self.b_addr,
               "relay": self.relay}[kind]
        token = os.urandom(4).hex()
        drops0 = {"relay": udp_drops(self.relay[1]), "receiver": udp_drops(self.b_addr[1])}
        cpu0 = (time.process_time(), self.rdv.cpu_seconds(), self.receiver.cpu_seconds())
        sent, secs = self.blast(dst, rate)
        cpu_send = time.process_time() - cpu0[0]
        if kind == "sender":
            # Nothing reaches the receiver; the sink's queue is emptied for the next round.
            received, rbytes, window = 0, 0, secs
            self.drain(self.sink)
        else:
            rep_f = self.end_marker(self.b_addr if kind == "direct" else self.relay, token)
            received, rbytes = int(rep_f["n"]), int(rep_f["bytes"])
            window = max(1e-9, float(rep_f["last"]) - float(rep_f["first"]))
        cpu_relay = self.rdv.cpu_seconds() - cpu0[1]
        cpu_recv = self.receiver.cpu_seconds() - cpu0[2]
        r = {
            "phase": kind, "rate": rate or "max", "repeat": rep, "seconds": round(secs, 3),
            "sent": sent, "received": received,
            "sent_per_s": round(sent / secs), "received_per_s": round(received / secs),
            "received_mbit_s": round(rbytes * 8 / secs / 1e6, 1),
            "goodput_mbit_s": round(received * self.args.payload * 8 / secs / 1e6, 1),
            "receive_window_s": round(window, 3),
            "loss_percent": (round(100.0 * (sent - received) / sent, 2)
                             if kind != "sender" else None),
            "dropped_at_relay_socket": udp_drops(self.relay[1]) - drops0["relay"],
            "dropped_at_receiver_socket": udp_drops(self.b_addr[1]) - drops0["receiver"],
            "cpu_percent": {"sender": round(100 * cpu_send / secs),
                            "relay": round(100 * cpu_relay / secs),
                            "receiver": round(100 * cpu_recv / secs)},
        }
        if kind == "relay":
            r["relay_cpu_us_per_datagram"] = round(1e6 * cpu_relay / max(1, received), 2)
        r["limited_by"] = self.verdict(r)
        return r

    def drain(self, s):
        s.setblocking(False)
        try:
            while True:
                s.recv(4096)
        except BlockingIOError:
            pass
        s.setblocking(True)

    @staticmethod
    def verdict(r):
        if r["phase"] == "sender":
            return "sender (alone)"
        lost = max(1, r["sent"] - r["received"])
        if r["sent"] - r["received"] <= r["sent"] * 0.001:
            return "sender (nothing lost: the path kept up)"
        if r["dropped_at_relay_socket"] >= 0.5 * lost:
            return "relay (its socket overflowed)"
        if r["dropped_at_receiver_socket"] >= 0.5 * lost:
            return "receiver (its socket overflowed)"
        return "unclear (loss not at either socket)"

    def run(self):
        a = self.args
        runs = []
        for rate in a.rates:
            for rep in range(a.repeats):
                for kind in ("sender", "direct", "relay"):
                    r = self.phase(kind, rate, rep)
                    runs.append(r)
                    self.log("bench_relay: %-6s rate=%-6s #%d sent %7d/s received %7d/s "
                             "(%5.0f Mbit/s) cpu s/r/r %d/%d/%d%% drops relay %d recv %d -> %s"
                             % (kind, r["rate"], rep, r["sent_per_s"], r["received_per_s"],
                                r["received_mbit_s"], r["cpu_percent"]["sender"],
                                r["cpu_percent"]["relay"], r["cpu_percent"]["receiver"],
                                r["dropped_at_relay_socket"], r["dropped_at_receiver_socket"],
                                r["limited_by"]))
        return runs

    def teardown(self):
        if getattr(self, "b_addr", None) and getattr(self, "receiver", None):
            try:
                self.sa.sendto(b"QUIT", self.b_addr)
            except OSError:
                pass
        for ag in self.agents:
            try:
                ag.close()
            except Exception:
                pass
        stats = None
        for p in reversed(self.procs):
            rc = p.stop()
            if p is getattr(self, "rdv", None):
                self.rdv_exit = rc
                with open(p.log_path) as f:
                    lines = [l for l in f if "event=relay_stats" in l]
                if lines:
                    stats = dict(re.findall(r"(\w+)=(\d+)", lines[-1].split("relay_stats", 1)[1]))
        for s in self.socks:
            s.close()
        if not self.args.logs:
            import shutil
            shutil.rmtree(self.tmp, ignore_errors=True)
        return stats


def summarize(runs):
    """Per (phase, rate): the median repeat by received (sender: sent) datagrams/s."""
    out = []
    keys = []
    for r in runs:
        k = (r["phase"], r["rate"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        rs = [r for r in runs if (r["phase"], r["rate"]) == k]
        metric = "sent_per_s" if k[0] == "sender" else "received_per_s"
        rs.sort(key=lambda r: r[metric])
        med = dict(rs[(len(rs) - 1) // 2])
        med["repeats"] = len(rs)
        med["range_per_s"] = [rs[0][metric], rs[-1][metric]]
        out.append(med)
    return out


def table(summary, meta):
    lines = ["Relay forwarding on loopback, %d-byte datagrams (inner payload %d), %.0f s per "
             "phase, median of %d, %d cores"
             % (meta["datagram_bytes"], meta["payload_bytes"], meta["duration_s"],
                meta["repeats"], meta["cores"])]
    head = ("phase", "rate", "sent/s", "recv/s", "Mbit/s", "loss%", "drop relay", "drop recv",
            "cpu snd/rly/rcv %", "relay us/dgram", "limited by")
    rows = []
    for r in summary:
        rows.append((r["phase"], str(r["rate"]), str(r["sent_per_s"]),
                     str(r["received_per_s"]) if r["phase"] != "sender" else "-",
                     "%.0f" % r["received_mbit_s"] if r["phase"] != "sender" else "-",
                     "%.2f" % r["loss_percent"] if r["loss_percent"] is not None else "-",
                     str(r["dropped_at_relay_socket"]), str(r["dropped_at_receiver_socket"]),
                     "%d/%d/%d" % (r["cpu_percent"]["sender"], r["cpu_percent"]["relay"],
                                   r["cpu_percent"]["receiver"]),
                     "%.2f" % r["relay_cpu_us_per_datagram"]
                     if "relay_cpu_us_per_datagram" in r else "-",
                     r["limited_by"]))
    widths = [max(len(h), *(len(x[i]) for x in rows)) for i, h in enumerate(head)]
    lines.append("  ".join(h.rjust(widths[i]) if 1 < i < 10 else h.ljust(widths[i])
                           for i, h in enumerate(head)).rstrip())
    for x in rows:
        lines.append("  ".join(c.rjust(widths[i]) if 1 < i < 10 else c.ljust(widths[i])
                               for i, c in enumerate(x)).rstrip())
    for rate in meta["rates"]:
        d = [r for r in summary if r["phase"] == "direct" and r["rate"] == (rate or "max")]
        rl = [r for r in summary if r["phase"] == "relay" and r["rate"] == (rate or "max")]
        if d and rl and d[0]["received_per_s"]:
            lines.append("relay/direct (rate %s): %.2f of the direct path's datagrams/s"
                         % (rate or "max", rl[0]["received_per_s"] / d[0]["received_per_s"]))
        if rl and rl[0].get("relay_cpu_us_per_datagram"):
            lines.append("relay cost: %.2f us CPU (user + kernel) per forwarded datagram: "
                         "about %.0f datagrams/s (%.0f Mbit/s) for one whole core"
                         % (rl[0]["relay_cpu_us_per_datagram"],
                            1e6 / rl[0]["relay_cpu_us_per_datagram"],
                            8 * meta["datagram_bytes"] / rl[0]["relay_cpu_us_per_datagram"]))
    if meta.get("relay_stats"):
        s = meta["relay_stats"]
        lines.append("rendezvous counters at exit: " + " ".join("%s=%s" % kv for kv in s.items()))
    return "\n".join(lines)


def default_binary():
    for p in (os.path.join(WORKSPACE, "bin", "peerlink-rendezvous"),
              os.path.join(WORKSPACE, "bazel-bin", "control", "rendezvous",
                           "peerlink-rendezvous")):
        if os.access(p, os.X_OK):
            return p
    return os.path.join(WORKSPACE, "bin", "peerlink-rendezvous")


def main(argv):
    if argv[:1] == ["--_receiver"]:
        return receiver_main(int(argv[1]), int(argv[2]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per phase (3)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of the three phases (3)")
    ap.add_argument("--rates", default=[0],
                    type=lambda s: [0 if x == "max" else int(x) for x in s.split(",")],
                    help="comma-separated datagrams/s, or max (default max)")
    ap.add_argument("--payload", type=int, default=1200, help="inner DATA payload bytes (1200)")
    ap.add_argument("--rcvbuf", type=int, default=4 << 20,
                    help="receive buffer of B's socket (default 4 MiB)")
    ap.add_argument("--deadline", type=float, default=20.0,
                    help="seconds for each setup step and each phase's end marker")
    ap.add_argument("--out", default="bench-relay.json", help="JSON results file")
    ap.add_argument("--logs", help="keep the rendezvous and receiver logs here")
    ap.add_argument("--rendezvous-bin", default=default_binary())
    ap.add_argument("--proto-dir", default=os.path.join(WORKSPACE, "proto"))
    args = ap.parse_args(argv)
    if not 1 <= args.payload <= 1200:
        ap.error("--payload: 1..1200 bytes (a DATA frame's limit)")
    if not os.access(args.rendezvous_bin, os.X_OK):
        ap.error("no executable %s (make build)" % args.rendezvous_bin)
    args.rendezvous_bin = os.path.abspath(args.rendezvous_bin)
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
    bench = Bench(args)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))  # runs the finally
    runs, stats = [], None
    try:
        bench.setup()
        runs = bench.run()
    finally:
        stats = bench.teardown()
    meta = {"duration_s": args.duration, "repeats": args.repeats, "rates": args.rates,
            "payload_bytes": args.payload, "datagram_bytes": bench.dgram_len,
            "cores": os.cpu_count(), "rendezvous_binary": args.rendezvous_bin,
            "relay_stats": stats, "rendezvous_exit": getattr(bench, "rdv_exit", None),
            "mbit_s": "UDP payload bits received per second of sending",
            "goodput": "inner payload bits received per second of sending"}
    summary = summarize(runs)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"meta": meta, "summary": summary, "runs": runs}, f, indent=2)
    print(table(summary, meta), flush=True)
    print("bench_relay: JSON in %s" % out, file=sys.stderr)
    return 0 if meta["rendezvous_exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
