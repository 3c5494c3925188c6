"""The build graph reads bottom-up: no product package depends on one in a higher layer, and
programs never depend on each other (docs/architecture.md, "Layers").

Reads every BUILD file under the product folders and checks each `//package` label it names.
Tests (tests/) sit on top and may use anything.
"""
import os
import re
import sys

# (layer, group) by package prefix; the longest matching prefix wins. Same layer, different
# group: not allowed (e.g. the agent program using the rendezvous's code).
LAYERS = [
    ("bazel", 0, "system libraries"),
    ("proto", 1, "api"),
    ("control/common", 2, "common"),
    ("agent/wire", 3, "wire"),
    ("agent/identity", 3, "identity"),
    ("agent/punch", 4, "punch"),
    ("agent/reliable", 4, "reliable"),
    ("agent/tcp", 4, "tcp"),
    ("control/rpc", 4, "rpc"),
    ("control/lws", 4, "lws"),
    ("control/redis", 4, "redis"),
    ("agent", 5, "agent"),
    ("control/rendezvous", 5, "rendezvous"),
    ("control/bridge", 5, "bridge"),
    ("clients", 5, "clients"),
]
PRODUCT = ("agent", "control", "clients", "proto")
# Who may see a target is not a dependency.
VISIBILITY = re.compile(r"(default_)?visibility\s*=\s*\[[^\]]*\]", re.S)
LABEL = re.compile(r'"//([a-z0-9_/.-]*)(?::[^"]*)?"')


def classify(pkg):
    best = None
    for prefix, layer, group in LAYERS:
        if pkg == prefix or pkg.startswith(prefix + "/"):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer, group)
    return best


def main(root):
    problems = []
    checked = 0
    for top in PRODUCT:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            if "BUILD" not in files:
                continue
            pkg = os.path.relpath(dirpath, root)
            me = classify(pkg)
            if me is None:
                problems.append("%s: no layer assigned (add it to LAYERS and the doc)" % pkg)
                continue
            text = VISIBILITY.sub("", open(os.path.join(dirpath, "BUILD")).read())
            for dep in LABEL.findall(text):
                if dep == "" or dep == pkg:
                    continue
                other = classify(dep)
                checked += 1
                if other is None:
                    if not dep.startswith("tests"):
                        problems.append("%s -> //%s: no layer assigned" % (pkg, dep))
                    else:
                        problems.append("%s -> //%s: product code depends on tests" % (pkg, dep))
                    continue
                if other[1] > me[1]:
                    problems.append("%s (layer %d) -> //%s (layer %d): upward"
                                    % (pkg, me[1], dep, other[1]))
                elif other[1] == me[1] and other[2] != me[2]:
                    problems.append("%s -> //%s: sideways between %s and %s"
                                    % (pkg, dep, me[2], other[2]))
    for p in problems:
        print("layers: " + p)
    print("layers: %d dependency labels checked, %d problems" % (checked, len(problems)))
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
