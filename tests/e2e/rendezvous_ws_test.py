"""The rendezvous's --http side with clients we did not write: Debian's python3-websockets for
WS /ws/register/{id} (JSON signalling, signed with python3-cryptography's ECDSA P-256) and
WS /ws/watch, urllib for GET /health and /debug/list_workers.

A JSON agent and a real gRPC peerlink-agent are in one registry: the JSON side pairs with the
agent, both get the offer, the agent's probes reach the JSON side's UDP socket authenticated
under the offered secret, the JSON side answers them with PROBE_ACKs (docs/protocol.md's
frames) and the agent reports a direct path to it. Bad JSON and unknown message types get an
error and the socket stays usable; an oversized message closes it with 1009."""

import asyncio
import base64
import hmac
import json
import socket
import struct
import threading
import unittest
import urllib.error
import urllib.request

import websockets

import grpcio_test as g  # generates the agent stubs
import harness
import rendezvous_test as rt

agent_pb2 = g.agent_pb2
DEADLINE = 20.0
PROBE, PROBE_ACK = 0x20, 0x21


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text + "=" * (-len(text) % 4))


class Responder:
    """The JSON agent's UDP side: answers authenticated PROBEs with PROBE_ACKs."""

    def __init__(self, ident):
        self.ident = ident
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.fkey = self.pairing = None
        self.authenticated = threading.Event()
        self.seq = 1
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def arm(self, secret, pairing_hex):
        with self.lock:
            self.fkey = rt.keys(secret)[0]
            self.pairing = bytes.fromhex(pairing_hex)

    def _run(self):
        while True:
            try:
                data, src = self.sock.recvfrom(2048)
            except OSError:
                return
            with self.lock:
                fkey, pairing = self.fkey, self.pairing
            if fkey is None or len(data) != 67 or data[0] != PROBE:
                continue
            body, mac = data[:-16], data[-16:]
            if not hmac.compare_digest(rt.seal(fkey, body)[-16:], mac):
                continue
            if body[2:10] != pairing:
                continue
            self.sender = body[10:26]
            self.authenticated.set()
            flags, txid, echo = body[34], body[35:43], body[43:51]
            observed = struct.pack(">BH", 4, src[1]) + socket.inet_aton(src[0]) + bytes(12)
            self.seq += 1
            ack = rt.frame(PROBE_ACK, fkey, pairing, self.ident.raw_id, self.seq,
                           bytes([flags]) + txid + echo + observed)
            self.sock.sendto(ack, src)

    def close(self):
        self.sock.close()


class JsonAgent:
    def __init__(self, ws):
        self.ws = ws

    async def send(self, msg):
        await self.ws.send(json.dumps(msg))

    async def recv(self, key=None, deadline=DEADLINE):
        """The next message (with `key`, skipping others)."""
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), deadline))
            if key is None or key in msg:
                return msg
            if "error" in msg:
                raise AssertionError("waiting for %s: %s" % (key, msg["error"]))


