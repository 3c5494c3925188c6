"""The grid driver's bookkeeping against fake agents (no namespaces, no root): how a cell is
classified, how datagrams are retried, how errors are reported, and that the report renders.
The real programs are exercised by grid_test."""

import argparse
import tempfile
import unittest

import grpc

import agentctl
import grid
import netlab
import report

pb, _ = agentctl.load_stubs(agentctl.DEFAULT_PROTO_DIR, tempfile.mkdtemp())


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


class FakeEvents:
    def __init__(self):
        self.events = []

    def mark(self):
        return len(self.events)

    def wait_for(self, pred, deadline, since=0):
        for e in self.events[since:]:
            if pred(e):
                return e
        return None


def path(peer_id, kind, remote="198.18.1.1:4000"):
    ip, port = remote.rsplit(":", 1)
    return pb.PeerPath(peer_id=peer_id, kind=kind,
                       local=pb.Endpoint(ip="10.77.1.2", port=5000),
                       remote=pb.Endpoint(ip=ip, port=int(port)), rtt_us=1500, connect_ms=42)


class FakeAgent:
    """Behaviour is set per test: connect_kind / status_kind / connect_error / drop."""

    def __init__(self, name, ident):
        self.name, self.id = name, ident
        self.missing = []
        self.events = FakeEvents()
        self.peer = None
        self.connect_kind = pb.PATH_KIND_DIRECT
        self.status_kind = pb.PATH_KIND_DIRECT
        self.connect_error = None
        self.drop = 0  # datagrams from this agent that get lost
        self.peer_path_up = True  # whether the peer's Connect gives this agent a path
        self.stub = self

    def wait_registered(self, deadline):
        return True

    def wait_peer(self, peer_id, deadline):
        return True

    def status(self):
        return self.GetStatus(None)

    def GetStatus(self, req, timeout=None):
        return pb.GetStatusResponse(nat_behavior=pb.NAT_BEHAVIOR_ENDPOINT_INDEPENDENT,
                                    peers=[path(self.peer.id, self.status_kind)])

    def Connect(self, req, timeout=None):
        if self.connect_error:
            raise self.connect_error
        if self.peer.peer_path_up:
            self.peer.events.events.append(pb.Event(unix_ms=1, path=pb.PathChanged(
                path=path(self.id, self.peer.status_kind))))
        return pb.ConnectResponse(path=path(req.peer_id, self.connect_kind))

    def Send(self, req, timeout=None):
        if self.drop:
            self.drop -= 1
            return pb.SendResponse()
        self.peer.events.events.append(pb.Event(message=pb.MessageReceived(
            peer_id=self.id, delivery=req.delivery, data=req.data)))
        return pb.SendResponse()


def make_grid():
    g = grid.Grid.__new__(grid.Grid)
    g.args = argparse.Namespace(register_wait=1, nat_wait=0, connect_timeout_ms=1000,
                                upgrade_wait=0, data_wait=0.2, resend=0)
    g.pb = pb
    return g


