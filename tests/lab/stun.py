"""A tiny STUN Binding client (RFC 8489) for the lab's self-test: enough to learn the mapped
address a server saw, over UDP or TCP, nothing more. Independent of the product's STUN code on
purpose."""

import os
import select
import socket
import struct
import time

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
XOR_MAPPED_ADDRESS = 0x0020
MAPPED_ADDRESS = 0x0001


def request():
    """Returns (transaction id, Binding request bytes) with no attributes."""
    tid = os.urandom(12)
    return tid, struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC) + tid


def parse_response(data, tid):
    """The (ip, port) of a Binding success response for tid, or None if data is anything else.
    XOR-MAPPED-ADDRESS wins over the legacy MAPPED-ADDRESS."""
    if len(data) < 20:
        return None
    mtype, mlen, cookie = struct.unpack("!HHI", data[:8])
    if mtype != BINDING_SUCCESS or cookie != MAGIC or data[8:20] != tid or 20 + mlen > len(data):
        return None
    found = None
    off = 20
    while off + 4 <= 20 + mlen:
        atype, alen = struct.unpack("!HH", data[off:off + 4])
        val = data[off + 4:off + 4 + alen]
        off += 4 + ((alen + 3) & ~3)
        if len(val) < 8 or val[1] != 0x01:  # IPv4 only: the lab has no IPv6
            continue
        port, = struct.unpack("!H", val[2:4])
        addr, = struct.unpack("!I", val[4:8])
        if atype == XOR_MAPPED_ADDRESS:
            return socket.inet_ntoa(struct.pack("!I", addr ^ MAGIC)), port ^ (MAGIC >> 16)
        if atype == MAPPED_ADDRESS:
            found = socket.inet_ntoa(struct.pack("!I", addr)), port
    return found


def binding(sock, server, deadline=3.0, rto=0.25):
    """Sends Binding requests from sock to server, retransmitting every rto seconds, until a
    response arrives or deadline seconds pass. Returns (ip, port) or None (no answer)."""
    tid, req = request()
    end = time.monotonic() + deadline
    next_send = 0.0
    while True:
        now = time.monotonic()
        if now >= end:
            return None
        if now >= next_send:
            sock.sendto(req, server)
            next_send = now + rto
        r, _, _ = select.select([sock], [], [], min(end, next_send) - now)
        if r:
            data, _ = sock.recvfrom(2048)
            mapped = parse_response(data, tid)
            if mapped:
                return mapped


def tcp_socket(port=0):
    """A TCP socket that may share its port with others (SO_REUSEADDR and SO_REUSEPORT before
    bind, as the agent's punching port does) and closes with a reset, so the same address
    pair can connect again at once (no TIME_WAIT). Create it inside the wanted namespace."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.bind(("0.0.0.0", port))
    return s


def binding_tcp(sock, server, deadline=3.0):
    """One Binding transaction over a new TCP connection from sock (RFC 8489 6.2.2: the
    response is sized by its header). Returns (ip, port) or None (no connection or answer);
    closes sock."""
    tid, req = request()
    sock.settimeout(deadline)
    try:
        sock.connect(server)
        sock.sendall(req)
        data = b""
        while len(data) < 20 or len(data) < 20 + struct.unpack("!H", data[2:4])[0]:
            chunk = sock.recv(2048)
            if not chunk:
                return None
            data += chunk
        return parse_response(data, tid)
    except OSError:
        return None
    finally:
        sock.close()