class RendezvousWs(unittest.TestCase):
    def setUp(self):
        self.rdv = harness.start_rendezvous(extra=["--udp", "127.0.0.1:0", "--http",
                                                   "127.0.0.1:0"])
        self.http = self.rdv.fields["http"]
        self.procs = [self.rdv]

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()

    def get(self, path):
        with urllib.request.urlopen("http://%s%s" % (self.http, path), timeout=DEADLINE) as r:
            return r.status, json.loads(r.read())

    def ws(self, path, **kw):
        return websockets.connect("ws://%s%s" % (self.http, path), open_timeout=DEADLINE, **kw)

    async def register(self, ident, udp_port):
        ws = await self.ws("/ws/register/" + ident.id)
        j = JsonAgent(ws)
        hello = {"id": ident.id, "name": "py-json", "publicKey": b64(ident.spki),
                 "network": "e2e", "version": "py", "certFingerprint": "ab" * 32,
                 "candidates": [{"kind": "CANDIDATE_KIND_HOST",
                                 "endpoint": {"ip": "127.0.0.1", "port": udp_port}}]}
        await j.send({"hello": hello})
        nonce = unb64((await j.recv("challenge"))["challenge"]["nonce"])
        hello.update(challenge=b64(nonce), signature=b64(ident.sign(nonce)))
        await j.send({"hello": hello})
        reg = await j.recv("registered")
        self.assertEqual(reg["registered"]["self"]["id"], ident.id)
        return j

    def test_health(self):
        status, body = self.get("/health")
        self.assertEqual((status, body["status"]), (200, "SERVING"))

    def test_json_agent_and_grpc_agent_reach_a_path(self):
        agent = harness.start_agent("grpc-side", rendezvous=self.rdv.fields["grpc"])
        self.procs.append(agent)
        events = g.EventWatcher(agent.fields["control"])
        self.addCleanup(events.close)
        ident = rt.Identity()
        udp = Responder(ident)
        self.addCleanup(udp.close)

        async def run():
            async with self.ws("/ws/watch") as watch:
                snap = json.loads(await asyncio.wait_for(watch.recv(), DEADLINE))
                self.assertIn("workers", snap["snapshot"])
                j = await self.register(ident, udp.port)
                # The agent registered before us, in the same network: we hear of it.
                while True:
                    ch = (await j.recv("change"))["change"]
                    if ch["agent"]["id"] == agent.fields["id"]:
                        break
                # The dashboard hears of our join, with our transport.
                while True:
                    ch = json.loads(await asyncio.wait_for(watch.recv(), DEADLINE))["change"]
                    if ch["worker"]["id"] == ident.id:
                        break
                self.assertEqual((ch["kind"], ch["worker"]["transport"]),
                                 ("KIND_JOINED", "websocket"))
                _, workers = self.get("/debug/list_workers")
                by_id = {w["id"]: w for w in workers}
                self.assertEqual(by_id[ident.id]["addresses"], ["127.0.0.1:%d" % udp.port])
                self.assertEqual(by_id[agent.fields["id"]]["transport"], "grpc")
                self.assertIn("registered_at", by_id[ident.id])

                # Mistakes keep the socket usable.
                await j.ws.send("{not json")
                self.assertIn("not JSON", (await j.recv("error"))["error"]["message"])
                await j.send({"subscribe": {}})
                self.assertIn("unknown message type", (await j.recv("error"))["error"]["message"])

                await j.send({"pair": {"peerId": agent.fields["id"]}})
                offer = (await j.recv("offer"))["offer"]
                self.assertEqual(offer["peer"]["id"], agent.fields["id"])
                secret = unb64(offer["pairingSecret"])
                self.assertEqual(len(secret), 32)
                self.assertIn(offer["role"], ("ROLE_CONTROLLING", "ROLE_CONTROLLED"))
                self.assertEqual(offer["role"] == "ROLE_CONTROLLING", ident.id < agent.fields["id"])
                self.assertTrue(unb64(offer["peerPublicKey"]))
                self.assertIn("relay", offer)
                udp.arm(secret, offer["pairingId"])
                # The agent's side of the same pairing: its probes carry the offered pairing
                # ID and authenticate under the offered secret.
                self.assertTrue(await asyncio.get_running_loop().run_in_executor(
                    None, udp.authenticated.wait, DEADLINE), "no authenticated probe")
                self.assertEqual(udp.sender.hex(), agent.fields["id"])
                ev = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: events.wait_for(
                        lambda e: e.HasField("path") and e.path.path.peer_id == ident.id
                        and e.path.path.kind == agent_pb2.PATH_KIND_DIRECT, "direct path"))
                self.assertEqual(ev.path.path.pairing_id, offer["pairingId"])
                self.assertEqual(ev.path.path.remote.port, udp.port)
                await j.ws.close()
            # Our departure reaches the agent.
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: events.wait_peer(ident.id, joined=False))

        asyncio.run(run())

    def test_bad_hello_and_oversized(self):
        ident = rt.Identity()

        async def run():
            async with self.ws("/ws/register/" + ident.id) as ws:
                j = JsonAgent(ws)
                await j.send({"hello": {"id": "0" * 32}})
                self.assertIn("not the ID in the path", (await j.recv("error"))["error"]["message"])
                # A forged signature: refused as on gRPC (UNAUTHENTICATED), then closed.
                hello = {"id": ident.id, "name": "x", "publicKey": b64(ident.spki),
                         "certFingerprint": "ab" * 32}
                await j.send({"hello": hello})
                await j.recv("challenge")
                hello.update(challenge=b64(b"\0" * 32), signature=b64(ident.sign(b"\0" * 32)))
                await j.send({"hello": hello})
                err = (await j.recv("error"))["error"]
                self.assertEqual(err["code"], "UNAUTHENTICATED")
                with self.assertRaises(websockets.ConnectionClosed) as cm:
                    await asyncio.wait_for(ws.recv(), DEADLINE)
                self.assertEqual(cm.exception.rcvd.code, 1008)
            async with self.ws("/ws/register/" + ident.id, max_size=None) as ws:
                await ws.send(json.dumps({"pair": {"peerId": "a" * 70000}}))
                with self.assertRaises(websockets.ConnectionClosed) as cm:
                    await asyncio.wait_for(ws.recv(), DEADLINE)
                self.assertEqual(cm.exception.rcvd.code, 1009)

        asyncio.run(run())


class RendezvousWsToken(unittest.TestCase):
    def test_token_required_but_for_health(self):
        rdv = harness.start_rendezvous(extra=["--http", "127.0.0.1:0", "--token", "s3cret"])
        self.addCleanup(rdv.stop)
        base = "http://%s" % rdv.fields["http"]
        with urllib.request.urlopen(base + "/health", timeout=DEADLINE) as r:
            self.assertEqual(r.status, 200)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(base + "/debug/list_workers", timeout=DEADLINE)
        self.assertEqual(cm.exception.code, 401)
        req = urllib.request.Request(base + "/debug/list_workers",
                                     headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(req, timeout=DEADLINE) as r:
            self.assertEqual(json.loads(r.read()), [])

        async def run():
            # lws closes the connection without answering the upgrade.
            with self.assertRaises(websockets.exceptions.InvalidHandshake):
                await websockets.connect("ws://%s/ws/watch" % rdv.fields["http"],
                                         open_timeout=DEADLINE)
            async with websockets.connect("ws://%s/ws/watch?token=s3cret" % rdv.fields["http"],
                                          open_timeout=DEADLINE) as w:
                snap = json.loads(await asyncio.wait_for(w.recv(), DEADLINE))
                self.assertEqual(snap, {"snapshot": {"workers": []}})

        asyncio.run(run())


if __name__ == "__main__":
    unittest.main()
