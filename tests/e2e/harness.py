"""Process harness for end-to-end tests: starts the real peerlink binaries on loopback with
port 0, reads the address line each prints at start, and waits for events with deadlines
(never a fixed sleep)."""

import os
import re
import select
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def runfile(rel):
    """Path of a Bazel data dependency (tests run from the runfiles tree)."""
    for base in (os.environ.get("TEST_SRCDIR", "") + "/peerlink", os.getcwd()):
        p = os.path.join(base, rel)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(rel)


def tmpdir():
    return tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))


class Proc:
    """A program under test. stdout's first line carries its addresses; stderr goes to a log."""

    def __init__(self, argv, name, deadline=20.0):
        self.name = name
        self.log_path = os.path.join(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", tmpdir()),
                                     name + ".log")
        self.log = open(self.log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log)
        self.line = self._read_line(deadline)
        self.fields = dict(re.findall(r"(\w+)=(\S+)", self.line))

    def _read_line(self, deadline):
        end = time.monotonic() + deadline
        buf = b""
        while b"\n" not in buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("%s printed no address line in %.0fs (log: %s)"
                                   % (self.name, deadline, self.log_path))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError("%s exited with %s before printing its addresses (log: %s)"
                                       % (self.name, self.p.wait(), self.log_path))
                buf += chunk
        return buf.decode().splitlines()[0]

    def stop(self, sig=signal.SIGTERM, deadline=10.0):
        """Signals the process and returns its exit code; fails if it does not exit in time."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout=deadline)
        finally:
            self.log.close()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.log.close()


def start_rendezvous(port=0, extra=()):
    return Proc([runfile("control/rendezvous/peerlink-rendezvous"),
                 "--listen", "127.0.0.1:%d" % port] + list(extra), "rendezvous")


def start_agent(name, rendezvous=None, state_dir=None, extra=(), network="e2e"):
    """An agent; with a rendezvous it registers in `network` (agents see each other only when
    they share one, watch or pair; "" for none)."""
    argv = [runfile("agent/peerlink-agent"), "--control", "127.0.0.1:0",
            "--udp", "127.0.0.1:0", "--name", name,
            "--state-dir", state_dir or os.path.join(tmpdir(), name)]
    if rendezvous:
        argv += ["--rendezvous", rendezvous, "--network", network]
    return Proc(argv + list(extra), "agent-" + name)

