"""End-to-end tests written in Python, run by Debian's interpreter through run_py.sh."""

# What every such test needs: the harness, the real programs and the API's .proto files.
E2E_DATA = [
    "//tests/e2e:harness.py",
    "//agent:peerlink-agent",
    "//control/rendezvous:peerlink-rendezvous",
    "//proto:protos",
    "//tests:test_home.sh",
]

def pl_py_e2e_test(name, data = []):
    """sh_test `name` running `name`.py with the programs and protos as data."""
    native.sh_test(
        name = name,
        srcs = ["run_py.sh"],
        args = ["$(location %s.py)" % name],
        data = E2E_DATA + [name + ".py"] + data,
        size = "medium",
    )
