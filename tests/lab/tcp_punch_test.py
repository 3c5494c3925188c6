"""TCP hole punching in the NAT lab, between real agents behind real NATs: both sides learn
their punching port's mapping with STUN over TCP (the rendezvous's responder, from that same
port), register it as a TCP candidate, and at the offer's start time connect to each other
from it (simultaneous open). Across open, easy and home NATs (home x home included: both
filter, so only a simultaneous open gets through) the connection comes up, is authenticated,
shows in GetStatus on both sides with the mapped endpoints, and carries Send(DELIVERY_TCP)
both ways; on a shared LAN it is the host candidates'; a symmetric (hard) NAT facing an easy
one connects too (the easy side accepts the hard side's connection from its new port). Behind
a hard NAT facing a home NAT it cannot work: both sides say so ("timed out"), while the UDP
path goes through the relay and still carries datagrams. Where UDP is blocked, TCP still
punches (the UDP path is the relay over the Register stream)."""

import contextlib
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import agentctl  # noqa: E402

AGENT = agentctl.DEFAULT_AGENT
DEADLINE = 20.0
# The agents' TCP punching gives up 10 s after the offer's start time.
TCP_VERDICT = 25.0


def tcp_verdict(agent, peer_id, since):
    """The first PathChanged for peer_id whose TCP state is decided (connected, or failed with
    a reason other than "connecting")."""
    return agent.events.wait_for(
        lambda e: e.HasField("path") and e.path.path.peer_id == peer_id and
        e.path.path.HasField("tcp") and
        (e.path.path.tcp.connected or e.path.path.tcp.detail not in ("", "connecting")),
        TCP_VERDICT, since=since)


