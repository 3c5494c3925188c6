"""Checks that the lab's NATs behave as their names say, before anything relies on them:
mapping with a small independent STUN client against coturn on two public addresses (RFC
5780-style), filtering with an unsolicited packet from a third public host, hairpinning on the
shared LAN, UDP blocking, and the loss rule; for TCP (hole punching), mapping with STUN over
TCP from one shared port and filtering with an unsolicited SYN.

Negative checks ("this packet must not arrive") never wait on a timer alone: a marker sent
after the probe along the same path must arrive, and the probe must not have arrived before
it."""

import os
import socket
import sys
import time
import unittest

import netlab
import servers
import stun

EIM_KINDS = ("easy", "home", "cgnat")
KNOWN_PORT = 4000


def udp(ns, bind=("0.0.0.0", 0)):
    with netlab.netns_socket_scope(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(bind)
    s.settimeout(3.0)
    return s


def tcp(ns, port=0):
    """A TCP socket in ns that shares its port (as the agent's punching port does)."""
    with netlab.netns_socket_scope(ns):
        return stun.tcp_socket(port)


def recv_until(sock, marker, deadline=3.0, grace=0.3):
    """Payloads sock receives until marker arrives (plus grace seconds for stragglers sent
    before it). Raises TimeoutError if marker never arrives."""
    got = []
    end = time.monotonic() + deadline
    while marker not in got:
        sock.settimeout(max(0.001, end - time.monotonic()))
        try:
            got.append(sock.recvfrom(2048)[0])
        except socket.timeout:
            raise TimeoutError("marker %r not received within %.0fs (got %r)"
                               % (marker, deadline, got))
    end = time.monotonic() + grace
    while True:
        sock.settimeout(max(0.001, end - time.monotonic()))
        try:
            got.append(sock.recvfrom(2048)[0])
        except socket.timeout:
            return got


class NatSelfTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR")
        cls.lab = netlab.Lab(log=netlab.log_stderr)
        cls.coturn = servers.start_coturn(cls.lab, log_dir=out)
        cls.third = udp(cls.lab.inet, (netlab.THIRD_IP, 0))
        cls.known = udp(cls.lab.inet, (netlab.KNOWN_IP, KNOWN_PORT))

        with netlab.netns_socket_scope(cls.lab.inet):
            cls.known_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.known_tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        cls.known_tcp.bind((netlab.KNOWN_IP, KNOWN_PORT))
        cls.known_tcp.listen(8)
        cls.known_tcp.settimeout(3.0)

    @classmethod
    def tearDownClass(cls):
        cls.third.close()
        cls.known.close()
        cls.known_tcp.close()
        cls.lab.teardown()

    def site(self, kind, **kw):
        s = self.lab.site(kind, 1, **kw)
        self.addCleanup(self.lab.destroy_site, s)
        return s

    def mappings(self, sock):
        return (stun.binding(sock, (netlab.STUN1_IP, servers.STUN_PORT)),
                stun.binding(sock, (netlab.STUN2_IP, servers.STUN_PORT)))

    def unsolicited_arrives(self, sock):
        """Opens a flow from sock to the known host, then sends to the mapping the known host
        saw: first from the third host (unsolicited), then from the known host (the marker).
        Returns (mapping the known host saw, whether the unsolicited packet arrived)."""
        sock.sendto(b"hello", (netlab.KNOWN_IP, KNOWN_PORT))
        while True:
            data, mapped = self.known.recvfrom(2048)
            if data == b"hello":
                break
        for _ in range(2):
            self.third.sendto(b"unsolicited", mapped)
        self.known.sendto(b"marker", mapped)
        got = recv_until(sock, b"marker")
        return mapped, b"unsolicited" in got

    def check_eim(self, site, host):
        s = udp(host)
        self.addCleanup(s.close)
        m1, m2 = self.mappings(s)
        local_port = s.getsockname()[1]
        self.assertIsNotNone(m1, "no STUN answer from %s" % netlab.STUN1_IP)
        self.assertEqual(m1, m2, "mapping varies by destination")
        self.assertEqual(m1, (site.public_ip, local_port), "mapping is not WAN:inside-port")
        return s, m1

    def check_tcp_eim(self, site, host):
        """STUN over TCP from one port to both coturn addresses, one after the other: the
        same mapping, WAN:inside-port (the punching port keeps its number through the NAT)."""
        s = tcp(host)
        port = s.getsockname()[1]
        m1 = stun.binding_tcp(s, (netlab.STUN1_IP, servers.STUN_PORT))
        m2 = stun.binding_tcp(tcp(host, port), (netlab.STUN2_IP, servers.STUN_PORT))
        self.assertIsNotNone(m1, "no STUN-over-TCP answer from %s" % netlab.STUN1_IP)
        self.assertEqual(m1, m2, "TCP mapping varies by destination")
        self.assertEqual(m1, (site.public_ip, port), "TCP mapping is not WAN:inside-port")
        return port

    def unsolicited_syn(self, site, host, port):
        """The inside host listens on `port` and opens a flow from it to the known host; the
        third host then connects to the port's mapping. Returns the third host's socket and
        the inside listener (non-blocking), after the known host's marker on the open flow
        arrived: whatever the NAT did with the SYN, it did before that."""
        listener = tcp(host, port)
        self.addCleanup(listener.close)
        listener.listen(8)
        flow = tcp(host, port)
        self.addCleanup(flow.close)
        flow.settimeout(3.0)
        flow.connect((netlab.KNOWN_IP, KNOWN_PORT))
        known, mapped = self.known_tcp.accept()
        self.addCleanup(known.close)
        self.assertEqual(mapped, (site.public_ip, port))
        with netlab.netns_socket_scope(self.lab.inet):
            third = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(third.close)
        third.bind((netlab.THIRD_IP, 0))
        third.setblocking(False)
        self.assertIn(third.connect_ex(mapped), (0, 115))  # EINPROGRESS
        known.sendall(b"marker")
        self.assertEqual(flow.recv(16), b"marker")
        listener.setblocking(False)
        return third, listener

    def check_tcp_full_cone(self, site):
        port = self.check_tcp_eim(site, site.hosts[0])
        third, listener = self.unsolicited_syn(site, site.hosts[0], port)
        listener.settimeout(3.0)
        conn, peer = listener.accept()  # a SYN from a host never contacted got through
        conn.close()
        self.assertEqual(peer[0], netlab.THIRD_IP)

    def check_tcp_filtered(self, site, nat):
        """The unsolicited SYN is dropped by `nat`'s filter: its drop counter moved, and the
        inside listener has nothing to accept."""
        before = netlab.counters(nat, "ip", "lab").get('iifname "wan" drop', 0)
        port = self.check_tcp_eim(site, site.hosts[0])
        third, listener = self.unsolicited_syn(site, site.hosts[0], port)
        after = netlab.counters(nat, "ip", "lab").get('iifname "wan" drop', 0)
        self.assertGreater(after, before, "the unsolicited SYN was not dropped by the filter")
        with self.assertRaises(BlockingIOError):
            listener.accept()

    def test_tcp_open(self):
        self.check_tcp_full_cone(self.site("open"))

    def test_tcp_easy(self):
        self.check_tcp_full_cone(self.site("easy"))

    def test_tcp_home(self):
        site = self.site("home")
        self.check_tcp_filtered(site, site.nats[0])

    def test_tcp_cgnat(self):
        site = self.site("cgnat")
        self.check_tcp_filtered(site, site.nats[0])  # the home NAT, behind the carrier's

    def test_tcp_udp_blocked(self):
        site = self.site("udp-blocked")  # TCP is not blocked: mapped and filtered as home
        self.check_tcp_filtered(site, site.nats[0])

    def test_tcp_hard(self):
        site = self.site("hard")
        for attempt in range(3):  # a random port repeats with probability ~1/28000
            s = tcp(site.hosts[0])
            port = s.getsockname()[1]
            m1 = stun.binding_tcp(s, (netlab.STUN1_IP, servers.STUN_PORT))
            m2 = stun.binding_tcp(tcp(site.hosts[0], port), (netlab.STUN2_IP, servers.STUN_PORT))
            self.assertIsNotNone(m1)
            self.assertIsNotNone(m2)
            self.assertEqual((m1[0], m2[0]), (site.public_ip, site.public_ip))
            if m1[1] != m2[1]:
                break
        else:
            self.fail("hard NAT gave one TCP port the same mapping to two destinations")

    def test_open(self):
        site = self.site("open")
        s, m = self.check_eim(site, site.hosts[0])
        mapped, arrived = self.unsolicited_arrives(s)
        self.assertEqual(mapped, m)
        self.assertTrue(arrived, "open host did not receive a packet from a new host")

    def test_easy(self):
        site = self.site("easy")
        s, m = self.check_eim(site, site.hosts[0])
        mapped, arrived = self.unsolicited_arrives(s)
        self.assertEqual(mapped, m, "the known host saw another mapping than STUN did")
        self.assertTrue(arrived, "easy NAT dropped a packet from a new host (filtering is not "
                        "endpoint-independent)")

    def test_home(self):
        site = self.site("home")
        s, m = self.check_eim(site, site.hosts[0])
        mapped, arrived = self.unsolicited_arrives(s)
        self.assertEqual(mapped, m)
        self.assertFalse(arrived, "home NAT let an unsolicited packet in")

    def test_cgnat(self):
        site = self.site("cgnat")
        s, m = self.check_eim(site, site.hosts[0])
        mapped, arrived = self.unsolicited_arrives(s)
        self.assertEqual(mapped, m)
        self.assertFalse(arrived, "home NAT behind the CGN let an unsolicited packet in")
        # The carrier NAT passed it (endpoint-independent filtering); the home NAT dropped it.
        home = netlab.counters(site.nats[0], "ip", "lab")
        self.assertGreater(home.get('iifname "wan" drop', 0), 0,
                           "the unsolicited packet never reached the home NAT")

    def test_hard(self):
        site = self.site("hard")
        for attempt in range(3):  # a random port repeats with probability ~1/28000
            s = udp(site.hosts[0])
            self.addCleanup(s.close)
            m1, m2 = self.mappings(s)
            self.assertIsNotNone(m1)
            self.assertIsNotNone(m2)
            self.assertEqual(m1[0], site.public_ip)
            self.assertEqual(m2[0], site.public_ip)
            if m1[1] != m2[1]:
                break
        else:
            self.fail("hard NAT gave the same port to two destinations three times")
        _, arrived = self.unsolicited_arrives(s)
        self.assertFalse(arrived, "hard NAT let an unsolicited packet in")

    def test_udp_blocked(self):
        site = self.site("udp-blocked")
        s = udp(site.hosts[0])
        self.addCleanup(s.close)
        self.assertIsNone(stun.binding(s, (netlab.STUN1_IP, servers.STUN_PORT), deadline=1.5),
                          "a STUN answer got through a UDP-blocked NAT")
        with netlab.netns_socket_scope(self.lab.inet):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((netlab.RDV_IP, servers.RDV_GRPC_PORT))
        listener.listen()
        with netlab.netns_socket_scope(site.hosts[0]):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(c.close)
        c.settimeout(3.0)
        c.connect((netlab.RDV_IP, servers.RDV_GRPC_PORT))
        conn, peer = listener.accept()
        conn.close()
        self.assertEqual(peer[0], site.public_ip, "TCP did not leave through the NAT")

    def test_same_lan(self):
        site = self.site("same-lan")
        h1, h2 = site.hosts
        s1, m1 = self.check_eim(site, h1)
        s2, m2 = self.check_eim(site, h2)
        _, arrived = self.unsolicited_arrives(s1)
        self.assertFalse(arrived, "the shared home NAT let an unsolicited packet in")
        # Host candidates work: the LAN is one bridge.
        lan2 = ("10.77.1.3", s2.getsockname()[1])
        s1.sendto(b"lan", lan2)
        self.assertEqual(s2.recvfrom(2048)[0], b"lan")
        # No hairpinning (documented choice): a packet to the other host's public mapping does
        # not come back in; the marker sent after it on the LAN does.
        s1.sendto(b"hairpin", m2)
        s1.sendto(b"marker", lan2)
        self.assertNotIn(b"hairpin", recv_until(s2, b"marker"))

    def check_loss(self, site, count=500, batch=50):
        """Sends count datagrams out of site, in batches small enough for the receiver's
        buffer; every one is either received by the known host or counted by a loss rule, and
        the dropped share is near 10%."""
        s = udp(site.hosts[0])
        self.addCleanup(s.close)
        received, dropped = set(), 0
        for first in range(0, count, batch):
            sent = min(count, first + batch)
            for i in range(first, sent):
                s.sendto(b"loss%d" % i, (netlab.KNOWN_IP, KNOWN_PORT))
            end = time.monotonic() + 5.0
            while len(received) + dropped < sent:
                left = end - time.monotonic()
                self.assertGreater(left, 0, "lost packets not accounted for: %d received, %d "
                                   "dropped by the loss rule, %d sent"
                                   % (len(received), dropped, sent))
                self.known.settimeout(min(left, 0.05))
                try:
                    data = self.known.recvfrom(2048)[0]
                    if data.startswith(b"loss"):
                        received.add(data)
                except socket.timeout:
                    dropped = self.loss_drops(site)
        share = dropped / count
        self.assertGreaterEqual(share, 0.03, "loss rule dropped only %.1f%%" % (100 * share))
        self.assertLessEqual(share, 0.25, "loss rule dropped %.1f%%" % (100 * share))

    def loss_drops(self, site):
        if site.kind == "open":
            family, table = site.inet_tables[0]
            c = netlab.counters(self.lab.inet, family, table)
        else:
            c = netlab.counters(site.nats[0], "ip", "lab")
        return sum(v for k, v in c.items() if "numgen" in k)

    def test_loss_easy(self):
        self.check_loss(self.site("easy", loss=10))

    def test_loss_open(self):
        self.check_loss(self.site("open", loss=10))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: the NAT lab needs root (network namespaces, nftables); "
              "running as uid %d" % os.geteuid())
        sys.exit(0)
    unittest.main(verbosity=2)
