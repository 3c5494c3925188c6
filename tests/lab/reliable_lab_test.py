"""Reliable messages across real NATs with 20% random loss: 10,000 messages arrive at the peer
exactly once and in order, and every Send returns once the peer acknowledged its message; on a
direct path (home NAT x home NAT) and over the rendezvous relay (symmetric x symmetric).

The loss is the lab's nftables rule (`numgen random mod 100 < 20 drop`, tests/lab/nat_rules.py)
in the sender's NAT, which every UDP packet between the two agents crosses in both directions:
DATA, ACKs, probes and keep-alives, relayed or not. Sends are kept WINDOW at a time in flight
(each waits for its acknowledgement, as a real caller's would); the receiver's MessageReceived
events must follow the sequence numbers the Sends returned, one each."""

import concurrent.futures
import contextlib
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import agentctl  # noqa: E402

AGENT = agentctl.DEFAULT_AGENT
DEADLINE = 30.0
LOSS = 20
COUNT = int(os.environ.get("RELIABLE_LAB_COUNT", "10000"))
WINDOW = 64


def payload(i):
    return b"msg %06d " % i + bytes([i % 251]) * (i % 300)


def wait_messages(log, peer_id, delivery, n, since, deadline):
    """The first n messages from peer_id at index `since` on (fewer after deadline)."""
    end = time.monotonic() + deadline
    with log.cond:
        while True:
            got = [e.message.data for e in log.events[since:] if e.HasField("message") and
                   e.message.peer_id == peer_id and e.message.delivery == delivery]
            left = end - time.monotonic()
            if len(got) >= n or left <= 0 or log.error is not None:
                return got
            log.cond.wait(min(left, 1.0))


class ReliableLab(unittest.TestCase):
    def setUp(self):
        self.setup = agentctl.test_setup()

    def run_case(self, kind, expect_path, extra=()):
        pb, pb_grpc, logs = self.setup
        with agentctl.served_lab(logs) as lab, contextlib.ExitStack() as stack:
            left, right = lab.site(kind, 1, loss=LOSS), lab.site(kind, 2, loss=0)
            a = agentctl.Agent(lab, left.hosts[0], AGENT, "sender", pb, pb_grpc, logs,
                               extra=extra)
            stack.callback(lambda: self.assertEqual(a.stop(), 0))
            b = agentctl.Agent(lab, right.hosts[0], AGENT, "receiver", pb, pb_grpc, logs,
                               extra=extra)
            stack.callback(lambda: self.assertEqual(b.stop(), 0))
            self.assertIsNotNone(a.wait_peer(b.id, DEADLINE), "sender never saw receiver")
            r = a.stub.Connect(pb.ConnectRequest(peer_id=b.id, wait=True,
                                                 timeout_ms=int(DEADLINE * 1000)),
                               timeout=DEADLINE + 5)
            self.assertIsNotNone(a.wait_path(b.id, expect_path, DEADLINE),
                                 "no %s path (Connect answered %s)"
                                 % (pb.PathKind.Name(expect_path), pb.PathKind.Name(r.path.kind)))
            since = b.events.mark()
            t0 = time.monotonic()
            seq_of = {}

            def send(i):
                resp = a.stub.Send(pb.SendRequest(peer_id=b.id, delivery=pb.DELIVERY_RELIABLE,
                                                  data=payload(i)), timeout=120)
                return i, resp.sequence

            with concurrent.futures.ThreadPoolExecutor(WINDOW) as pool:
                for fut in concurrent.futures.as_completed(
                        [pool.submit(send, i) for i in range(COUNT)]):
                    i, seq = fut.result()  # raises if any Send failed
                    self.assertNotIn(seq, seq_of)
                    seq_of[seq] = i
            sent_s = time.monotonic() - t0
            self.assertEqual(sorted(seq_of), list(range(1, COUNT + 1)))
            got = wait_messages(b.events, a.id, pb.DELIVERY_RELIABLE, COUNT, since, DEADLINE)
            # Exactly COUNT (a duplicate delivered before the last one would make more), each
            # the one its Send's sequence number says, so in order.
            self.assertEqual(len(got), COUNT, "%d messages arrived for %d sent" % (len(got), COUNT))
            for seq in range(1, COUNT + 1):
                if got[seq - 1] != payload(seq_of[seq]):
                    self.fail("message #%d is not the one sent as #%d" % (seq, seq))
            path = [p for p in a.status().peers if p.peer_id == b.id][0]
            sys.stderr.write("reliable_lab: %s: %d messages through %d%% loss in %.1f s "
                             "(%.0f msg/s), path %s, receiver data_dropped %d\n"
                             % (kind, COUNT, LOSS, sent_s, COUNT / sent_s,
                                pb.PathKind.Name(path.kind),
                                [p for p in b.status().peers if p.peer_id == a.id][0].data_dropped))

    def test_direct_home_nats(self):
        self.run_case("home", self.setup[0].PATH_KIND_DIRECT)

    def test_relay_symmetric_nats(self):
        self.run_case("hard", self.setup[0].PATH_KIND_RELAY, extra=[("--relay-after", "1s")])


if __name__ == "__main__":
    agentctl.test_main()
