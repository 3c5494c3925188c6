"""The NAT lab: an "internet" and NATs of several kinds built from Linux network namespaces,
veth pairs and nftables. Nothing is connected to the root namespace, so no packet can leave
the lab. Needs root.

Every namespace, and every temporary interface name, starts with the run's prefix
(`plab` + 6 hex digits). A marker file /run/peerlink-lab/PREFIX holds the owner's PID and start
time, so `cleanup_stale()` removes what dead runs left behind without touching a live run's
namespaces. The recipes and the address plan are described in README.md."""

import atexit
import ctypes
import ipaddress
import os
import re
import secrets
import shutil
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

import nat_rules

PUBLIC_NET = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544 benchmark range, lab-only
PUBLIC_PLEN = PUBLIC_NET.prefixlen
RDV_IP = "198.18.0.1"  # rendezvous: gRPC, its STUN responder, relay
STUN1_IP = "198.18.0.2"  # coturn, first address
STUN2_IP = "198.18.0.3"  # coturn, second address (RFC 5780-style mapping test)
THIRD_IP = "198.18.0.4"  # a public host nobody inside has talked to (filtering checks)
KNOWN_IP = "198.18.0.5"  # a public host the inside host talks to first (filtering checks)
INET_IPS = (RDV_IP, STUN1_IP, STUN2_IP, THIRD_IP, KNOWN_IP)
FIRST_SITE_IP = int(ipaddress.ip_address("198.18.1.0"))

KINDS = ("open", "easy", "home", "hard", "cgnat", "udp-blocked")
ALL_KINDS = KINDS + ("same-lan",)

MARKER_DIR = "/run/peerlink-lab"
PREFIX_RE = re.compile(r"^plab[0-9a-f]{6}")
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


class LabError(RuntimeError):
    pass


