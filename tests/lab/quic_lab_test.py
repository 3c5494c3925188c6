"""The QUIC tunnel across real NATs: over the rendezvous relay (symmetric NATs on both sides;
UDP blocked on one side, so the relay carries it over the Register stream), and through a
relay -> direct switch in the middle of a transfer.

The switch: two agents on public sites, with nftables in the sender's host dropping UDP to and
from the receiver, so punching fails and the relay carries the path. QUIC messages stream from
the sender (each Send waits for the peer's acknowledgement); once some have gone through the
relay the rule is lifted, punching upgrades the path to direct, and the same QUIC connection
carries the rest: every message arrives once and in order, no Send fails, and neither side's
connection is established a second time (the switch is invisible to QUIC)."""

import contextlib
import hashlib
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import agentctl  # noqa: E402

AGENT = agentctl.DEFAULT_AGENT
DEADLINE = 30.0
TABLE = "plquicdirect"
KIB = 1024


def payload(i):
    """Message i: its number, then 256 KiB of bytes derived from it."""
    seed = hashlib.sha256(b"%d" % i).digest()
    return b"%08d" % i + seed * (256 * KIB // len(seed))


def matching(log, pred, n, since, deadline):
    """The first n events from index `since` on that satisfy pred (fewer after deadline)."""
    end = time.monotonic() + deadline
    with log.cond:
        while True:
            got = [e for e in log.events[since:] if pred(e)]
            left = end - time.monotonic()
            if len(got) >= n or left <= 0 or log.error is not None:
                return got[:n]
            log.cond.wait(left)


class QuicLab(unittest.TestCase):
    def setUp(self):
        self.setup = agentctl.test_setup()

    def agents(self, stack, lab, kind_a, kind_b, extra=()):
        """Sender and receiver on sites of the given kinds; both stop cleanly when `stack`
        closes (inside the lab, before it is torn down)."""
        pb, pb_grpc, logs = self.setup
        left, right = lab.site(kind_a, 1), lab.site(kind_b, 2)
        a = agentctl.Agent(lab, left.hosts[0], AGENT, "sender", pb, pb_grpc, logs, extra=extra)
        stack.callback(lambda: self.assertEqual(a.stop(), 0))
        b = agentctl.Agent(lab, right.hosts[0], AGENT, "receiver", pb, pb_grpc, logs,
                           extra=extra)
        stack.callback(lambda: self.assertEqual(b.stop(), 0))
        self.assertIsNotNone(a.wait_peer(b.id, DEADLINE), "sender never saw receiver")
        return left, right, a, b

    def quic_up(self, agent, peer_id, since=0):
        return agent.events.wait_for(lambda e: e.HasField("quic") and e.quic.peer_id == peer_id
                                     and e.quic.state.established, DEADLINE, since=since)

    def send(self, a, b, data, timeout=60):
        pb = self.setup[0]
        return a.stub.Send(pb.SendRequest(peer_id=b.id, delivery=pb.DELIVERY_QUIC_STREAM,
                                          data=data), timeout=timeout)

    def received(self, b, a, n, since, deadline=DEADLINE):
        """The first n QUIC messages from a at b since event index `since`."""
        pb = self.setup[0]
        got = matching(b.events, lambda e: e.HasField("message") and e.message.peer_id == a.id
                       and e.message.delivery == pb.DELIVERY_QUIC_STREAM, n, since, deadline)
        self.assertEqual(len(got), n, "only %d of %d messages arrived" % (len(got), n))
        return [e.message.data for e in got]

    def test_chat_through_the_relay(self):
        self.chat_relayed("hard", "hard")

    def test_chat_through_the_stream_relay(self):
        # UDP blocked on one side: that side's packets reach the rendezvous over its Register
        # stream (TCP), the other's over the UDP relay.
        self.chat_relayed("udp-blocked", "open")

    def chat_relayed(self, kind_a, kind_b):
        pb = self.setup[0]
        with agentctl.served_lab(self.setup[2]) as lab, contextlib.ExitStack() as stack:
            _, _, a, b = self.agents(stack, lab, kind_a, kind_b, extra=[("--relay-after", "1s")])
            r = a.stub.Connect(pb.ConnectRequest(peer_id=b.id, wait=True,
                                                 timeout_ms=int(DEADLINE * 1000)),
                               timeout=DEADLINE + 5)
            self.assertEqual(r.path.kind, pb.PATH_KIND_RELAY)
            self.assertIsNotNone(self.quic_up(a, b.id), "no QUIC over the relay at the sender")
            self.assertIsNotNone(self.quic_up(b, a.id), "no QUIC over the relay at the receiver")
            ma, mb = a.events.mark(), b.events.mark()
            big = os.urandom(2 * 1024 * KIB)
            for data in (b"hello through the relay", big):
                self.send(a, b, data)
            self.send(b, a, b"and back")
            self.assertEqual(self.received(b, a, 2, mb), [b"hello through the relay", big])
            self.assertEqual(self.received(a, b, 1, ma), [b"and back"])
            st = a.status()
            self.assertEqual([p.kind for p in st.peers], [pb.PATH_KIND_RELAY])
            self.assertTrue(st.peers[0].quic.established)

    def test_relay_to_direct_mid_transfer(self):
        pb = self.setup[0]
        with agentctl.served_lab(self.setup[2]) as lab, contextlib.ExitStack() as stack:
            left, right, a, b = self.agents(stack, lab, "open", "open",
                                            extra=[("--relay-after", "1s")])
            peer_ip = right.public_ip
            lab.nft(left.hosts[0], "table inet %s {\n"
                    " chain out { type filter hook output priority 0; policy accept;\n"
                    "  meta l4proto udp ip daddr %s drop\n }\n"
                    " chain in { type filter hook input priority 0; policy accept;\n"
                    "  meta l4proto udp ip saddr %s drop\n }\n}\n" % (TABLE, peer_ip, peer_ip))
            ma, mb = a.events.mark(), b.events.mark()
            r = a.stub.Connect(pb.ConnectRequest(peer_id=b.id, wait=True,
                                                 timeout_ms=int(DEADLINE * 1000)),
                               timeout=DEADLINE + 5)
            self.assertEqual(r.path.kind, pb.PATH_KIND_RELAY)
            self.assertIsNotNone(self.quic_up(a, b.id, ma))
            self.assertIsNotNone(self.quic_up(b, a.id, mb))

            sent, errors, upgraded, stop = [], [], threading.Event(), threading.Event()

            def sender():
                i = 0
                try:
                    # Until the path has been direct for a while: messages cross the switch.
                    while not stop.is_set() and i < 2000:
                        self.send(a, b, payload(i))
                        sent.append(i)
                        i += 1
                        if upgraded.is_set() and len(sent) >= upgraded.at + 8:
                            break
                except Exception as e:  # noqa: BLE001 - reported by the test thread
                    errors.append(e)

            t = threading.Thread(target=sender, daemon=True)
            t.start()
            # A few messages through the relay first.
            self.received(b, a, 4, mb, deadline=60)
            self.assertTrue(t.is_alive(), "the transfer ended before the switch: %s" % errors)
            relayed = len(sent)
            lab.sh(left.hosts[0], "nft delete table inet %s" % TABLE)
            ev = a.events.wait_for(lambda e: e.HasField("path") and e.path.path.peer_id == b.id
                                   and e.path.path.kind == pb.PATH_KIND_DIRECT, DEADLINE,
                                   since=ma)
            self.assertIsNotNone(ev, "the path never upgraded to direct")
            upgraded.at = len(sent)
            upgraded.set()
            t.join(timeout=120)
            stop.set()
            self.assertFalse(t.is_alive(), "the transfer did not finish after the switch")
            self.assertEqual(errors, [])
            self.assertGreater(len(sent), upgraded.at, "nothing was sent after the switch")
            got = self.received(b, a, len(sent), mb, deadline=60)
            self.assertEqual(got, [payload(i) for i in sent])
            # One QUIC connection all along, on both sides.
            for x, peer in ((a, b.id), (b, a.id)):
                ups = matching(x.events, lambda e: e.HasField("quic") and e.quic.peer_id == peer
                               and e.quic.state.established, 2, 0, 0)
                self.assertEqual(len(ups), 1, "%s re-established QUIC" % x.name)
            st = a.status()
            self.assertEqual([p.kind for p in st.peers], [pb.PATH_KIND_DIRECT])
            self.assertTrue(st.peers[0].quic.established)
            print("relay -> direct: %d messages of 256 KiB before the switch, %d in all"
                  % (relayed, len(sent)))


if __name__ == "__main__":
    agentctl.test_main()
