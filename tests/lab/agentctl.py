"""Drives real peerlink agents that run inside lab namespaces, with Debian's python3-grpcio.

An agent's control API listens on its namespace's own loopback, which the driver cannot
reach. Each agent gets a Unix socket (file system sockets are not per network namespace)
whose connections are piped to a TCP connection opened inside the agent's namespace, and
the driver talks gRPC to `unix:PATH`."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import netlab
import servers

HERE = os.path.dirname(os.path.abspath(__file__))


def runfile(rel, fallback):
    """A Bazel data dependency when run by Bazel, else the path in the source/output tree."""
    base = os.environ.get("TEST_SRCDIR")
    if base:
        p = os.path.join(base, "peerlink", rel)
        if os.path.exists(p):
            return p
    return fallback


WORKSPACE = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_AGENT = runfile("agent/peerlink-agent",
                        os.path.join(WORKSPACE, "bazel-bin/agent/peerlink-agent"))
DEFAULT_RENDEZVOUS = runfile(
    "control/rendezvous/peerlink-rendezvous",
    os.path.join(WORKSPACE, "bazel-bin/control/rendezvous/peerlink-rendezvous"))
DEFAULT_PROTO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(runfile(
    "proto/peerlink/v1/agent.proto",
    os.path.join(WORKSPACE, "proto/peerlink/v1/agent.proto")))))


def load_stubs(proto_dir, gen_dir):
    """Generates the peerlink Python stubs with Debian's protoc and grpc_python_plugin and
    imports them. Returns (messages, agent_pb2_grpc), where messages has the names of both
    agent_pb2 and common_pb2 (e.g. ConnectRequest and NatBehavior). Only peerlink's own
    protos are needed (no health/reflection), so grpc's .proto files, which would generate a
    package named `grpc` that shadows grpcio, are not compiled here."""
    subprocess.run(
        ["protoc", "-I", proto_dir, "--python_out", gen_dir, "--grpc_python_out", gen_dir,
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
         "peerlink/v1/common.proto", "peerlink/v1/agent.proto"], check=True)
    sys.path.insert(0, gen_dir)
    from peerlink.v1 import agent_pb2, agent_pb2_grpc, common_pb2  # noqa: E402
    return _Merged(agent_pb2, common_pb2), agent_pb2_grpc


def test_setup():
    """What a lab test that drives agents starts with: (messages, agent stubs, log folder)."""
    pb, pb_grpc = load_stubs(DEFAULT_PROTO_DIR,
                             tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")))
    logs = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp()
    return pb, pb_grpc, logs


@contextlib.contextmanager
def served_lab(logs, rendezvous=DEFAULT_RENDEZVOUS):
    """A lab whose internet runs coturn and the rendezvous; torn down on exit."""
    with netlab.Lab(log=netlab.log_stderr) as lab:
        servers.start_coturn(lab, log_dir=logs)
        servers.start_rendezvous(lab, rendezvous, log_dir=logs)
        yield lab


def test_main():
    """unittest.main for a lab test; without root it is skipped (exit 0), as run_py.sh does."""
    import unittest
    if os.geteuid() != 0:
        print("SKIPPED: the NAT lab needs root (network namespaces, nftables); "
              "running as uid %d" % os.geteuid())
        sys.exit(0)
    unittest.main(verbosity=2)


class _Merged:
    def __init__(self, *modules):
        self._modules = modules

    def __getattr__(self, name):
        for m in self._modules:
            if hasattr(m, name):
                return getattr(m, name)
        raise AttributeError(name)


class UnixForwarder:
    """Accepts on a Unix socket; pipes each connection to TCP addr inside namespace ns."""

    def __init__(self, ns, addr, path):
        self.ns, self.addr, self.path = ns, addr, path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(16)
        self.socks = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            try:
                with netlab.netns_socket_scope(self.ns):
                    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # gRPC sets TCP_NODELAY on its own sockets; this hop must too, or Nagle and
                # delayed ACKs add ~40 ms to some calls and skew the timings.
                t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t.connect(self.addr)
            except OSError:
                c.close()
                continue
            with self.lock:
                if self.closed:
                    c.close()
                    t.close()
                    return
                self.socks += [c, t]
            threading.Thread(target=self._pump, args=(c, t), daemon=True).start()
            threading.Thread(target=self._pump, args=(t, c), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        with self.lock:
            self.closed = True
            socks, self.socks = self.socks, []
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.srv.close()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class EventLog:
    """Reads an agent's WatchEvents stream on a thread and keeps every event, so a waiter can
    look for an event that came before it started waiting (use mark() to skip old ones)."""

    def __init__(self, stub, pb):
        self.events = []
        self.cond = threading.Condition()
        self.error = None
        self.stream = stub.WatchEvents(pb.WatchEventsRequest(include_current=True))
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        import grpc
        try:
            for resp in self.stream:
                with self.cond:
                    self.events.append(resp.event)
                    self.cond.notify_all()
        except grpc.RpcError as e:
            with self.cond:
                self.error = e
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.events)

    def wait_for(self, pred, deadline, since=0):
        """The first event from index since on that satisfies pred, or None after deadline
        seconds (or when the stream ended)."""
        end = time.monotonic() + deadline
        i = since
        with self.cond:
            while True:
                while i < len(self.events):
                    if pred(self.events[i]):
                        return self.events[i]
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.error is not None:
                    return None
                self.cond.wait(left)

    def close(self):
        self.stream.cancel()


_flag_cache = {}


def _flags(binary):
    st = os.stat(binary)
    key = (binary, st.st_mtime_ns, st.st_size)  # a rebuilt binary may have other flags
    if key not in _flag_cache:
        _flag_cache[key] = servers.supported_flags(binary)
    return _flag_cache[key]


class Agent:
    """One peerlink-agent in a namespace, with a gRPC stub and its event log."""

    def __init__(self, lab, ns, binary, name, pb, pb_grpc, log_dir, deadline=20.0, extra=()):
        import grpc
        self.name = name
        self.pb = pb
        self.fwd = self.channel = self.events = None
        state = tempfile.mkdtemp(prefix="state-" + name + "-", dir=lab.workdir)
        wanted = [
            ["--control", "127.0.0.1:0"],
            ["--udp", "0.0.0.0:0"],
            ["--rendezvous", "%s:%d" % (netlab.RDV_IP, servers.RDV_GRPC_PORT)],
            ["--rendezvous-token", servers.LAB_TOKEN],
            ["--network", "lab"],  # the lab's agents see each other
            ["--state-dir", state],
            ["--name", name],
            ["--stun", "%s:%d,%s:%d" % (netlab.RDV_IP, servers.RDV_UDP_PORT,
                                        netlab.STUN1_IP, servers.STUN_PORT)],
        ] + [list(x) for x in extra]
        have = _flags(binary)
        argv = [binary]
        self.missing = []
        for item in wanted:
            if item[0] in have:
                argv += item
            else:
                self.missing.append(item[0])
        self.proc = lab.spawn(ns, argv, "agent-" + name, log_dir=log_dir)
        try:
            line = self.proc.read_line(deadline)
            self.proc.drain_stdout()
            self.fields = dict(re.findall(r"(\w+)=(\S+)", line))
            self.id = self.fields["id"]
            host, port = self.fields["control"].rsplit(":", 1)
            sock_path = tempfile.mktemp(prefix=name + "-", suffix=".sock", dir=lab.sockdir)
            self.fwd = UnixForwarder(ns, (host, int(port)), sock_path)
            self.channel = grpc.insecure_channel("unix:" + sock_path)
            self.stub = pb_grpc.AgentStub(self.channel)
            self.events = EventLog(self.stub, pb)
        except BaseException:
            self.stop()
            raise

    def wait_path(self, peer_id, kind, deadline):
        """The PathChanged event that puts the path to peer_id at `kind`, or None. Under loss
        a pair can come up through the relay and upgrade to direct a little later (the agent
        keeps probing): tests wait for the kind they expect rather than read Connect's first
        answer."""
        return self.events.wait_for(
            lambda e: e.HasField("path") and e.path.path.peer_id == peer_id and
            e.path.path.kind == kind, deadline)

    def wait_registered(self, deadline):
        st = self.pb.RENDEZVOUS_STATE_REGISTERED
        return self.events.wait_for(
            lambda e: e.HasField("rendezvous") and e.rendezvous.state == st, deadline)

    def wait_peer(self, peer_id, deadline):
        return self.events.wait_for(
            lambda e: e.HasField("peer_list") and e.peer_list.joined
            and e.peer_list.peer.id == peer_id, deadline)

    def status(self, timeout=5.0):
        return self.stub.GetStatus(self.pb.GetStatusRequest(), timeout=timeout)

    def stop(self):
        """Stops the agent; returns its exit code."""
        for closer in (self.events, self.channel, self.fwd):
            if closer is not None:
                try:
                    closer.close()
                except Exception:
                    pass
        return self.proc.stop()