class GridLogic(unittest.TestCase):
    def setUp(self):
        self.a, self.b = FakeAgent("home-a", "aa"), FakeAgent("hard-b", "bb")
        self.a.peer, self.b.peer = self.b, self.a
        self.g = make_grid()

    def cell(self, ka, kb):
        r = {"a": ka, "b": kb, "expected": grid.expected(ka, kb), "outcome": "failed",
             "notes": []}
        try:
            self.g._run(r, self.a, self.b, ka, kb)
        except grid.CellError as e:
            r["notes"].append(str(e))
        r["ok"] = r["outcome"] in grid.acceptable(ka, kb)
        return r

    def test_expectations(self):
        self.assertEqual(len(grid.PAIRS), 22)
        for a, b, want in (("open", "hard", "direct"), ("easy", "hard", "direct"),
                           ("home", "home", "direct"), ("home", "cgnat", "direct"),
                           ("cgnat", "cgnat", "direct"), ("home", "hard", "relay"),
                           ("hard", "hard", "relay"), ("hard", "cgnat", "relay"),
                           ("open", "udp-blocked", "relay"),
                           ("udp-blocked", "udp-blocked", "relay"),
                           ("same-lan", "same-lan", "direct")):
            self.assertEqual(grid.expected(a, b), want, (a, b))
        self.assertEqual(grid.acceptable("hard", "home"), {"relay", "direct"})
        self.assertEqual(grid.acceptable("open", "udp-blocked"), {"relay"})

    def test_direct(self):
        r = self.cell("home", "home")
        self.assertEqual(r["outcome"], "direct")
        self.assertTrue(r["ok"])
        self.assertEqual(r["a_to_b"]["attempts"], 1)
        self.assertEqual(r["path_a"]["via"], "public")
        self.assertEqual(r["path_a"]["connect_ms"], 42)

    def test_relay_where_expected(self):
        for ag in (self.a, self.b):
            ag.connect_kind = ag.status_kind = pb.PATH_KIND_RELAY
        r = self.cell("home", "hard")
        self.assertEqual(r["outcome"], "relay")
        self.assertTrue(r["ok"])

    def test_relay_where_direct_expected_fails(self):
        for ag in (self.a, self.b):
            ag.connect_kind = ag.status_kind = pb.PATH_KIND_RELAY
        r = self.cell("home", "cgnat")
        self.assertEqual(r["outcome"], "relay")
        self.assertFalse(r["ok"])

    def test_upgrade_to_direct_is_seen(self):
        self.a.connect_kind = pb.PATH_KIND_RELAY
        self.a.events.events.append(pb.Event(path=pb.PathChanged(
            path=path("bb", pb.PATH_KIND_DIRECT))))
        r = self.cell("home", "home")
        self.assertEqual(r["outcome"], "direct")
        self.assertIn("upgraded_ms", r)

    def test_sides_disagree(self):
        self.b.status_kind = pb.PATH_KIND_RELAY
        r = self.cell("home", "home")
        self.assertEqual(r["outcome"], "relay")
        self.assertTrue(any("disagree" in n for n in r["notes"]))

    def test_answering_side_without_path(self):
        self.b.peer_path_up = False
        r = self.cell("home", "home")
        self.assertEqual(r["outcome"], "failed")
        self.assertIn("hard-b reported no path to home-a", r["notes"][-1])
        self.assertIn("a_to_b", r)
        self.assertNotIn("b_to_a", r)

    def test_unimplemented_connect_is_reported(self):
        self.a.connect_error = FakeRpcError(grpc.StatusCode.UNIMPLEMENTED, "not built yet")
        r = self.cell("open", "easy")
        self.assertEqual(r["outcome"], "failed")
        self.assertEqual(r["notes"][-1], "Connect: UNIMPLEMENTED: not built yet")

    def test_lost_datagrams_are_resent(self):
        self.a.drop = 2
        self.g.args.data_wait = 5
        r = self.cell("home", "home")
        self.assertEqual(r["a_to_b"]["attempts"], 3)
        self.assertEqual(r["b_to_a"]["attempts"], 1)

    def test_datagram_never_arrives(self):
        self.b.drop = 10 ** 6
        r = self.cell("home", "home")
        self.assertEqual(r["outcome"], "failed")
        self.assertIn("no datagram hard-b→home-a", r["notes"][0])

    def test_report_renders(self):
        cells = [dict(self.cell("home", "home"), loss=0)]
        self.a.connect_error = FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "tried x|y")
        cells.append(dict(self.cell("open", "easy"), loss=0))
        md = report.markdown({"loss_percent": 0, "seconds": 1.0,
                              "agent_lacks_flags": ["--stun"]}, cells, netlab.KINDS)
        self.assertIn("1/2 cells as expected", md)
        self.assertIn("lacks --stun", md)
        self.assertIn("tried x\\|y", md)  # a pipe must not split the table cell


if __name__ == "__main__":
    unittest.main(verbosity=2)
