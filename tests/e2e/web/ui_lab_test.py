"""The browser UI behind real NATs (the NAT lab, root only): alice behind a home NAT, bob behind
an easy one, each with its bridge in its own namespace and a Chromium there too (a person on
that machine). The Node driver (ui_lab.js) runs the same scenario as the loopback test."""

import json
import os
import subprocess
import sys

import agentctl
import netlab
import servers

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE = 20.0


def start_bridge(lab, name, agent, ns, ui_dir, logs):
    bridge = agentctl.runfile("control/bridge/peerlink-bridge", "bin/peerlink-bridge")
    proc = lab.spawn(ns, [bridge, "--agent", agent.fields["control"], "--listen", "127.0.0.1:0",
                          "--ui", ui_dir], "bridge-" + name, log_dir=logs)
    line = proc.read_line(DEADLINE)
    proc.drain_stdout()
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    if "listen" not in fields:
        raise netlab.LabError("bridge %s printed no listen= address: %s" % (name, line))
    return "http://%s/" % fields["listen"]


def main():
    if os.geteuid() != 0:
        print("SKIPPED: the NAT lab needs root (network namespaces, nftables); running as uid %d"
              % os.geteuid())
        return 0
    pb, pb_grpc, logs = agentctl.test_setup()
    ui_dir = os.environ["PEERLINK_UI_DIR"]
    with agentctl.served_lab(logs) as lab:
        sides = {}
        for name, kind, no in (("alice", "home", 1), ("bob", "easy", 2)):
            site = lab.site(kind, no)
            ns = site.hosts[0]
            extra = []
            if "--files-dir" in servers.supported_flags(agentctl.DEFAULT_AGENT):
                files = os.path.join(lab.workdir, name + "-files")
                os.makedirs(files)
                extra = [("--files-dir", files)]
            agent = agentctl.Agent(lab, ns, agentctl.DEFAULT_AGENT, name, pb, pb_grpc, logs,
                                   extra=extra)
            if agent.wait_registered(DEADLINE) is None:
                raise netlab.LabError("%s never registered" % name)
            sides[name] = {"ns": ns, "pid": agent.proc.pid, "fields": agent.fields,
                           "url": start_bridge(lab, name, agent, ns, ui_dir, logs)}
        config = dict(sides, kind="direct", file=os.path.join(lab.workdir, "report.bin"))
        env = dict(os.environ, PEERLINK_UI_LAB=json.dumps(config))
        return subprocess.run(["node", os.path.join(HERE, "ui_lab.js")], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
