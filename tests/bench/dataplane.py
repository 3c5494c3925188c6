"""make bench, data plane: the agents' Benchmark (and reliable Send) against the reference
tools, side by side in one run on this machine. Absolute numbers drift on shared machines;
ratios from one run do not.

  udp       agent<->agent UDP benchmark (rate 0: as fast as the path takes) vs
            `iperf3 -u -b 0 -l <same size>`: receiver goodput and loss; target >= 1.2x
  status    GetStatus round trips answered by the sending agent during an unlimited blast
  relay     the UDP benchmark when the rendezvous's UDP relay is the only path, vs direct
  quic      agent<->agent QUIC bulk vs Debian's ngtcp2 example programs (gtlsserver serving a
            file, gtlsclient fetching it) moving the same bytes; target >= 1.5x
  tcp       agent<->agent over the punched TCP connection vs iperf3 TCP, the same write
            size (256 KiB); target >= 0.8x
  reliable  Send with DELIVERY_RELIABLE: messages/s and p50/p99 latency for 1 KiB messages,
            without and with 5% UDP loss (when the agent has reliable messages)

For each: CPU seconds per GiB moved (both ends) and peak memory (VmHWM / ru_maxrss) of each
process. Prints a line per comparison and writes every number to --out (JSON).

relay and the lossy reliable run change the network (nftables, extra loopback addresses): they
run only inside a private network namespace, which run.sh provides (`unshare --net`, root);
elsewhere they are skipped and say so.

    dataplane.py --gen GEN_DIR --agent BIN --rendezvous BIN [--seconds 5] [--chunk 1200]
                 [--quic-bytes 268435456] [--tcp-chunk 262144] [--repeats 3] [--out FILE]
                 [--only udp,status,relay,quic,tcp,reliable]

Each comparison runs --repeats rounds, ours then the reference, and reports the median round
of each (all samples are in the JSON).
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CLK = os.sysconf("SC_CLK_TCK")
PRIVATE_NET = os.environ.get("PL_BENCH_PRIVATE_NET") == "1"
PIN = os.environ.get("BENCH_PIN", "1") == "1"


def say(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---- processes ----------------------------------------------------------------------------

class Proc:
    """A long-running program; its first stdout line (if `line`) is parsed for key=value."""

    def __init__(self, argv, name, workdir, line=True, deadline=15.0, ready=None):
        self.name = name
        self.log = open(os.path.join(workdir, name + ".log"), "wb")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log)
        self.fields = {}
        if line:
            self.fields = dict(re.findall(r"(\w+)=(\S+)", self._line(deadline)))
        elif ready:
            while ready not in self._line(deadline):
                pass

    def _line(self, deadline):
        end, buf = time.monotonic() + deadline, b""
        while b"\n" not in buf:
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, end - time.monotonic()))
            if not r:
                raise TimeoutError("%s printed nothing in %.0fs" % (self.name, deadline))
            chunk = os.read(self.p.stdout.fileno(), 1)
            if not chunk:
                code = self.p.wait()
                self.log.flush()
                with open(self.log.name, "rb") as f:
                    tail = f.read()[-600:].decode(errors="replace")
                raise RuntimeError("%s exited with %s: %s" % (self.name, code, tail))
            buf += chunk
        return buf.decode(errors="replace")

    def cpu(self):
        """CPU seconds (user + system) so far, all threads."""
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK

    def hwm_kib(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def run_measured(argv, timeout=300):
    """Runs argv to completion: (returncode, stdout, cpu seconds, peak RSS KiB, wall seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = b""
    end = t0 + timeout
    while True:
        r, _, _ = select.select([p.stdout], [], [], max(0.0, end - time.monotonic()))
        if not r:
            p.kill()
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        out += chunk
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    return (os.waitstatus_to_exitcode(status), out.decode(errors="replace"),
            ru.ru_utime + ru.ru_stime, ru.ru_maxrss, wall)


def pin(cpu):
    """The two ends of every comparison on two different cores (ours and the references alike):
    left to the scheduler, two busy processes sometimes share one core, and a run then measures
    half the machine (seen here: TCP at 12 or 38 Gbit/s from one run to the next)."""
    if PIN and os.cpu_count() and os.cpu_count() >= 2:
        return ["taskset", "-c", str(cpu % os.cpu_count())]
    return []


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nft(ruleset):
    subprocess.run(["nft", "-f", "-"], input=ruleset.encode(), check=True)


def per_gib(cpu_s, nbytes):
    return cpu_s / (nbytes / 2**30) if nbytes else None


# ---- agents -------------------------------------------------------------------------------

class Pair:
    """A rendezvous and two agents with a path between them: direct, or (relayed) through the
    rendezvous's UDP relay only, the agents' own UDP kept apart by nftables."""

    def __init__(self, args, workdir, relayed=False):
        import grpc
        from peerlink.v1 import agent_pb2, agent_pb2_grpc
        self.pb = agent_pb2
        self.procs = []
        os.makedirs(workdir, exist_ok=True)
        ips = ("127.0.0.2", "127.0.0.3") if relayed else ("127.0.0.1", "127.0.0.1")
        if relayed:
            nft("table inet plbench {\n chain out {\n"
                "  type filter hook output priority 0; policy accept;\n"
                "  ip saddr 127.0.0.2 ip daddr 127.0.0.3 meta l4proto udp drop\n"
                "  ip saddr 127.0.0.3 ip daddr 127.0.0.2 meta l4proto udp drop\n }\n}\n")
        self.relayed = relayed
        self.rdv = self._start([args.rendezvous, "--listen", "127.0.0.1:0", "--udp",
                                "127.0.0.1:0"], "rendezvous", workdir)
        rdv = self.rdv.fields["grpc"]
        extra = ["--relay-after", "200ms"] if relayed else []
        self.a, self.b = [
            self._start(pin(cpu) + [args.agent, "--name", "bench-" + n, "--control",
                                    "127.0.0.1:0",
                         "--udp", ip + ":0", "--state-dir", os.path.join(workdir, n),
                         "--rendezvous", rdv, "--network", "bench"] + extra, "agent-" + n,
                        workdir)
            for n, ip, cpu in (("a", ips[0], 0), ("b", ips[1], 1))]
        self.channels = [grpc.insecure_channel(p.fields["control"]) for p in (self.a, self.b)]
        self.sa, self.sb = [agent_pb2_grpc.AgentStub(c) for c in self.channels]
        self.ida, self.idb = self.a.fields["id"], self.b.fields["id"]
        self._until(lambda: any(p.id == self.idb for p in
                                self.sa.ListPeers(self.pb.ListPeersRequest(), timeout=5).peers),
                    "agent b registered")
        self.sa.Connect(self.pb.ConnectRequest(peer_id=self.idb, wait=True, timeout_ms=15000),
                        timeout=20)
        want = self.pb.PATH_KIND_RELAY if relayed else self.pb.PATH_KIND_DIRECT
        self._until(lambda: self._kinds() == ([want], [want]), "the path settled")

    def _kinds(self):
        return tuple([p.kind for p in s.GetStatus(self.pb.GetStatusRequest(), timeout=5).peers]
                     for s in (self.sa, self.sb))

    def peers(self):
        return [s.GetStatus(self.pb.GetStatusRequest(), timeout=5).peers for s in
                (self.sa, self.sb)]

    @staticmethod
    def _until(pred, what, deadline=20.0):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if pred():
                return
            time.sleep(0.05)  # state a few round trips away; bounded by the deadline
        raise TimeoutError("timed out waiting for: " + what)

    def wait_streams(self):
        """The QUIC connection and the punched TCP connection, on both sides."""
        self._until(lambda: all(p and p[0].quic.established for p in self.peers()), "QUIC up")
        self._until(lambda: all(p and p[0].tcp.connected for p in self.peers()), "TCP up")

    def _start(self, argv, name, workdir):
        p = Proc(argv, name, workdir)
        self.procs.append(p)
        return p

    def bench(self, transport, seconds=0, chunk=0, nbytes=0, rate=0, reverse=False):
        req = self.pb.BenchmarkRequest(peer_id=self.idb, transport=transport,
                                       duration_ms=int(seconds * 1000), chunk_size=chunk,
                                       bytes=nbytes, rate_bps=rate, interval_ms=1000,
                                       reverse=reverse)
        cpu0 = [p.cpu() for p in self.procs]
        t0 = time.monotonic()
        final = None
        for r in self.sa.Benchmark(req, timeout=max(seconds, 1) + 300):
            if r.report.final:
                final = r.report
        wall = time.monotonic() - t0
        cpu = [p.cpu() - c for p, c in zip(self.procs, cpu0)]
        return final, wall, cpu

    def stop(self):
        for c in self.channels:
            c.close()
        for p in reversed(self.procs):
            p.stop()
        if self.relayed:
            subprocess.run(["nft", "delete", "table", "inet", "plbench"], check=False)


def agent_result(pair, final, wall, cpu, label):
    agents_cpu = cpu[1] + cpu[2]  # the rendezvous is procs[0]
    res = {
        "receiver_bps": final.receiver_bps,
        "sender_bps": final.sender_bps,
        "pinned": bool(pin(0)),
        "bytes_sent": final.bytes_sent,
        "bytes_received": final.bytes_received,
        "packets_sent": final.packets_sent,
        "packets_received": final.packets_received,
        "lost": final.lost,
        "lost_percent": 100.0 * final.lost / final.packets_sent if final.packets_sent else 0.0,
        "out_of_order": final.out_of_order,
        "jitter_us": final.jitter_us,
        "sender_cpu_s": final.sender_cpu_seconds,
        "receiver_cpu_s": final.receiver_cpu_seconds,
        "process_cpu_s": {p.name: c for p, c in zip(pair.procs, cpu)},
        "cpu_s_per_gib": per_gib(agents_cpu, final.bytes_received),
        "rendezvous_cpu_s_per_gib": per_gib(cpu[0], final.bytes_received),
        "hwm_kib": {p.name: p.hwm_kib() for p in pair.procs},
        "wall_s": wall,
    }
    say("%-8s receiver %.0f Mbit/s, loss %.2f%%, sender %.0f Mbit/s, %.2f CPU s/GiB" % (
        label, res["receiver_bps"] / 1e6, res["lost_percent"], res["sender_bps"] / 1e6,
        res["cpu_s_per_gib"] or 0))
    return res


# ---- reference tools ----------------------------------------------------------------------

class Iperf3Server:
    def __init__(self, workdir):
        self.port = free_port()
        self.proc = Proc(pin(1) + ["iperf3", "-s", "-1", "--forceflush", "-p", str(self.port),
                                   "-B", "127.0.0.1"],
                         "iperf3-server", workdir, line=False, ready="listening")

    def finish(self):
        """The server exits after its one test: its CPU time and peak RSS from wait4."""
        _, status, ru = os.wait4(self.proc.p.pid, 0)
        self.proc.p.returncode = os.waitstatus_to_exitcode(status)
        self.proc.log.close()
        return ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def iperf3(workdir, seconds, udp_chunk=None, tcp_chunk=None):
    srv = Iperf3Server(workdir)
    cpu_s0 = 0.0  # the server's whole life is this one test
    argv = pin(0) + ["iperf3", "-c", "127.0.0.1", "-p", str(srv.port), "-t", str(int(seconds)),
                     "-J"]
    if udp_chunk:
        argv += ["-u", "-b", "0", "-l", str(udp_chunk)]
    if tcp_chunk:
        argv += ["-l", str(tcp_chunk)]
    rc, out, cli_cpu, cli_rss, _ = run_measured(argv)
    srv_cpu, srv_hwm = srv.finish()
    if rc != 0:
        raise RuntimeError("iperf3 failed: %s" % out[-500:])
    end = json.loads(out)["end"]
    if udp_chunk:
        s = end["sum"]
        received = (s["packets"] - s["lost_packets"]) * udp_chunk
        res = {"receiver_bps": received * 8 / s["seconds"], "sender_bps": s["bits_per_second"],
               "lost_percent": s["lost_percent"], "packets": s["packets"],
               "lost_packets": s["lost_packets"], "jitter_ms": s["jitter_ms"],
               "bytes_received": received}
    else:
        r = end["sum_received"]
        res = {"receiver_bps": r["bits_per_second"], "bytes_received": r["bytes"],
               "sender_bps": end["sum_sent"]["bits_per_second"]}
    res.update({"client_cpu_s": cli_cpu, "server_cpu_s": srv_cpu - cpu_s0,
                "client_maxrss_kib": cli_rss, "server_hwm_kib": srv_hwm})
    res["cpu_s_per_gib"] = per_gib(cli_cpu + srv_cpu - cpu_s0, res["bytes_received"])
    return res


def gtls(workdir, nbytes):
    """gtlsserver serving an nbytes file, gtlsclient fetching it once (HTTP/3 over ngtcp2)."""
    d = os.path.join(workdir, "gtls")
    htdocs, dl = os.path.join(d, "htdocs"), os.path.join("/dev/shm", "pl-gtls-dl-%d" % os.getpid())
    os.makedirs(htdocs, exist_ok=True)
    os.makedirs(dl, exist_ok=True)
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days",
                    "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    with open(os.path.join(htdocs, "blob"), "wb") as f:
        f.truncate(nbytes)
    port = free_port(socket.SOCK_DGRAM)
    srv = Proc(pin(1) + ["gtlsserver", "-q", "-d", htdocs, "127.0.0.1", str(port), key, cert],
               "gtlsserver", workdir, line=False)
    try:
        cpu0 = srv.cpu()
        rc = None
        for _ in range(50):  # until the server's socket is up
            rc, out, cli_cpu, cli_rss, wall = run_measured(
                pin(0) + ["gtlsclient", "-q", "--no-quic-dump", "--no-http-dump",
                 "--exit-on-all-streams-close", "--download=" + dl, "127.0.0.1", str(port),
                 "https://127.0.0.1:%d/blob" % port])
            got = os.path.getsize(os.path.join(dl, "blob")) if os.path.exists(
                os.path.join(dl, "blob")) else 0
            if rc == 0 and got == nbytes:
                break
            time.sleep(0.1)
        srv_cpu, srv_hwm = srv.cpu() - cpu0, srv.hwm_kib()
    finally:
        srv.stop()
        shutil.rmtree(dl, ignore_errors=True)
    if got != nbytes:
        raise RuntimeError("gtlsclient fetched %d of %d bytes" % (got, nbytes))
    return {"receiver_bps": nbytes * 8 / wall, "bytes_received": nbytes, "wall_s": wall,
            "client_cpu_s": cli_cpu, "server_cpu_s": srv_cpu, "client_maxrss_kib": cli_rss,
            "server_hwm_kib": srv_hwm, "cpu_s_per_gib": per_gib(cli_cpu + srv_cpu, nbytes)}


# ---- the phases ---------------------------------------------------------------------------

def interleaved(args, ours_fn, ref_fn):
    """--repeats rounds of ours then the reference (so drift on a shared machine hits both);
    the median round of each by receiver goodput, and every sample."""
    ours, refs = [], []
    for _ in range(args.repeats):
        ours.append(ours_fn())
        refs.append(ref_fn())

    def median(xs):
        return sorted(xs, key=lambda r: r["receiver_bps"])[len(xs) // 2]

    o, r = median(ours), median(refs)
    o = dict(o, samples_bps=[x["receiver_bps"] for x in ours])
    r = dict(r, samples_bps=[x["receiver_bps"] for x in refs])
    return o, r


def phase_udp(pair, args, work):
    def ours_fn():
        f, w, c = pair.bench(pair.pb.BENCHMARK_TRANSPORT_UDP, args.seconds, args.chunk)
        return agent_result(pair, f, w, c, "udp")

    def ref_fn():
        ref = iperf3(work, args.seconds, udp_chunk=args.chunk)
        say("iperf3   receiver %.0f Mbit/s, loss %.2f%%, sender %.0f Mbit/s, %.2f CPU s/GiB" % (
            ref["receiver_bps"] / 1e6, ref["lost_percent"], ref["sender_bps"] / 1e6,
            ref["cpu_s_per_gib"] or 0))
        return ref

    ours, ref = interleaved(args, ours_fn, ref_fn)
    ratio = ours["receiver_bps"] / ref["receiver_bps"]
    print("UDP   agent/iperf3 -u receiver goodput: %.2fx (target >= 1.2x); loss %.2f%% vs %.2f%%"
          % (ratio, ours["lost_percent"], ref["lost_percent"]), flush=True)
    return {"agent": ours, "iperf3": ref, "ratio": ratio, "target": 1.2}


def phase_status(pair, args):
    done, lat, failed = threading.Event(), [], [0]

    def poll():
        while not done.is_set():
            t = time.monotonic()
            try:
                pair.sa.GetStatus(pair.pb.GetStatusRequest(), timeout=5)
                lat.append(time.monotonic() - t)
            except Exception:
                failed[0] += 1

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        f, _, _ = pair.bench(pair.pb.BENCHMARK_TRANSPORT_UDP, min(args.seconds, 3), args.chunk)
    finally:
        done.set()
        t.join(10)
    lat.sort()
    res = {"calls": len(lat), "failed": failed[0], "seconds": min(args.seconds, 3),
           "p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
           "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
           "max_ms": 1000 * lat[-1] if lat else None, "receiver_bps": f.receiver_bps}
    print("STATUS %d GetStatus answered by the blasting agent in %ds (p50 %.1f ms, p99 %.1f ms, "
          "max %.1f ms), %d failed" % (res["calls"], res["seconds"], res["p50_ms"] or 0,
                                       res["p99_ms"] or 0, res["max_ms"] or 0, res["failed"]),
          flush=True)
    return res


def phase_quic(pair, args, work):
    def ours_fn():
        f, w, c = pair.bench(pair.pb.BENCHMARK_TRANSPORT_QUIC, nbytes=args.quic_bytes,
                             chunk=1 << 20)
        return agent_result(pair, f, w, c, "quic")

    def ref_fn():
        ref = gtls(work, args.quic_bytes)
        say("gtls     receiver %.0f Mbit/s, %.2f CPU s/GiB" % (ref["receiver_bps"] / 1e6,
                                                              ref["cpu_s_per_gib"] or 0))
        return ref

    ours, ref = interleaved(args, ours_fn, ref_fn)
    ratio = ours["receiver_bps"] / ref["receiver_bps"]
    print("QUIC  agent/gtlsclient+gtlsserver goodput, %d MiB: %.2fx (target >= 1.5x)" %
          (args.quic_bytes >> 20, ratio), flush=True)
    return {"agent": ours, "gtls": ref, "ratio": ratio, "target": 1.5}


def phase_tcp(pair, args, work):
    def ours_fn():
        f, w, c = pair.bench(pair.pb.BENCHMARK_TRANSPORT_TCP, args.seconds, args.tcp_chunk)
        return agent_result(pair, f, w, c, "tcp")

    def ref_fn():
        ref = iperf3(work, args.seconds, tcp_chunk=args.tcp_chunk)  # the same write size
        say("iperf3   TCP receiver %.0f Mbit/s, %.2f CPU s/GiB" % (ref["receiver_bps"] / 1e6,
                                                                  ref["cpu_s_per_gib"] or 0))
        return ref

    ours, ref = interleaved(args, ours_fn, ref_fn)
    ratio = ours["receiver_bps"] / ref["receiver_bps"]
    print("TCP   agent/iperf3 TCP receiver goodput, %d KiB writes: %.2fx (target >= 0.8x)" %
          (args.tcp_chunk >> 10, ratio), flush=True)
    return {"agent": ours, "iperf3": ref, "ratio": ratio, "target": 0.8}


def reliable_run(pair, count, inflight):
    """count 1 KiB reliable Sends, `inflight` at a time: (messages/s, latencies) or None when
    the agent has no reliable messages."""
    import grpc
    lat, lock, errors = [], threading.Lock(), []
    sem = threading.Semaphore(inflight)
    done = threading.Event()
    left = [count]
    payload = os.urandom(1024)

    def finished(fut, t0):
        try:
            fut.result()
            with lock:
                lat.append(time.monotonic() - t0)
        except grpc.RpcError as e:
            with lock:
                errors.append(e)
        sem.release()
        with lock:
            left[0] -= 1
            if left[0] == 0:
                done.set()

    t_start = time.monotonic()
    for _ in range(count):
        sem.acquire()
        t0 = time.monotonic()
        fut = pair.sa.Send.future(pair.pb.SendRequest(
            peer_id=pair.idb, delivery=pair.pb.DELIVERY_RELIABLE, data=payload), timeout=60)
        fut.add_done_callback(lambda f, t0=t0: finished(f, t0))
        if errors and errors[0].code() == grpc.StatusCode.UNIMPLEMENTED:
            return None
    done.wait(120)
    if errors:
        if errors[0].code() == grpc.StatusCode.UNIMPLEMENTED:
            return None
        raise RuntimeError("%d reliable Sends failed: %s" % (len(errors), errors[0].details()))
    wall = time.monotonic() - t_start
    lat.sort()
    return {"messages": count, "inflight": inflight, "messages_per_s": count / wall,
            "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[int(len(lat) * 0.99)]}


def phase_reliable(args, work):
    out = {}
    for loss in (0, 5):
        if loss and not PRIVATE_NET:
            say("reliable with loss skipped: needs the private network namespace (run.sh, root)")
            continue
        pair = Pair(args, os.path.join(work, "reliable%d" % loss))
        try:
            if loss:
                nft("table inet plloss {\n chain out {\n"
                    "  type filter hook output priority 0; policy accept;\n"
                    "  meta l4proto udp numgen random mod 100 < %d drop\n }\n}\n" % loss)
            try:
                r = reliable_run(pair, args.messages, 32)
            finally:
                if loss:
                    subprocess.run(["nft", "delete", "table", "inet", "plloss"], check=False)
        finally:
            pair.stop()
        if r is None:
            say("reliable skipped: Send DELIVERY_RELIABLE is not built into this agent yet")
            return None
        out["loss_%d" % loss] = r
        print("RELIABLE 1 KiB, %d%% loss: %.0f messages/s, p50 %.2f ms, p99 %.2f ms" % (
            loss, r["messages_per_s"], r["p50_ms"], r["p99_ms"]), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--rendezvous", required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--chunk", type=int, default=1200)
    ap.add_argument("--quic-bytes", type=int, default=256 << 20)
    ap.add_argument("--tcp-chunk", type=int, default=256 << 10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--only", default="udp,status,relay,quic,tcp,reliable")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(),
                                                  "peerlink-bench-dataplane.json"))
    args = ap.parse_args()
    sys.path.insert(0, args.gen)
    only = set(args.only.split(","))
    out = {"cores": os.cpu_count(), "seconds": args.seconds, "chunk": args.chunk,
           "private_net": PRIVATE_NET}
    work = tempfile.mkdtemp(prefix="peerlink-dataplane-")
    try:
        if only & {"udp", "status", "quic", "tcp"}:
            pair = Pair(args, os.path.join(work, "direct"))
            try:
                if "udp" in only:
                    out["udp"] = phase_udp(pair, args, work)
                if "status" in only:
                    out["status"] = phase_status(pair, args)
                if only & {"quic", "tcp"}:
                    pair.wait_streams()
                if "quic" in only:
                    out["quic"] = phase_quic(pair, args, work)
                if "tcp" in only:
                    out["tcp"] = phase_tcp(pair, args, work)
            finally:
                pair.stop()
        if "relay" in only and not PRIVATE_NET:
            say("relay skipped: needs the private network namespace (run.sh, root)")
        elif "relay" in only:
            pair = Pair(args, os.path.join(work, "relay"), relayed=True)
            try:
                rounds = []
                for _ in range(args.repeats):
                    f, w, c = pair.bench(pair.pb.BENCHMARK_TRANSPORT_UDP, args.seconds,
                                         args.chunk)
                    rounds.append(agent_result(pair, f, w, c, "relay"))
                r = sorted(rounds, key=lambda x: x["receiver_bps"])[len(rounds) // 2]
                r = dict(r, samples_bps=[x["receiver_bps"] for x in rounds])
            finally:
                pair.stop()
            out["relay"] = {"agent": r}
            if "udp" in out:
                ratio = r["receiver_bps"] / out["udp"]["agent"]["receiver_bps"]
                out["relay"]["ratio_vs_direct"] = ratio
                print("RELAY relayed/direct receiver goodput: %.2fx (rendezvous %.2f CPU s/GiB "
                      "forwarded)" % (ratio, r["rendezvous_cpu_s_per_gib"] or 0), flush=True)
        if "reliable" in only:
            out["reliable"] = phase_reliable(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2)
        say("data-plane numbers in %s" % args.out)


if __name__ == "__main__":
    main()