class TcpPunching(unittest.TestCase):
    """One lab (internet, coturn, rendezvous) for every cell; fresh NAT sites per cell."""

    @classmethod
    def setUpClass(cls):
        cls.pb, cls.pb_grpc, cls.logs = agentctl.test_setup()
        cls.stack = contextlib.ExitStack()
        cls.lab = cls.stack.enter_context(agentctl.served_lab(cls.logs))

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def cell(self, kind_a, kind_b):
        """Two agents behind NATs of these kinds, paired through the rendezvous. Returns
        (a, b, a's TcpPath once decided, b's, a's Connect answer)."""
        pb, lab = self.pb, self.lab
        if kind_a == "same-lan":  # both behind one home NAT, on one LAN
            sa = sb = lab.site(kind_a, 1)
            self.addCleanup(lab.destroy_site, sa)
            ha, hb = sa.hosts
        else:
            sa, sb = lab.site(kind_a, 1), lab.site(kind_b, 2)
            self.addCleanup(lab.destroy_site, sb)
            self.addCleanup(lab.destroy_site, sa)
            ha, hb = sa.hosts[0], sb.hosts[0]
        a = agentctl.Agent(lab, ha, AGENT, "%s-a" % kind_a, pb, self.pb_grpc, self.logs)
        self.addCleanup(self.stop, a)
        b = agentctl.Agent(lab, hb, AGENT, "%s-b" % kind_b, pb, self.pb_grpc, self.logs)
        self.addCleanup(self.stop, b)
        self.assertEqual(a.missing + b.missing, [], "the agent lacks flags this test passes")
        # Each learns its punching port's mapping (STUN over TCP works where UDP is blocked),
        # and the other sees it as a TCP candidate before the pairing: a candidate registered
        # after the offer would not be tried.
        for me, site, other in ((a, sa, b), (b, sb, a)):
            ev = me.events.wait_for(lambda e: e.HasField("nat") and
                                    e.nat.HasField("tcp_public_endpoint"), DEADLINE)
            self.assertIsNotNone(ev, "%s never learned its TCP mapping" % me.name)
            mapped = ev.nat.tcp_public_endpoint
            self.assertEqual(mapped.ip, site.public_ip)
            seen = other.events.wait_for(
                lambda e: e.HasField("peer_list") and e.peer_list.joined and
                e.peer_list.peer.id == me.id and
                any(c.transport == pb.TRANSPORT_TCP and c.endpoint.ip == mapped.ip and
                    c.endpoint.port == mapped.port for c in e.peer_list.peer.candidates),
                DEADLINE)
            self.assertIsNotNone(seen, "%s never saw %s's TCP mapping as a candidate"
                                 % (other.name, me.name))
        ma, mb = a.events.mark(), b.events.mark()
        r = a.stub.Connect(pb.ConnectRequest(peer_id=b.id, wait=True, timeout_ms=15000),
                           timeout=DEADLINE)
        va, vb = tcp_verdict(a, b.id, ma), tcp_verdict(b, a.id, mb)
        self.assertIsNotNone(va, "a's TCP punching never ended")
        self.assertIsNotNone(vb, "b's TCP punching never ended")
        return a, b, va.path.path.tcp, vb.path.path.tcp, r

    def stop(self, agent):
        self.assertEqual(agent.stop(), 0, "%s did not exit cleanly" % agent.name)

    def talk(self, a, b):
        """Send(DELIVERY_TCP) both ways; each arrives as a TCP MessageReceived."""
        pb = self.pb
        for src, dst, text in ((a, b, b"tcp a to b"), (b, a, b"tcp b to a")):
            mark = dst.events.mark()
            src.stub.Send(pb.SendRequest(peer_id=dst.id, data=text, delivery=pb.DELIVERY_TCP),
                          timeout=DEADLINE)
            got = dst.events.wait_for(lambda e: e.HasField("message") and
                                      e.message.data == text, DEADLINE, since=mark)
            self.assertIsNotNone(got, "%r never arrived" % text)
            self.assertEqual((got.message.delivery, got.message.peer_id),
                             (pb.DELIVERY_TCP, src.id))

    def expect_connected(self, kind_a, kind_b, mapped=True):
        a, b, ta, tb, _ = self.cell(kind_a, kind_b)
        self.assertTrue(ta.connected, "a: %s" % ta.detail)
        self.assertTrue(tb.connected, "b: %s" % tb.detail)
        sta, stb = a.status(), b.status()
        if not mapped:
            self.talk(a, b)
            return sta, stb
        # Each side's remote end is the other's mapped punching port.
        self.assertEqual((sta.peers[0].tcp.remote.ip, sta.peers[0].tcp.remote.port),
                         (stb.tcp_public_endpoint.ip, stb.tcp_public_endpoint.port))
        self.assertEqual((stb.peers[0].tcp.remote.ip, stb.peers[0].tcp.remote.port),
                         (sta.tcp_public_endpoint.ip, sta.tcp_public_endpoint.port))
        self.assertEqual(sta.peers[0].tcp.local.port, sta.tcp_port)
        self.talk(a, b)
        return sta, stb

    def test_home_home(self):
        self.expect_connected("home", "home")

    def test_open_easy(self):
        self.expect_connected("open", "easy")

    def test_easy_home(self):
        self.expect_connected("easy", "home")

    def test_cgnat_home(self):
        self.expect_connected("cgnat", "home")

    def test_same_lan(self):
        # No hairpinning: the connection is the one between the LAN host candidates.
        sta, stb = self.expect_connected("same-lan", "same-lan", mapped=False)
        self.assertTrue(sta.peers[0].tcp.remote.ip.startswith("10.77.1."))

    def test_hard_easy(self):
        # A symmetric NAT gives the hard side's connection a port of its own, but the easy
        # NAT forwards it to its host's listener anyway: the accepted connection wins.
        sta, stb = self.expect_connected("hard", "easy", mapped=False)
        self.assertEqual(stb.peers[0].tcp.remote.ip, sta.tcp_public_endpoint.ip)
        self.assertNotEqual(stb.peers[0].tcp.remote.port, sta.tcp_public_endpoint.port)

    def test_udp_blocked_home(self):
        # No UDP at all on a's side: the UDP path is the relay over the Register stream, and
        # TCP punching still connects the two directly.
        a, b, ta, tb, r = self.cell("udp-blocked", "home")
        self.assertEqual(r.path.kind, self.pb.PATH_KIND_RELAY)
        self.assertTrue(ta.connected, "a: %s" % ta.detail)
        self.assertTrue(tb.connected, "b: %s" % tb.detail)
        self.talk(a, b)

    def test_hard_home_cannot(self):
        # A symmetric NAT gives each connection a port of its own: the peer's SYNs to the port
        # STUN saw reach nothing, and ours come from a port the home NAT does not expect.
        pb = self.pb
        a, b, ta, tb, r = self.cell("hard", "home")
        self.assertFalse(ta.connected)
        self.assertFalse(tb.connected)
        self.assertRegex(ta.detail, r"^timed out after 10 s")
        self.assertRegex(tb.detail, r"^timed out after 10 s")
        with self.assertRaises(Exception) as e:
            a.stub.Send(pb.SendRequest(peer_id=b.id, data=b"x", delivery=pb.DELIVERY_TCP),
                        timeout=DEADLINE)
        self.assertIn("no TCP path to %s (timed out after 10 s" % b.id, e.exception.details())
        self.assertEqual(a.status().peers[0].tcp.detail, ta.detail)
        # The UDP path still carries datagrams (relayed).
        self.assertEqual(r.path.kind, pb.PATH_KIND_RELAY)
        mark = b.events.mark()
        for _ in range(20):  # datagrams are not retransmitted: resend until one arrives
            a.stub.Send(pb.SendRequest(peer_id=b.id, data=b"udp still"), timeout=DEADLINE)
            if b.events.wait_for(lambda e: e.HasField("message") and
                                 e.message.data == b"udp still", 0.5, since=mark):
                break
        else:
            self.fail("no datagram over the relay")


if __name__ == "__main__":
    agentctl.test_main()