def run(argv, input=None, check=True):
    """Runs a command; on failure raises LabError carrying its stderr."""
    p = subprocess.run(argv, input=input, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise LabError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p.stdout


def _proc_start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_alive(prefix):
    try:
        with open(os.path.join(MARKER_DIR, prefix)) as f:
            pid_s, start = f.read().split()
        return _proc_start_time(int(pid_s)) == start
    except (OSError, ValueError):
        return False


def netns_list():
    out = run(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def delete_netns(name):
    """Kills whatever still runs in the namespace (only lab programs can be there), then
    deletes it; its interfaces go with it."""
    for pid in run(["ip", "netns", "pids", name], check=False).split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    run(["ip", "netns", "del", name], check=False)


def cleanup_stale(log=print, prefix=None):
    """Removes namespaces and interfaces of lab runs whose owner process is gone, or, given a
    prefix, everything of that run whether its owner lives or not."""
    def stale(name):
        m = PREFIX_RE.match(name)
        if not m:
            return False
        return m.group(0) == prefix if prefix else not _owner_alive(m.group(0))

    removed = []
    for ns in netns_list():
        if stale(ns):
            delete_netns(ns)
            removed.append(ns)
    for line in run(["ip", "-o", "link", "show"]).splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if stale(name):
            run(["ip", "link", "del", name], check=False)
            removed.append(name)
    for d in os.listdir("/tmp"):
        if stale(d) and os.path.isdir(os.path.join("/tmp", d)):
            shutil.rmtree(os.path.join("/tmp", d), ignore_errors=True)  # socket directories
    if os.path.isdir(MARKER_DIR):
        for p in os.listdir(MARKER_DIR):
            if stale(p):
                os.unlink(os.path.join(MARKER_DIR, p))
    if removed:
        log("lab: removed stale %s" % " ".join(removed))
    return removed


class netns_socket_scope:
    """`with netns_socket_scope(ns): s = socket.socket(...)`: sockets created inside belong to
    namespace ns (setns on the calling thread only; switched back on exit)."""

    def __init__(self, ns):
        self.ns = ns

    def __enter__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.ns, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns(%s): %s" % (self.ns, os.strerror(err)))
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.home, CLONE_NEWNET) != 0:
                # A thread stuck in the wrong namespace would poison everything after it.
                os._exit(70)
        finally:
            os.close(self.home)


def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Site:
    """One side of a pairing: the agent namespace(s) and the NAT namespaces in front of them."""

    def __init__(self, kind, hosts, nats, public_ip):
        self.kind = kind
        self.hosts = hosts  # agent namespaces (two for same-lan)
        self.nats = nats  # NAT namespaces, innermost first
        self.public_ip = public_ip  # the address the internet sees
        self.namespaces = []
        self.inet_tables = []  # nft tables this site owns in the inet namespace


class Lab:
    """Owns one run's namespaces and processes and tears them all down exactly once: on normal
    exit, on an exception, on SIGTERM/SIGINT/SIGHUP (Bazel's timeout sends SIGTERM; the
    process then exits 128+signal) or at interpreter exit. After a SIGKILL, the next run's
    cleanup_stale() (or `netlab.py --cleanup-stale`) removes the leftovers."""

    def __init__(self, loss=0, log=print, workdir=None):
        if os.geteuid() != 0:
            raise PermissionError("the NAT lab needs root (network namespaces, nftables)")
        self.loss = int(loss)
        self.log = log
        self.prefix = "plab" + secrets.token_hex(3)
        self.namespaces = []
        self.procs = []
        self._ifcount = 0
        self._ipcount = 0
        self._torn_down = False
        # Stale runs first, then our marker: from here on a parallel run's cleanup sees us live.
        cleanup_stale(log)
        os.makedirs(MARKER_DIR, exist_ok=True)
        with open(os.path.join(MARKER_DIR, self.prefix), "w") as f:
            f.write("%d %s\n" % (os.getpid(), _proc_start_time(os.getpid())))
        atexit.register(self.teardown)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        # State directories and scratch files; removed at teardown unless given. Logs belong
        # in a log_dir the caller keeps.
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=self.prefix + "-",
                                                   dir=os.environ.get("TEST_TMPDIR"))
        # Unix socket paths must stay under 108 bytes; Bazel's TEST_TMPDIR is long.
        self.sockdir = tempfile.mkdtemp(prefix=self.prefix + "-", dir="/tmp")
        self.inet = self._build_internet()

    # ---- lifetime

    def _on_signal(self, signum, frame):
        if self._torn_down:
            return  # a teardown is running (or done): let it finish
        # Tear down first: Bazel follows its SIGTERM with SIGKILL after a grace period, and
        # unittest would swallow an exception raised here and go on testing.
        self.teardown()
        self.log("lab: signal %d: namespaces and processes removed" % signum)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signum)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()

    def teardown(self):
        if self._torn_down:
            return
        self._torn_down = True
        for p in reversed(self.procs):
            p.stop()
        self.procs = []
        for ns in reversed(self.namespaces):
            delete_netns(ns)
        self.namespaces = []
        shutil.rmtree(self.sockdir, ignore_errors=True)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        try:
            os.unlink(os.path.join(MARKER_DIR, self.prefix))
        except OSError:
            pass

    # ---- building blocks

    def netns(self, short):
        name = "%s-%s" % (self.prefix, short)
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        # IPv6 off: the lab is IPv4 only, link-local candidates would be noise. br_netfilter
        # off: bridged frames must not go through the ip hooks (NAT, loss) of the namespace.
        self.sh(name, "ip link set lo up; "
                "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; "
                "for f in /proc/sys/net/bridge/bridge-nf-call-*; do "
                "[ -e \"$f\" ] && echo 0 > \"$f\"; done; true")
        return name

    def sh(self, ns, script):
        return run(["ip", "netns", "exec", ns, "sh", "-ec", script])

    def nft(self, ns, ruleset):
        run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=ruleset)

    def veth(self, ns_a, name_a, ns_b, name_b):
        """A veth pair created straight into both namespaces under temporary names, then renamed
        there (the root namespace may own eth0; a temporary name is unique to this run)."""
        self._ifcount += 1
        ta = "%s%04xa" % (self.prefix, self._ifcount)
        tb = "%s%04xb" % (self.prefix, self._ifcount)
        run(["ip", "link", "add", ta, "netns", ns_a, "type", "veth", "peer", "name", tb,
             "netns", ns_b])
        run(["ip", "-n", ns_a, "link", "set", ta, "name", name_a])
        run(["ip", "-n", ns_b, "link", "set", tb, "name", name_b])

    def _build_internet(self):
        ns = self.netns("inet")
        run(["ip", "-n", ns, "link", "add", "br0", "type", "bridge", "forward_delay", "0"])
        # A bridge takes the lowest MAC of its ports, so adding a site could change it under
        # the sites already there (stale neighbour entries for the rendezvous). A fixed,
        # locally administered address keeps them valid.
        cmds = "ip link set br0 address 02:70:6c:00:00:01; ip link set br0 up; " + "; ".join(
            "ip addr add %s/%d dev br0" % (ip, PUBLIC_PLEN) for ip in INET_IPS)
        self.sh(ns, cmds)
        return ns

    def public_ip(self):
        ip = str(ipaddress.ip_address(FIRST_SITE_IP + self._ipcount))
        self._ipcount += 1
        if ipaddress.ip_address(ip) not in PUBLIC_NET:
            raise LabError("out of public addresses")
        return ip

    def _plug_public(self, ns, ifname, ip):
        """Connects ns to the internet bridge as ifname with a public address. Returns the
        name of the bridge port in the inet namespace."""
        self._ifcount += 1
        port = "p%d" % self._ifcount
        self.veth(self.inet, port, ns, ifname)
        run(["ip", "-n", self.inet, "link", "set", port, "master", "br0", "up"])
        self.sh(ns, "ip addr add %s/%d dev %s; ip link set %s up; ip route add default via %s"
                % (ip, PUBLIC_PLEN, ifname, ifname, RDV_IP))
        return port

    def _plug_private(self, nat_ns, host_ns, subnet, host_no, lan_dev="lan"):
        """Puts host_ns behind nat_ns on subnet (a /24 given as 'a.b.c'): NAT .1, host
        .host_no."""
        self.veth(nat_ns, lan_dev, host_ns, "eth0")
        self.sh(nat_ns, "ip addr add %s.1/24 dev %s; ip link set %s up"
                % (subnet, lan_dev, lan_dev))
        self.sh(host_ns, "ip addr add %s.%d/24 dev eth0; ip link set eth0 up; "
                "ip route add default via %s.1" % (subnet, host_no, subnet))

    # ---- sites

    def site(self, kind, side, loss=None):
        """Builds one site of the given kind; side (1 or 2) keeps names and private subnets of
        the two sides of a pairing apart; loss overrides the lab's loss percentage for this
        site. Returns a Site."""
        tag = "%s%d" % (kind.replace("-", "")[:5], side)
        wan_ip = self.public_ip()
        created_from = len(self.namespaces)
        saved, self.loss = self.loss, self.loss if loss is None else int(loss)
        try:
            s = self._site(kind, side, tag, wan_ip)
        except BaseException:
            self.destroy(self.namespaces[created_from:])
            raise
        finally:
            self.loss = saved
        s.namespaces = self.namespaces[created_from:]
        return s

    def _site(self, kind, side, tag, wan_ip):
        lan = "10.77.%d" % side
        if kind == "open":
            host = self.netns(tag + "-host")
            port = self._plug_public(host, "eth0", wan_ip)
            s = Site(kind, [host], [], wan_ip)
            if self.loss:
                s.inet_tables.append(("netdev", "in_" + port))
                self.nft(self.inet, nat_rules.ingress_loss(port, self.loss, "in_" + port))
                self.nft(host, nat_rules.ingress_loss("eth0", self.loss, "in_eth0"))
            return s
        if kind == "cgnat":
            cgn = self.netns(tag + "-cgn")
            nat = self.netns(tag + "-nat")
            host = self.netns(tag + "-host")
            self._plug_public(cgn, "wan", wan_ip)
            shared = "100.64.%d" % side  # RFC 6598 shared address space, as real CGNs use
            self.veth(cgn, "lan", nat, "wan")
            self.sh(cgn, "ip addr add %s.1/24 dev lan; ip link set lan up; "
                    "sysctl -qw net.ipv4.ip_forward=1" % shared)
            self.sh(nat, "ip addr add %s.2/24 dev wan; ip link set wan up; "
                    "ip route add default via %s.1" % (shared, shared))
            self.nft(cgn, nat_rules.nat("easy", wan_ip, self.loss))
            self._lan_nat(nat, "home", "%s.2" % shared)
            self._plug_private(nat, host, lan, 2)
            return Site(kind, [host], [nat, cgn], wan_ip)
        nat = self.netns(tag + "-nat")
        self._plug_public(nat, "wan", wan_ip)
        if kind == "same-lan":
            hosts = [self.netns(tag + "-host1"), self.netns(tag + "-host2")]
            run(["ip", "-n", nat, "link", "add", "lan", "type", "bridge", "forward_delay", "0"])
            for i, h in enumerate(hosts):
                port = "l%d" % i
                self.veth(nat, port, h, "eth0")
                run(["ip", "-n", nat, "link", "set", port, "master", "lan", "up"])
                self.sh(h, "ip addr add %s.%d/24 dev eth0; ip link set eth0 up; "
                        "ip route add default via %s.1" % (lan, i + 2, lan))
            self.sh(nat, "ip addr add %s.1/24 dev lan; ip link set lan up" % lan)
            self._lan_nat(nat, "home", wan_ip)
            if self.loss:
                self.nft(nat, nat_rules.bridge_loss(self.loss))
            return Site(kind, hosts, [nat], wan_ip)
        if kind not in ("easy", "home", "hard", "udp-blocked"):
            raise ValueError("unknown NAT kind %r" % kind)
        host = self.netns(tag + "-host")
        self._lan_nat(nat, kind, wan_ip)
        self._plug_private(nat, host, lan, 2)
        return Site(kind, [host], [nat], wan_ip)

    def _lan_nat(self, nat, kind, wan_ip):
        """Turns nat into a NAT of the given kind between its wan and lan interfaces (rules
        match interface names, so lan may be plugged in after)."""
        self.sh(nat, "sysctl -qw net.ipv4.ip_forward=1")
        self.nft(nat, nat_rules.nat(kind, wan_ip, self.loss))

    def destroy(self, namespaces):
        """Deletes the given namespaces, stopping whatever runs in them."""
        for ns in reversed(list(namespaces)):
            delete_netns(ns)
            if ns in self.namespaces:
                self.namespaces.remove(ns)

    def destroy_site(self, site):
        """Deletes a site: its namespaces and its rules in the inet namespace."""
        self.destroy(site.namespaces)
        for family, table in site.inet_tables:
            run(["ip", "netns", "exec", self.inet, "nft", "delete", "table", family, table],
                check=False)
        site.inet_tables = []

    # ---- processes

    def spawn(self, ns, argv, name, log_dir=None, capture=True):
        """Starts argv inside ns; stdout is a pipe (for the address line) when capture is set,
        else it goes to the log file with stderr."""
        p = LabProc(ns, argv, name, log_dir or self.workdir, capture)
        self.procs.append(p)
        return p


