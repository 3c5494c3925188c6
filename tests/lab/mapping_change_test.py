"""A NAT mapping that changes under a running agent is noticed by its STUN re-check, reported
as a NatChanged event, and re-registered: a peer sees the new server-reflexive candidate.

The agent sits behind a symmetric ("hard") NAT; deleting the NAT's UDP conntrack entries makes
its next packets leave from a new random port, which is exactly what a NAT rebooting or
timing a mapping out does to a real agent."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import agentctl  # noqa: E402
import bench_conntrack  # noqa: E402

AGENT = agentctl.runfile("agent/peerlink-agent", "bin/peerlink-agent")
RENDEZVOUS = agentctl.runfile("control/rendezvous/peerlink-rendezvous",
                              "bin/peerlink-rendezvous")
DEADLINE = 20.0


def public(ev):
    ep = ev.nat.public_endpoint
    return "%s:%d" % (ep.ip, ep.port)


class MappingChange(unittest.TestCase):
    def test_new_mapping_is_reported_and_reregistered(self):
        pb, pb_grpc, logs = agentctl.test_setup()
        with agentctl.served_lab(logs, RENDEZVOUS) as lab:
            hard = lab.site("hard", 1)
            peer = lab.site("open", 2)
            a = agentctl.Agent(lab, hard.hosts[0], AGENT, "roamer", pb, pb_grpc, logs,
                               extra=[("--stun-recheck", "1s")])
            b = agentctl.Agent(lab, peer.hosts[0], AGENT, "watcher", pb, pb_grpc, logs)
            try:
                self.assertIsNotNone(a.wait_registered(DEADLINE), "roamer did not register")
                first = a.events.wait_for(
                    lambda e: e.HasField("nat") and e.nat.HasField("public_endpoint") and
                    e.nat.behavior == pb.NAT_BEHAVIOR_ENDPOINT_DEPENDENT, DEADLINE)
                self.assertIsNotNone(first, "no NatChanged with a symmetric-NAT verdict")
                old = public(first)
                mark = a.events.mark()

                # The NAT forgets every UDP mapping; the next re-check leaves from a new port.
                self.assertGreater(bench_conntrack.flush_udp(hard.nats[0]), 0)
                moved = a.events.wait_for(
                    lambda e: e.HasField("nat") and e.nat.HasField("public_endpoint") and
                    public(e) != old, DEADLINE, since=mark)
                self.assertIsNotNone(moved, "the new mapping was not reported (still %s)" % old)
                new = public(moved)
                self.assertEqual(new.split(":")[0], old.split(":")[0])  # same NAT, new port
                self.assertEqual(a.status().public_endpoint.port, moved.nat.public_endpoint.port)

                # Re-registered: the peer hears of the roamer's new candidate.
                seen = b.events.wait_for(
                    lambda e: e.HasField("peer_list") and e.peer_list.updated and
                    e.peer_list.peer.id == a.id and
                    any("%s:%d" % (c.endpoint.ip, c.endpoint.port) == new
                        for c in e.peer_list.peer.candidates), DEADLINE)
                self.assertIsNotNone(seen, "the peer never saw %s" % new)
                listed = [p for p in b.stub.ListPeers(pb.ListPeersRequest(), timeout=5).peers
                          if p.id == a.id]
                self.assertIn(new, ["%s:%d" % (c.endpoint.ip, c.endpoint.port)
                                    for c in listed[0].candidates])
            finally:
                self.assertEqual(a.stop(), 0)
                self.assertEqual(b.stop(), 0)


if __name__ == "__main__":
    agentctl.test_main()
