"""make demo as root: the same demo, with the two agents behind NATs of the NAT lab
(tests/lab) instead of on loopback. alice sits behind a "home" NAT, bob behind an "easy" one,
the rendezvous in the lab's "internet" namespace.

This driver builds the lab, starts the rendezvous and the agents in their namespaces, makes
each agent's control API reachable on 127.0.0.1 of the root namespace (a TCP forwarder into
the agent's namespace: the lab stays unconnected to the root namespace, and the control API
keeps listening on its namespace's loopback, where it needs no token), then runs demo.sh with
those addresses for the rest (connect, datagram, benchmark, the bridges and their UI, which
therefore run on the host and open in its browser). Ctrl-C stops demo.sh, then the lab is torn
down: no namespace of its prefix is left behind (also after an error)."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))

import agentctl  # noqa: E402
import netlab  # noqa: E402
import servers  # noqa: E402

BIN = os.path.join(ROOT, "bin")
RDV = "%s:%d" % (netlab.RDV_IP, servers.RDV_GRPC_PORT)


class TcpForwarder(agentctl.UnixForwarder):
    """Accepts on 127.0.0.1 (an ephemeral port) of the root namespace; pipes each connection to
    TCP addr inside namespace ns. Only the listening socket differs from UnixForwarder."""

    def __init__(self, ns, addr):
        self.ns, self.addr = ns, addr
        self.path = ""  # no socket file: UnixForwarder.close()'s unlink fails harmlessly
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.socks = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()


def start_agent(lab, ns, name, run_dir):
    """peerlink-agent in ns with demo.sh's flags (UDP on every address of the namespace, the
    lab rendezvous and its token). Returns (its address line with control= rewritten to the
    forwarded address, the forwarder)."""
    argv = [os.path.join(BIN, "peerlink-agent"), "--name", name, "--control", "127.0.0.1:0",
            "--udp", "0.0.0.0:0", "--state-dir", os.path.join(run_dir, name),
            "--rendezvous", RDV, "--rendezvous-token", servers.LAB_TOKEN, "--network", "demo"]
    proc = lab.spawn(ns, argv, "agent-" + name, log_dir=run_dir)
    line = proc.read_line(20.0)
    proc.drain_stdout()
    m = re.search(r"\bcontrol=(\S+):(\d+)", line)
    if not m:
        raise netlab.LabError("agent %s printed no control= address: %s" % (name, line))
    fwd = TcpForwarder(ns, (m.group(1), int(m.group(2))))
    return line[:m.start()] + "control=127.0.0.1:%d" % fwd.port + line[m.end():], fwd


def main():
    run_dir = tempfile.mkdtemp(prefix="peerlink-demo.", dir="/tmp")
    fwds = []
    lab = netlab.Lab(log=netlab.log_stderr, workdir=run_dir)  # a given workdir is kept: logs
    try:
        alice_site = lab.site("home", 1)
        bob_site = lab.site("easy", 2)
        rdv = lab.spawn(lab.inet, [os.path.join(BIN, "peerlink-rendezvous"), "--listen", RDV,
                                   "--token", servers.LAB_TOKEN, "--udp",
                                   "%s:%d" % (netlab.RDV_IP, servers.RDV_UDP_PORT), "--udp-alt",
                                   "%s:%d" % (netlab.RDV_IP, servers.RDV_UDP_ALT_PORT)],
                        "rendezvous", log_dir=run_dir)
        rdv_line = rdv.read_line(20.0)
        rdv.drain_stdout()
        a_line, fwd = start_agent(lab, alice_site.hosts[0], "alice", run_dir)
        fwds.append(fwd)
        b_line, fwd = start_agent(lab, bob_site.hosts[0], "bob", run_dir)
        fwds.append(fwd)
        print("== the NAT lab (prefix %s)" % lab.prefix)
        print("  rendezvous  %s in namespace %s" % (RDV, lab.inet))
        for who, site in (("alice", alice_site), ("bob", bob_site)):
            print("  %-5s       behind a NAT of kind %s (public %s) in namespace %s"
                  % (who, site.kind, site.public_ip, site.hosts[0]))
        print("  each agent's control API is forwarded to 127.0.0.1 here (control= below)")
        sys.stdout.flush()

        env = dict(os.environ, DEMO_RUN=run_dir, DEMO_RDV_LINE=rdv_line, DEMO_A_LINE=a_line,
                   DEMO_B_LINE=b_line)
        child = subprocess.Popen(["bash", os.path.join(HERE, "demo.sh")], env=env)
        stopping = []

        # A Ctrl-C reaches demo.sh too (same process group): let it stop its bridges before
        # the agents go. A signal sent to this process alone is passed on if demo.sh lingers.
        def on_signal(signum, frame):
            stopping.append(signum)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
        lingering = 0
        while True:
            try:
                rc = child.wait(timeout=0.5)  # wakes up to look at stopping
                break
            except subprocess.TimeoutExpired:
                lingering = lingering + 1 if stopping else 0
                if lingering == 6:
                    child.send_signal(signal.SIGTERM)
                    stopping.clear()
        return 0 if rc in (0, 130, -signal.SIGINT) else rc
    finally:
        for fwd in fwds:
            fwd.close()
        lab.teardown()
        print("demo: lab %s removed" % lab.prefix, flush=True)


if __name__ == "__main__":
    sys.exit(main())
