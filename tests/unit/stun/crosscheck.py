"""Cross-checks the C STUN codec (through stun_tool) against an independent Python one built
from the RFC 8489 layouts with the standard library only (struct, zlib's CRC-32, ipaddress).
Usage: crosscheck.py STUN_TOOL. Addresses are data only; nothing is sent."""
import ipaddress
import os
import random
import struct
import subprocess
import sys
import zlib

TOOL = sys.argv[1]
MAGIC = 0x2112A442
FP_XOR = 0x5354554E


def tool(*args):
    return subprocess.run([TOOL, *args], check=True, capture_output=True, text=True).stdout.strip()


def build(mtype, txid, attrs, fingerprint=True):
    body = b"".join(struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4) for t, v in attrs)
    msg = struct.pack("!HHI", mtype, len(body) + (8 if fingerprint else 0), MAGIC) + txid + body
    if fingerprint:
        msg += struct.pack("!HHI", 0x8028, 4, zlib.crc32(msg) ^ FP_XOR)
    return msg


def decode(msg):
    """(type, txid, [(attr type, value)]); asserts the framing and a correct FINGERPRINT."""
    mtype, length, magic = struct.unpack("!HHI", msg[:8])
    assert magic == MAGIC and length + 20 == len(msg) and length % 4 == 0, msg.hex()
    attrs, off = [], 20
    while off < len(msg):
        t, n = struct.unpack("!HH", msg[off:off + 4])
        v = msg[off + 4:off + 4 + n]
        assert len(v) == n
        if t == 0x8028:
            assert off + 8 == len(msg), "FINGERPRINT not last"
            assert struct.unpack("!I", v)[0] == zlib.crc32(msg[:off]) ^ FP_XOR, "bad FINGERPRINT"
        attrs.append((t, v))
        off += 4 + n + (-n % 4)
    assert off == len(msg)
    return mtype, msg[8:20], attrs


def addr_value(ip, port, txid=None):
    """(XOR-)MAPPED-ADDRESS value; XOR form when txid is given."""
    a = ipaddress.ip_address(ip)
    raw, fam = a.packed, 1 if a.version == 4 else 2
    if txid is not None:
        key = struct.pack("!I", MAGIC) + txid
        raw = bytes(x ^ k for x, k in zip(raw, key))
        port ^= MAGIC >> 16
    return struct.pack("!BBH", 0, fam, port) + raw


def addr_decode(v, txid):
    fam, port = v[1], struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    key = struct.pack("!I", MAGIC) + txid
    raw = bytes(x ^ k for x, k in zip(v[4:], key))
    assert (fam, len(raw)) in ((1, 4), (2, 16))
    return str(ipaddress.ip_address(raw)), port


def attr(attrs, t):
    return [v for at, v in attrs if at == t]


rng = random.Random(8489)
ADDRS = ["127.0.0.1", "127.255.0.254", "::1", "2001:db8:1234:5678:11:2233:4455:6677"]


def check_request():
    for _ in range(20):
        txid = rng.randbytes(12)
        mtype, t, attrs = decode(bytes.fromhex(tool("request", txid.hex())))
        assert (mtype, t) == (0x0001, txid)
        assert [a for a, _ in attrs] == [0x8022, 0x8028] and attrs[0][1] == b"peerlink"


def check_success():
    for ip in ADDRS + ["::ffff:127.0.0.9"]:
        for _ in range(5):
            txid, port = rng.randbytes(12), rng.randrange(1, 65536)
            mtype, t, attrs = decode(bytes.fromhex(tool("success", txid.hex(), ip, str(port))))
            assert (mtype, t) == (0x0101, txid)
            want = "127.0.0.9" if ip.startswith("::ffff:") else str(ipaddress.ip_address(ip))
            assert addr_decode(attr(attrs, 0x0020)[0], txid) == (want, port)


def check_error():
    txid = rng.randbytes(12)
    mtype, _, attrs = decode(bytes.fromhex(tool("error", txid.hex(), "420")))
    v = attr(attrs, 0x0009)[0]
    assert mtype == 0x0111 and v[2] == 4 and v[3] == 20 and v[4:] == b"Unknown Attribute"


def check_respond():
    for ip in ADDRS:
        for fp in (True, False):
            txid, port = rng.randbytes(12), rng.randrange(1, 65536)
            req = build(0x0001, txid, [(0x8022, b"python")], fingerprint=fp)
            mtype, t, attrs = decode(bytes.fromhex(tool("respond", ip, str(port), req.hex())))
            assert (mtype, t) == (0x0101, txid) and attr(attrs, 0x8028)
            assert addr_decode(attr(attrs, 0x0020)[0], txid) == (str(ipaddress.ip_address(ip)), port)
    txid = rng.randbytes(12)
    req = build(0x0001, txid, [(0x0024, b"\0\0\0\1"), (0x802A, bytes(8)), (0x0025, b"")])
    mtype, t, attrs = decode(bytes.fromhex(tool("respond", "127.0.0.1", "9", req.hex())))
    assert (mtype, t) == (0x0111, txid)
    assert attr(attrs, 0x0009)[0][2:4] == b"\x04\x14"
    assert attr(attrs, 0x000A)[0] == b"\x00\x24\x00\x25"
    for mtype in (0x0011, 0x0101, 0x0111, 0x0003):
        assert tool("respond", "127.0.0.1", "9", build(mtype, txid, []).hex()) == "drop"
    bad = bytearray(build(0x0001, txid, []))
    bad[-1] ^= 1
    assert tool("respond", "127.0.0.1", "9", bytes(bad).hex()) == "drop"


def check_parse():
    for ip in ADDRS:
        txid, port = rng.randbytes(12), rng.randrange(1, 65536)
        ip = str(ipaddress.ip_address(ip))
        msg = build(0x0101, txid, [(0x0020, addr_value(ip, port, txid)), (0x8022, b"x")])
        assert tool("parse", msg.hex()) == f"type=0x0101 mapped={ip}:{port} fp=1 error=0 unknown=0"
        plain = build(0x0101, txid, [(0x0001, addr_value(ip, port))], fingerprint=False)
        assert tool("parse", plain.hex()) == f"type=0x0101 mapped={ip}:{port} fp=0 error=0 unknown=0"
        bad = bytearray(msg)
        bad[rng.randrange(24, 24 + len(addr_value(ip, port)))] ^= 1 << rng.randrange(8)  # the address
        assert tool("parse", bytes(bad).hex()) == "error"
    err = build(0x0111, txid, [(0x0009, b"\0\0\x04\x57Stale Nonce"), (0x0015, b"n")])
    assert tool("parse", err.hex()) == "type=0x0111 mapped=-:0 fp=1 error=487 unknown=1"


for check in (check_request, check_success, check_error, check_respond, check_parse):
    check()
    print(check.__name__, "ok")
