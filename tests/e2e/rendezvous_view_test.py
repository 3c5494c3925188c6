"""Who sees whom through the real rendezvous: no network (nobody, until watched or paired),
networks, WatchPeers/UnwatchPeers, --broadcast, ListAgents' pages; and real agents with
--network and --watch, Connect to a peer they do not see, ListPeers' pages.

Absence is never waited for: streams keep order, so "x did not hear of z" is shown by the next
change x gets being about an agent that registered after z."""

import unittest

import grpc

import grpcio_test as g  # generates the agent stubs
import harness
import rendezvous_test as rt

rdv = rt.rdv
agent_pb2, agent_pb2_grpc = g.agent_pb2, g.agent_pb2_grpc
JOINED, LEFT = rdv.RegistryChange.KIND_JOINED, rdv.RegistryChange.KIND_LEFT


class Views(rt.RendezvousCase):
    def net_agent(self, name, network):
        a = self.agent(name, network=network)
        a.register()
        return a

    def change(self, a):
        c = a.wait("change")
        return c.kind, c.agent.id

    def test_no_network_sees_only_watched_and_paired(self):
        a = self.net_agent("a", "")
        b = self.net_agent("b", "")
        c = self.net_agent("c", "")
        a.send(watch=rdv.WatchPeers(peer_ids=[c.ident.id]))
        self.assertEqual(self.change(a), (JOINED, c.ident.id))  # nothing about b before it
        # Pairing brings the peer into view on both sides, before the offer.
        a.send(pair=rdv.PairRequest(peer_id=b.ident.id))
        self.assertEqual(self.change(a), (JOINED, b.ident.id))
        self.assertEqual(b.next("change").change.agent.id, a.ident.id)
        self.assertEqual(b.next("offer").WhichOneof("msg"), "offer")
        a.wait("offer")
        a.send(unwatch=rdv.UnwatchPeers(peer_ids=[c.ident.id]))
        self.assertEqual(self.change(a), (LEFT, c.ident.id))
        b.close()
        self.assertEqual(self.change(a), (LEFT, b.ident.id))
        # An unknown peer: PairError with its reason.
        a.send(pair=rdv.PairRequest(peer_id=b.ident.id))
        err = a.wait("pair_error")
        self.assertEqual(err.reason, rdv.PairError.REASON_UNKNOWN_PEER)

    def test_networks_are_separate(self):
        x = self.net_agent("x", "red")
        self.net_agent("y", "red")
        self.net_agent("z", "blue")
        w = self.net_agent("w", "red")
        self.assertEqual([self.change(x) for _ in range(2)],
                         [(JOINED, self.agents[1].ident.id), (JOINED, w.ident.id)])
        # The newcomer hears of its network only.
        self.assertEqual(sorted(self.change(w)[1] for _ in range(2)),
                         sorted([x.ident.id, self.agents[1].ident.id]))

    def test_bad_watch_and_network_end_the_stream(self):
        a = self.net_agent("a", "")
        a.send(watch=rdv.WatchPeers(peer_ids=["not-an-id"]))
        code, details = a.wait_end()
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("watch.peer_ids[0]", details)
        b = self.agent("b", network="with space")
        b.send(hello=b.hello())
        code, details = b.wait_end()
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("hello.network", details)

    def list_all(self, stub, size, network=""):
        ids, token, pages = [], "", 0
        while True:
            r = stub.ListAgents(rdv.ListAgentsRequest(page_size=size, page_token=token,
                                                      network=network), timeout=rt.DEADLINE)
            ids += [x.id for x in r.agents]
            pages += 1
            if not r.next_page_token:
                return ids, pages, r.total_size
            token = r.next_page_token

    def test_list_agents_pages(self):
        agents = [self.net_agent("p%d" % i, "odd" if i % 2 else "") for i in range(5)]
        ch = grpc.insecure_channel(self.target)
        self.addCleanup(ch.close)
        stub = rt.rendezvous_pb2_grpc.RendezvousStub(ch)
        self.assertEqual(self.list_all(stub, 2), ([a.ident.id for a in agents], 3, 5))
        self.assertEqual(self.list_all(stub, 0, "odd"),
                         ([agents[1].ident.id, agents[3].ident.id], 1, 2))
        for bad in ("nonsense", "0" * 24):
            with self.assertRaises(grpc.RpcError) as e:
                stub.ListAgents(rdv.ListAgentsRequest(page_token=bad), timeout=rt.DEADLINE)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("page_token", e.exception.details())


