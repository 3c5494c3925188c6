"""A datagram the agent's own host refuses to send fails the Send call, saying why, instead of
answering OK for a datagram that never left.

Two agents on public ("open") sites connect directly; then an nftables rule in the sender's
namespace drops its UDP output to the peer, so sendto fails with EPERM, exactly as a local
firewall would make it fail. Send must answer UNAVAILABLE naming the failed UDP send; with the
rule gone, Send works again on the same path."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import agentctl  # noqa: E402

AGENT = agentctl.DEFAULT_AGENT
DEADLINE = 20.0
TABLE = "plsendfail"


class SendFailure(unittest.TestCase):
    def test_locally_refused_datagram_fails_the_call(self):
        import grpc
        pb, pb_grpc, logs = agentctl.test_setup()
        with agentctl.served_lab(logs) as lab:
            left, right = lab.site("open", 1), lab.site("open", 2)
            a = agentctl.Agent(lab, left.hosts[0], AGENT, "sender", pb, pb_grpc, logs)
            b = agentctl.Agent(lab, right.hosts[0], AGENT, "receiver", pb, pb_grpc, logs)
            try:
                self.assertIsNotNone(a.wait_peer(b.id, DEADLINE), "sender never saw receiver")
                r = a.stub.Connect(pb.ConnectRequest(peer_id=b.id, wait=True,
                                                     timeout_ms=int(DEADLINE * 1000)),
                                   timeout=DEADLINE + 5)
                self.assertEqual(r.path.kind, pb.PATH_KIND_DIRECT)
                peer_ip = r.path.remote.ip

                lab.nft(left.hosts[0], "table inet %s {\n chain out {\n"
                        "  type filter hook output priority 0; policy accept;\n"
                        "  meta l4proto udp ip daddr %s drop\n }\n}\n" % (TABLE, peer_ip))
                with self.assertRaises(grpc.RpcError) as e:
                    a.stub.Send(pb.SendRequest(peer_id=b.id, data=b"dropped here"), timeout=5)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
                self.assertIn("UDP send to %s:%d failed" % (peer_ip, r.path.remote.port),
                              e.exception.details())
                self.assertIn("not permitted", e.exception.details())

                lab.sh(left.hosts[0], "nft delete table inet %s" % TABLE)
                mark = b.events.mark()
                a.stub.Send(pb.SendRequest(peer_id=b.id, data=b"through again"), timeout=5)
                got = b.events.wait_for(lambda ev: ev.HasField("message") and
                                        ev.message.data == b"through again", DEADLINE,
                                        since=mark)
                self.assertIsNotNone(got, "the datagram after the rule was removed never came")
            finally:
                self.assertEqual(a.stop(), 0)
                self.assertEqual(b.stop(), 0)


if __name__ == "__main__":
    agentctl.test_main()
