"""Forgets a lab NAT's UDP state between two benchmark connects, over ctnetlink (the lab has no
`conntrack` tool): dumps the namespace's IPv4 conntrack table and deletes every UDP entry.

Why: two agents that connected a moment ago left pinholes for each other in their NATs (a home
NAT's address-and-port-dependent filter lets the peer in for minutes), so a second connect
between them is easier than a first one. Deleting the UDP entries puts the NATs back where they
were before the pair ever talked, while the endpoint-independent mappings that model a
router's long-lived port mapping (the nft `fullcone` map, refreshed by STUN) stay. TCP entries
stay too: the agents' gRPC streams to the rendezvous cross these NATs, and a hard NAT would
give a re-created TCP entry another port, breaking the stream."""

import errno
import socket
import struct

import netlab

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_GET = 1
IPCTNL_MSG_CT_DELETE = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER
CTA_TUPLE_ORIG = 1
CTA_TUPLE_PROTO = 2
CTA_PROTO_NUM = 1
NLMSG = struct.Struct("=IHHII")  # len, type, flags, seq, pid
NFGENMSG = struct.Struct("=BBH")  # family, version, res_id (big-endian, 0 here)
NLATTR = struct.Struct("=HH")


def _align(n):
    return (n + 3) & ~3


def _attrs(buf):
    """(type, value bytes, whole attribute bytes) for each netlink attribute in buf."""
    pos = 0
    while pos + NLATTR.size <= len(buf):
        alen, atype = NLATTR.unpack_from(buf, pos)
        if alen < NLATTR.size:
            return
        yield atype & NLA_TYPE_MASK, buf[pos + NLATTR.size:pos + alen], buf[pos:pos + alen]
        pos += _align(alen)


def _messages(data):
    pos = 0
    while pos + NLMSG.size <= len(data):
        mlen, mtype, _, seq, _ = NLMSG.unpack_from(data, pos)
        if mlen < NLMSG.size:
            return
        yield mtype, seq, data[pos + NLMSG.size:pos + mlen]
        pos += _align(mlen)


def _is_udp(tuple_attr):
    for t, v, _ in _attrs(tuple_attr):
        if t == CTA_TUPLE_PROTO:
            for pt, pv, _ in _attrs(v):
                if pt == CTA_PROTO_NUM and pv[:1] == bytes([socket.IPPROTO_UDP]):
                    return True
    return False


class _Netlink:
    def __init__(self, ns):
        with netlab.netns_socket_scope(ns):
            self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.s.bind((0, 0))
        self.s.settimeout(5.0)
        self.seq = 0

    def request(self, msg_type, flags, payload=b""):
        self.seq += 1
        body = NFGENMSG.pack(socket.AF_INET, 0, 0) + payload
        self.s.send(NLMSG.pack(NLMSG.size + len(body), (NFNL_SUBSYS_CTNETLINK << 8) | msg_type,
                               NLM_F_REQUEST | flags, self.seq, 0) + body)
        return self.seq

    def replies(self, seq):
        """Yields (type, payload) of the answers to request seq until DONE or the ack."""
        while True:
            for mtype, mseq, payload in _messages(self.s.recv(1 << 20)):
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise OSError(code, "ctnetlink: " + errno.errorcode.get(code, str(code)))
                    return
                yield mtype, payload

    def close(self):
        self.s.close()


def flush_udp(ns):
    """Deletes every IPv4 UDP conntrack entry in namespace ns. Returns how many went."""
    nl = _Netlink(ns)
    try:
        tuples = []
        seq = nl.request(IPCTNL_MSG_CT_GET, NLM_F_DUMP)
        for _, payload in nl.replies(seq):
            for t, v, whole in _attrs(payload[NFGENMSG.size:]):
                if t == CTA_TUPLE_ORIG and _is_udp(v):
                    tuples.append(whole)
        deleted = 0
        for whole in tuples:
            seq = nl.request(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, whole)
            try:
                for _ in nl.replies(seq):
                    pass
                deleted += 1
            except OSError as e:
                if e.errno != errno.ENOENT:  # expired between the dump and now
                    raise
        return deleted
    finally:
        nl.close()
