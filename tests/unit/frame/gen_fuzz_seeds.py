#!/usr/bin/env python3
# Usage: python3 tests/unit/frame/gen_fuzz_seeds.py tests/fuzz/corpus
# Generates the seed corpora for tests/fuzz/frame_fuzz.c and punch_fuzz.c from the layout in
# docs/protocol.md, written independently of the C encoder.
import hmac, hashlib, struct, os, sys, socket
out = sys.argv[1]
secret = bytes(range(32))
FK = hmac.new(secret, b"peerlink frame v1", hashlib.sha256).digest()
RK = hmac.new(secret, b"peerlink relay v1", hashlib.sha256).digest()
PAIR = bytes.fromhex("0123456789abcdef")
SELF = b"\x11" * 16
PEER = b"\x22" * 16
ZERO = b"\x00" * 16
PROBE, ACK, DATA, CLOSE, BIND, BINDACK, RDATA = 0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2A

def addr(ip=None, port=0):
    if ip is None:
        return b"\x00" * 19
    if ":" in ip:
        return b"\x06" + struct.pack(">H", port) + socket.inet_pton(socket.AF_INET6, ip)
    return b"\x04" + struct.pack(">H", port) + socket.inet_aton(ip) + b"\x00" * 12

def body(t, flags=0, txid=0, echo=0, obs=None, payload=b""):
    if t == PROBE: return bytes([flags]) + struct.pack(">QQ", txid, echo)
    if t == ACK: return bytes([flags]) + struct.pack(">QQ", txid, echo) + (obs or addr())
    if t in (DATA, RDATA): return struct.pack(">H", len(payload)) + payload
    if t == CLOSE: return b""
    if t == BIND: return struct.pack(">Q", txid)
    if t == BINDACK: return struct.pack(">Q", txid) + (obs or addr())

def frame(t, seq, sender=PEER, sign=True, **kw):
    m = bytes([t, 1]) + PAIR + sender + struct.pack(">Q", seq) + body(t, **kw)
    key = RK if t in (BIND, BINDACK, RDATA) else FK
    mac = hmac.new(key, m, hashlib.sha256).digest()[:16] if sign else b"\x00" * 16
    return m + mac

def write(d, name, data):
    os.makedirs(os.path.join(out, d), exist_ok=True)
    with open(os.path.join(out, d, name), "wb") as f:
        f.write(data)

# frame_fuzz: mode byte + datagram.
fr = "frame"
write(fr, "probe", b"\x00" + frame(PROBE, 1, flags=1, txid=7, echo=99))
write(fr, "probe_ack_v4", b"\x00" + frame(ACK, 2, txid=7, echo=99, obs=addr("198.51.100.7", 40001)))
write(fr, "probe_ack_v6", b"\x00" + frame(ACK, 3, txid=7, obs=addr("2001:db8::1", 443)))
write(fr, "data", b"\x00" + frame(DATA, 4, payload=b"hello"))
write(fr, "data_empty", b"\x00" + frame(DATA, 5))
write(fr, "close", b"\x00" + frame(CLOSE, 6))
write(fr, "relay_bind", b"\x00" + frame(BIND, 7, txid=3))
write(fr, "relay_bind_ack", b"\x00" + frame(BINDACK, 1, sender=ZERO, txid=3, obs=addr("203.0.113.9", 9)))
write(fr, "relay_data", b"\x00" + frame(RDATA, 9, payload=frame(DATA, 8, payload=b"inner")))
write(fr, "relay_data_probe", b"\x00" + frame(RDATA, 11, payload=frame(PROBE, 10, txid=1)))
write(fr, "signed_bad_family", b"\x01" + frame(ACK, 2, sign=False, obs=b"\x05" + b"\x00" * 18))
write(fr, "signed_bad_length", b"\x01" + frame(DATA, 2, sign=False, payload=b"abc")[:-17] + b"\x00" * 16)
write(fr, "signed_relay_inner", b"\x03" + frame(RDATA, 2, sign=False, payload=frame(PROBE, 1, sign=False)))
write(fr, "signed_nested_relay", b"\x03" + frame(RDATA, 2, sign=False, payload=frame(BIND, 1, sign=False)))
write(fr, "stun", b"\x00" + bytes.fromhex("000100002112a442") + b"\x01" * 12)
write(fr, "quic_short", b"\x00" + b"\x41" + b"\x00" * 60)
write(fr, "truncated", b"\x00" + frame(PROBE, 1)[:40])

# punch_fuzz: records [flags][len16][datagram]; flags bit0 sign, bit1 peer sender, bit2 tcp,
# bits3-4 source (0 host, 1 srflx, 2 relay, 3 stranger), bits5-7 quarter seconds to advance.
def rec(data, sign=True, peer=True, tcp=False, src=0, adv=0):
    flags = (1 if sign else 0) | (2 if peer else 0) | (4 if tcp else 0) | (src << 3) | (adv << 5)
    return bytes([flags]) + struct.pack(">H", len(data)) + data

pu = "punch"
u = lambda t, seq, **kw: frame(t, seq, sign=False, **kw)
# Direct: the peer probes from its host candidate, then acks our first probes, sends data.
write(pu, "direct", rec(u(PROBE, 1, txid=50), adv=1) + rec(u(ACK, 2, txid=1)) + rec(u(ACK, 3, txid=2))
      + rec(u(DATA, 4, payload=b"hi")) + rec(u(PROBE, 5, flags=2, txid=51), adv=7)
      + rec(u(CLOSE, 6), adv=1))
# Peer-reflexive: a probe from an unknown address, then an ack to our triggered probe there.
write(pu, "prflx", rec(u(PROBE, 1, flags=1, txid=9), src=3, adv=1) + rec(u(ACK, 2, txid=1), src=3)
      + rec(u(DATA, 3, payload=b"x" * 100), src=3) + rec(u(DATA, 3, payload=b"x" * 100), src=3))
# Relay: time passes without a direct path, the relay answers the bind, the peer acks through it.
relay = b"".join(rec(u(DATA, 100 + i), sign=False, adv=7) for i in range(3))
relay += rec(u(BINDACK, 1, sender=ZERO, txid=5, obs=addr("198.51.100.1", 50001)), peer=False, src=2)
relay += rec(u(RDATA, 11, payload=u(ACK, 10, txid=6)), src=2)
relay += rec(u(RDATA, 13, payload=u(ACK, 12, txid=7)), src=2)
relay += rec(u(RDATA, 15, payload=u(DATA, 14, payload=b"via relay")), src=2)
relay += rec(u(RDATA, 17, payload=u(PROBE, 16, txid=70)), src=2, adv=7)
relay += rec(u(ACK, 18, txid=8), adv=1)
write(pu, "relay", relay)
# Over the stream: no bind answer, frames arrive over TCP.
tcp = b"".join(rec(b"", sign=False, adv=7) for _ in range(4))
tcp += rec(u(RDATA, 2, payload=u(PROBE, 1, txid=5)), tcp=True)
tcp += rec(u(RDATA, 4, payload=u(ACK, 3, txid=9)), tcp=True)
tcp += rec(u(DATA, 5, payload=b"not allowed on the stream"), tcp=True)
write(pu, "tcp", tcp)
# Garbage and forgeries (unsigned).
write(pu, "unsigned", rec(frame(PROBE, 1, sign=False), sign=False) + rec(b"\x20\x01", sign=False)
      + rec(frame(PROBE, 1, sender=SELF), sign=False) + rec(frame(PROBE, 2), sign=False)
      + rec(frame(PROBE, 2), sign=False))
write(pu, "empty", b"")
