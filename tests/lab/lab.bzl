"""Lab tests: Python scripts run by Debian's interpreter through run_py.sh. Those that build
namespaces need root and the host's network stack, so they run outside the sandbox, one at a
time; run_py.sh skips them (passing) when not root."""

LAB_LIB = [
    "nat_rules.py",
    "netlab.py",
    "servers.py",
    "stun.py",
    "//tests:test_home.sh",
]

# What a test that drives real agents needs besides its script.
AGENT_DATA = [
    "agentctl.py",
    "//agent:peerlink-agent",
    "//control/rendezvous:peerlink-rendezvous",
    "//proto:protos",
]

def pl_lab_test(name, script = None, args = [], data = [], size = "medium", root = True):
    """sh_test `name` running `script` (default `name`.py) with the lab library as data."""
    script = script or name + ".py"
    native.sh_test(
        name = name,
        size = size,
        srcs = ["run_py.sh"],
        args = ([] if root else ["--any-user"]) + ["$(location %s)" % script] + args,
        data = LAB_LIB + [script] + data,
        tags = ["exclusive", "local"] if root else [],
    )
