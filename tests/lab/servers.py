"""The lab's public servers, run in the "internet" namespace: coturn as an independent STUN
server on two addresses, and peerlink-rendezvous."""

import os
import re
import socket

import netlab
import stun

STUN_PORT = 3478
RDV_GRPC_PORT = 7800
RDV_UDP_PORT = 3478
RDV_UDP_ALT_PORT = 3479
LAB_TOKEN = "peerlink-lab-token"  # the rendezvous wants a token on a non-loopback address


def start_coturn(lab, log_dir=None, deadline=10.0):
    """coturn in STUN-only mode, no auth, listening on STUN1_IP and STUN2_IP only (not
    loopback). Returns once both addresses answer a Binding request."""
    d = lab.workdir
    proc = lab.spawn(lab.inet, [
        "turnserver", "-n", "--stun-only", "--no-auth",
        "-L", netlab.STUN1_IP, "-L", netlab.STUN2_IP, "--listening-port", str(STUN_PORT),
        "--no-cli", "--no-tls", "--no-dtls", "--no-software-attribute",
        "--log-file", "stdout", "--simple-log",
        "--pidfile", os.path.join(d, "turnserver.pid"), "--db", os.path.join(d, "turndb"),
    ], "coturn", log_dir=log_dir, capture=False)
    with netlab.netns_socket_scope(lab.inet):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((netlab.THIRD_IP, 0))
        for ip in (netlab.STUN1_IP, netlab.STUN2_IP):
            if not stun.binding(s, (ip, STUN_PORT), deadline=deadline):
                raise netlab.LabError("coturn does not answer on %s:%d within %.0fs (log: %s)"
                                      % (ip, STUN_PORT, deadline, proc.log_path))
    finally:
        s.close()
    return proc


def supported_flags(binary):
    """The set of --flags a peerlink program's --help lists."""
    import subprocess
    out = subprocess.run([binary, "--help"], capture_output=True, text=True)
    return set(re.findall(r"^\s*(--[a-z0-9-]+)", out.stdout + out.stderr, re.M))


def start_rendezvous(lab, binary, log_dir=None, deadline=20.0):
    """peerlink-rendezvous on RDV_IP: gRPC on 7800, STUN/relay on 3478 and 3479, no
    auto-pairing. Returns (proc, address-line fields, flags this binary lacks)."""
    wanted = [
        ["--listen", "%s:%d" % (netlab.RDV_IP, RDV_GRPC_PORT)],
        ["--token", LAB_TOKEN],
        ["--udp", "%s:%d" % (netlab.RDV_IP, RDV_UDP_PORT)],
        ["--udp-alt", "%s:%d" % (netlab.RDV_IP, RDV_UDP_ALT_PORT)],
        ["--auto-pair=false"],
    ]
    argv, missing = build_argv(binary, wanted)
    proc = lab.spawn(lab.inet, argv, "rendezvous", log_dir=log_dir)
    line = proc.read_line(deadline)
    proc.drain_stdout()
    return proc, dict(re.findall(r"(\w+)=(\S+)", line)), missing


def build_argv(binary, wanted):
    """binary plus the flags (lists like ["--udp", "ADDR"] or ["--auto-pair=false"]) it
    supports. The flags it lacks are returned, not passed, so the driver can run against
    binaries that predate a feature and say so."""
    have = supported_flags(binary)
    argv, missing = [binary], []
    for item in wanted:
        flag = item[0].split("=", 1)[0]
        if flag in have:
            argv += item
        else:
            missing.append(flag)
    return argv, missing
