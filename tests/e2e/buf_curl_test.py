"""Drives the real agent and rendezvous only through `buf curl` (an independent gRPC client
that uses server reflection, like grpcurl)."""

import json
import os
import re
import select
import subprocess
import sys
import time
import unittest

import harness

BUF = os.path.join(os.environ.get("PEERLINK_CACHE", os.path.expanduser("~/.cache/peerlink")),
                   "npm/node_modules/.bin/buf")
SCHEMA = harness.runfile("tests/e2e/testdata/wrong_schema.proto")
# The real API as files, for calls whose reflection is refused (no or wrong token).
REAL_SCHEMA = os.path.dirname(harness.runfile("proto/buf.yaml"))


def buf_curl(addr, path="", data=None, headers=(), extra=(), timeout=20):
    argv = [BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--timeout", "15s"]
    for h in headers:
        argv += ["-H", h]
        if "--schema" not in extra:  # buf curl refuses reflection flags without reflection
            argv += ["--reflect-header", h]
    argv += list(extra)
    if data is not None:
        argv += ["-d", json.dumps(data)]
    argv.append("http://%s%s" % (addr, path))
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def call_ok(tc, addr, path, data, **kw):
    rc, out, err = buf_curl(addr, path, data, **kw)
    tc.assertEqual(rc, 0, "buf curl %s failed: %s" % (path, err))
    return json.loads(out) if out.strip() else {}


def call_error(tc, addr, path, data, **kw):
    rc, out, err = buf_curl(addr, path, data, **kw)
    tc.assertNotEqual(rc, 0, "%s unexpectedly succeeded: %s" % (path, out))
    m = re.search(r"\{.*\}", err, re.S)
    tc.assertIsNotNone(m, "no error JSON from buf curl: %r" % err)
    return json.loads(m.group(0))


def wait_stream_for(addr, path, data, needle, deadline=20.0):
    """Runs a server-streaming call and returns the output up to the first `needle`."""
    argv = [BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", json.dumps(data),
            "http://%s%s" % (addr, path)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    end = time.monotonic() + deadline
    try:
        while needle.encode() not in out:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %r on %s within %.0fs; got %r" % (needle, path, deadline, out))
            r, _, _ = select.select([p.stdout], [], [], left)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError("stream ended without %r: %r %r" % (needle, out, p.stderr.read()))
                out += chunk
        return out.decode()
    finally:
        p.kill()
        p.wait()


class AgentThroughBufCurl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rdv = harness.start_rendezvous()
        cls.agent = harness.start_agent("bufcurl", rendezvous=cls.rdv.fields["grpc"],
                                        extra=["--max-message", "2048"])
        cls.addr = cls.agent.fields["control"]
        wait_stream_for(cls.addr, "/peerlink.v1.Agent/WatchEvents", {"includeCurrent": True},
                        "RENDEZVOUS_STATE_REGISTERED")

    @classmethod
    def tearDownClass(cls):
        # Clean shutdown on SIGTERM within a bounded time is part of the contract.
        assert cls.agent.stop() == 0, "agent did not exit cleanly"
        assert cls.rdv.stop() == 0, "rendezvous did not exit cleanly"

    def test_list_services_both_reflection_versions(self):
        for proto in ("grpc-v1", "grpc-v1alpha"):
            rc, out, err = buf_curl(self.addr, extra=["--list-services", "--reflect-protocol", proto])
            self.assertEqual(rc, 0, err)
            for svc in ("peerlink.v1.Agent", "grpc.health.v1.Health",
                        "grpc.reflection.v1.ServerReflection"):
                self.assertIn(svc, out.split(), proto)

    def test_list_methods(self):
        rc, out, err = buf_curl(self.addr, extra=["--list-methods"])
        self.assertEqual(rc, 0, err)
        for m in ("GetStatus", "WatchEvents", "ListPeers", "Connect", "Benchmark", "SendFile"):
            self.assertIn("peerlink.v1.Agent/" + m, out.split())

    def test_get_status(self):
        st = call_ok(self, self.addr, "/peerlink.v1.Agent/GetStatus", {})
        self.assertRegex(st["id"], r"^[0-9a-f]{32}$")
        self.assertEqual(st["name"], "bufcurl")
        self.assertEqual(st["controlAddress"], self.addr)
        self.assertEqual(st["udpAddress"], self.agent.fields["udp"])
        self.assertEqual(st["rendezvousState"], "RENDEZVOUS_STATE_REGISTERED")
        self.assertEqual(st["id"], self.agent.fields["id"])

    def test_health(self):
        self.assertEqual(call_ok(self, self.addr, "/grpc.health.v1.Health/Check", {})["status"],
                         "SERVING")
        self.assertEqual(call_ok(self, self.addr, "/grpc.health.v1.Health/Check",
                                 {"service": "peerlink.v1.Agent"})["status"], "SERVING")
        e = call_error(self, self.addr, "/grpc.health.v1.Health/Check", {"service": "nope.Svc"})
        self.assertEqual(e["code"], "not_found")

    def test_reliable_send_to_unknown_peer_is_not_found(self):
        e = call_error(self, self.addr, "/peerlink.v1.Agent/Send",
                       {"peerId": "abc", "delivery": "DELIVERY_RELIABLE", "data": "aGk="})
        self.assertEqual(e["code"], "not_found")
        self.assertIn("peer_id: not connected to abc", e["message"])

    def test_connect_to_unknown_peer_is_not_found(self):
        # The agent no longer sees every registered agent (no broadcast): the rendezvous answers
        # the pair request for an unknown ID, so Connect learns it when it waits.
        e = call_error(self, self.addr, "/peerlink.v1.Agent/Connect",
                       {"peerId": "0" * 32, "wait": True, "timeoutMs": 10000})
        self.assertEqual(e["code"], "not_found")
        self.assertIn("peer_id", e["message"])

    def test_bad_value_is_invalid_argument_naming_field(self):
        e = call_error(self, self.addr, "/peerlink.v1.Agent/Connect", {})
        self.assertEqual(e["code"], "invalid_argument")
        self.assertIn("peer_id", e["message"])
        e = call_error(self, self.addr, "/peerlink.v1.Agent/Connect", {"peerId": "xyz"})
        self.assertEqual(e["code"], "invalid_argument")
        self.assertIn("peer_id", e["message"])

    def test_unknown_method_is_unimplemented(self):
        e = call_error(self, self.addr, "/peerlink.v1.Agent/NoSuchMethod", {},
                       extra=["--schema", SCHEMA])
        self.assertEqual(e["code"], "unimplemented")

    def test_garbage_request_is_internal_and_server_keeps_serving(self):
        # The test schema gives WatchEventsRequest a field 1 of the wrong wire type.
        e = call_error(self, self.addr, "/peerlink.v1.Agent/WatchEvents",
                       {"includeCurrent": "not a bool"}, extra=["--schema", SCHEMA])
        self.assertEqual(e["code"], "internal")
        self.assertIn("error parsing request", e["message"])
        call_ok(self, self.addr, "/peerlink.v1.Agent/GetStatus", {})

    def test_oversized_message_is_resource_exhausted(self):
        e = call_error(self, self.addr, "/peerlink.v1.Agent/Send",
                       {"peerId": "x", "data": "QUFB" * 1024})
        self.assertEqual(e["code"], "resource_exhausted")


class Token(unittest.TestCase):
    def test_token_required_and_checked(self):
        agent = harness.start_agent("tok", extra=["--token", "s3cret"])
        try:
            addr = agent.fields["control"]
            path = "/peerlink.v1.Agent/GetStatus"
            ok = call_ok(self, addr, path, {}, headers=["Authorization: Bearer s3cret"])
            self.assertEqual(ok["name"], "tok")
            e = call_error(self, addr, path, {}, headers=["Authorization: Bearer wrong"],
                           extra=["--schema", REAL_SCHEMA])
            self.assertEqual(e["code"], "unauthenticated")
            e = call_error(self, addr, path, {}, extra=["--schema", REAL_SCHEMA])
            self.assertEqual(e["code"], "unauthenticated")
            # Without a token even reflection is refused.
            rc, out, err = buf_curl(addr, extra=["--list-services"])
            self.assertNotEqual(rc, 0)
            self.assertIn("not authenticated", err.lower())  # buf curl words UNAUTHENTICATED so
        finally:
            agent.kill()

    def test_non_loopback_without_token_refused(self):
        import subprocess as sp
        r = sp.run([harness.runfile("agent/peerlink-agent"), "--control", "0.0.0.0:0",
                    "--state-dir", os.path.join(harness.tmpdir(), "x")],
                   capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--control", r.stderr)
        self.assertIn("--token", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