class Broadcast(rt.RendezvousCase):
    extra = ("--broadcast",)

    def test_everyone_sees_everyone(self):
        a = self.agent("a", network="")
        a.register()
        b = self.agent("b", network="red")
        b.register()
        c = a.wait("change")
        self.assertEqual((c.kind, c.agent.id), (JOINED, b.ident.id))


class RealAgents(unittest.TestCase):
    def setUp(self):
        self.rdv = harness.start_rendezvous(extra=["--udp", "127.0.0.1:0"])
        self.addr = self.rdv.fields["grpc"]
        self.procs = []

    def tearDown(self):
        for p in self.procs + [self.rdv]:
            self.assertEqual(p.stop(), 0, "%s did not exit cleanly" % p.name)

    def start(self, name, **kw):
        p = harness.start_agent(name, rendezvous=self.addr, **kw)
        self.procs.append(p)
        return p

    def stub(self, p):
        ch = grpc.insecure_channel(p.fields["control"])
        self.addCleanup(ch.close)
        return agent_pb2_grpc.AgentStub(ch)

    def test_watch_flag_and_connect_without_a_shared_network(self):
        b = self.start("beta", network="")
        a = self.start("alpha", network="", extra=["--watch", b.fields["id"].upper()])
        wa = g.EventWatcher(a.fields["control"])
        self.addCleanup(wa.close)
        wa.wait_peer(b.fields["id"])
        c = self.start("gamma", network="")
        wc = g.EventWatcher(c.fields["control"])
        self.addCleanup(wc.close)
        wc.wait_state(g.REGISTERED)
        sa = self.stub(a)
        # gamma is in nobody's view, yet Connect finds it through the rendezvous.
        r = sa.Connect(agent_pb2.ConnectRequest(peer_id=c.fields["id"], wait=True,
                                                timeout_ms=10000), timeout=15)
        self.assertEqual(r.path.kind, agent_pb2.PATH_KIND_DIRECT)
        peers = sorted(p.id for p in sa.ListPeers(agent_pb2.ListPeersRequest(), timeout=10).peers)
        self.assertEqual(peers, sorted([b.fields["id"], c.fields["id"]]))
        with self.assertRaises(grpc.RpcError) as e:
            sa.Connect(agent_pb2.ConnectRequest(peer_id="ab" * 16, wait=True, timeout_ms=10000),
                       timeout=15)
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("not registered", e.exception.details())

    def test_list_peers_pages(self):
        a = self.start("alpha", network="team")
        others = [self.start("peer%d" % i, network="team") for i in range(3)]
        wa = g.EventWatcher(a.fields["control"])
        self.addCleanup(wa.close)
        for p in others:
            wa.wait_peer(p.fields["id"])
        sa = self.stub(a)
        ids, token, pages = [], "", 0
        while True:
            r = sa.ListPeers(agent_pb2.ListPeersRequest(page_size=1, page_token=token), timeout=10)
            ids += [p.id for p in r.peers]
            pages += 1
            self.assertEqual(r.total_size, 3)
            token = r.next_page_token
            if not token:
                break
        self.assertEqual((ids, pages), (sorted(p.fields["id"] for p in others), 3))
        with self.assertRaises(grpc.RpcError) as e:
            sa.ListPeers(agent_pb2.ListPeersRequest(page_token="zz"), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