class LabProc:
    """A program running in a namespace (or, with ns None, where the driver runs). Killed with
    its parent if the driver dies hard."""

    def __init__(self, ns, argv, name, log_dir, capture=True, pass_fds=()):
        self.name = name
        self.ns = ns
        self.log_path = os.path.join(log_dir, name + ".log")
        self.log = open(self.log_path, "ab")
        prefix = ["ip", "netns", "exec", ns] if ns is not None else []
        self.p = subprocess.Popen(prefix + list(argv),
                                  stdout=subprocess.PIPE if capture else self.log,
                                  stderr=self.log, stdin=subprocess.DEVNULL, pass_fds=pass_fds,
                                  preexec_fn=_die_with_parent)
        self._buf = b""
        self._drain = None

    @property
    def pid(self):
        return self.p.pid

    def read_line(self, deadline):
        """The next stdout line, waiting at most deadline seconds."""
        end = time.monotonic() + deadline
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("%s printed no line in %.0fs (log: %s)"
                                   % (self.name, deadline, self.log_path))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError("%s exited with %s before printing its line (log: %s)"
                                       % (self.name, self.p.wait(), self.log_path))
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def drain_stdout(self):
        """Copies the rest of stdout into the log on a thread, so a chatty program never
        blocks on a full pipe once its address line has been read."""
        def copy():
            try:
                if self._buf:
                    self.log.write(self._buf)
                while True:
                    chunk = os.read(self.p.stdout.fileno(), 65536)
                    if not chunk:
                        return
                    self.log.write(chunk)
                    self.log.flush()
            except (OSError, ValueError):
                pass  # closed by stop()
        self._drain = threading.Thread(target=copy, daemon=True)
        self._drain.start()

    def alive(self):
        return self.p.poll() is None

    def stop(self, deadline=5.0):
        """SIGTERM, then SIGKILL after deadline seconds. Returns the exit code."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self._drain is not None:
            # The pipe ends at exit (unless a child kept it open); join before closing the fd
            # so the thread never reads a reused descriptor.
            self._drain.join(2.0)
            if self._drain.is_alive():
                return self.p.returncode
        if not self.log.closed:
            self.log.close()
        if self.p.stdout:
            self.p.stdout.close()
        return self.p.returncode


def log_stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def counters(ns, family, table):
    """{comment-less rule text: packets} for every counter in an nft table of namespace ns."""
    out = run(["ip", "netns", "exec", ns, "nft", "list", "table", family, table])
    found = {}
    for line in out.splitlines():
        m = re.search(r"^\s*(.*?)\s*counter packets (\d+) bytes \d+(.*)$", line)
        if m:
            found[(m.group(1) + m.group(3)).strip()] = int(m.group(2))
    return found


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="NAT lab housekeeping")
    ap.add_argument("--cleanup-stale", nargs="?", const="", metavar="PREFIX",
                    help="remove what dead lab runs left behind (or everything of run PREFIX)")
    args = ap.parse_args(argv)
    if args.cleanup_stale is None:
        ap.print_help()
        return 2
    if args.cleanup_stale and not PREFIX_RE.fullmatch(args.cleanup_stale):
        ap.error("a run prefix looks like plab1a2b3c")
    removed = cleanup_stale(prefix=args.cleanup_stale or None)
    print("removed %d leftovers" % len(removed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
