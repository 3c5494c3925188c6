"""Cross-checks pl_pbjson_encode against python3-protobuf's json_format.

Random messages of several types are serialized, sent to pbjson_dump, and the JSON it prints
must parse to the same value as json_format.MessageToDict of the same message. Pretty output
must be the compact output plus whitespace. Deterministic: the seed is fixed.

pbjson supports no map fields and no well-known types: this also fails when a message in the
served API (peerlink, health, reflection) starts using one.

usage: crosscheck.py PBJSON_DUMP TEST_DESCRIPTOR_SET PEERLINK_DESCRIPTOR_SET
"""

import json
import math
import random
import struct
import subprocess
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor as FD

EMIT, PRETTY, PROTO_NAMES = 1, 2, 4
PER_TYPE = 200
MAX_DEPTH = 3

TYPES = [
    "pbjsontest.Everything",
    "pbjsontest.Proto2",
    "peerlink.v1.GetStatusResponse",
    "peerlink.v1.ListPeersResponse",
    "peerlink.v1.WatchEventsResponse",
    "peerlink.v1.ConnectRequest",
    "peerlink.v1.BenchmarkResponse",
    "peerlink.v1.RegisterRequest",
    "peerlink.v1.RegisterResponse",
]

rng = random.Random(20240501)

INT_EDGES = {
    32: [0, 1, -1, 2**31 - 1, -(2**31)],
    64: [0, 1, -1, 2**63 - 1, -(2**63), 2**53 + 1],
    "u32": [0, 1, 2**32 - 1],
    "u64": [0, 1, 2**64 - 1, 2**53 + 1],
}
INT_RANGES = {32: (-(2**31), 2**31 - 1), 64: (-(2**63), 2**63 - 1), "u32": (0, 2**32 - 1),
              "u64": (0, 2**64 - 1)}
INT_KIND = {
    FD.TYPE_INT32: 32, FD.TYPE_SINT32: 32, FD.TYPE_SFIXED32: 32,
    FD.TYPE_INT64: 64, FD.TYPE_SINT64: 64, FD.TYPE_SFIXED64: 64,
    FD.TYPE_UINT32: "u32", FD.TYPE_FIXED32: "u32",
    FD.TYPE_UINT64: "u64", FD.TYPE_FIXED64: "u64",
}


def rand_int(kind):
    if rng.random() < 0.4:
        return rng.choice(INT_EDGES[kind])
    lo, hi = INT_RANGES[kind]
    bits = rng.choice([4, 16, 31, 52, 63, 64])
    v = rng.randrange(0, 2**bits)
    if lo < 0 and rng.random() < 0.5:
        v = -v
    return max(lo, min(hi, v))


def rand_double():
    r = rng.random()
    if r < 0.05:
        return rng.choice([math.nan, math.inf, -math.inf])
    if r < 0.3:
        return rng.choice([0.1, 1.5, 1e21, 1e20, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308,
                           123456789.0, -2.0, 0.30000000000000004])
    return rng.uniform(-1, 1) * 10 ** rng.randint(-320, 300)


def rand_float():
    d = rand_double()
    if math.isfinite(d) and abs(d) > 3.4e38:
        d = math.copysign(3.4e38, d)
    return struct.unpack("f", struct.pack("f", d))[0]


def rand_string():
    alphabet = ["a", "Z", "0", " ", '"', "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f", "é",
                "€", "\u2028", "😀", "中"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


def rand_scalar(f):
    t = f.type
    if t in INT_KIND:
        return rand_int(INT_KIND[t])
    if t == FD.TYPE_DOUBLE:
        return rand_double()
    if t == FD.TYPE_FLOAT:
        return rand_float()
    if t == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if t == FD.TYPE_STRING:
        return rand_string()
    if t == FD.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 7)))
    if t == FD.TYPE_ENUM:
        values = [v.number for v in f.enum_type.values]
        if f.file.syntax == "proto3" and rng.random() < 0.1:
            return 77  # open enum: an unknown value
        return rng.choice(values)
    raise AssertionError(t)


def fill(msg, depth=0):
    for f in msg.DESCRIPTOR.fields:
        required = f.label == FD.LABEL_REQUIRED
        if not required and rng.random() < 0.4:
            continue
        is_msg = f.type == FD.TYPE_MESSAGE
        if is_msg and depth >= MAX_DEPTH and not required:
            continue
        if f.label == FD.LABEL_REPEATED:
            rep = getattr(msg, f.name)
            for _ in range(rng.randint(0, 3)):
                if is_msg:
                    fill(rep.add(), depth + 1)
                else:
                    rep.append(rand_scalar(f))
        elif is_msg:
            sub = getattr(msg, f.name)
            sub.SetInParent()
            fill(sub, depth + 1)
        else:
            setattr(msg, f.name, rand_scalar(f))


def unsupported_fields(fds):
    """Fields of the served messages that pbjson cannot print: maps and well-known types."""
    bad = []

    def walk(prefix, msgs):
        for m in msgs:
            name = prefix + m.name
            for f in m.field:
                if f.type_name.startswith(".google.protobuf.") and f.type_name not in (
                        ".google.protobuf.Empty",):
                    bad.append("%s.%s (%s)" % (name, f.name, f.type_name[1:]))
            for n in m.nested_type:
                if n.options.map_entry:
                    bad.append("%s.%s (a map)" % (name, n.name))
            walk(name + ".", m.nested_type)

    for fd in fds.file:
        if not fd.package.startswith("google.protobuf"):
            walk(fd.package + ".", fd.message_type)
    return bad


def minify(text):
    """Drops whitespace outside strings."""
    out, in_str, esc = [], False, False
    for c in text:
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c not in " \n":
            out.append(c)
    return "".join(out)


def drop_extra_nulls(ours, theirs):
    """json_format never prints unset message fields; our EMIT_DEFAULTS prints them as null."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return {k: drop_extra_nulls(v, theirs.get(k)) for k, v in ours.items()
                if not (v is None and k not in theirs)}
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [drop_extra_nulls(a, b) for a, b in zip(ours, theirs)]
    return ours


def f32(v):
    try:
        return struct.unpack("f", struct.pack("f", float(v)))[0]
    except OverflowError:
        return math.inf


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        # "1e+20" and "100000000000000000000" are the same JSON number
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if float(a) == float(b) or (math.isnan(a) and math.isnan(b)):
                return True
            # json_format prints float fields with at least 6 digits, we print the shortest
            # that reads back: equal when both read back to the same float32.
            return f32(a) == f32(b) and math.isfinite(f32(a))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) == type(b) and a == b


def first_diff(a, b, path=""):
    """The path and the two values where a and b first differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s" % (path, k), a.get(k, "<absent>"), b.get(k, "<absent>")
            if not same(a[k], b[k]):
                return first_diff(a[k], b[k], "%s.%s" % (path, k))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if not same(x, y):
                return first_diff(x, y, "%s[%d]" % (path, i))
    return path, a, b


def main():
    dump, test_set, peerlink_set = sys.argv[1:4]
    classes = {}
    for path in (test_set, peerlink_set):
        fds = descriptor_pb2.FileDescriptorSet()
        with open(path, "rb") as fp:
            fds.ParseFromString(fp.read())
        if path == peerlink_set:
            bad = unsupported_fields(fds)
            assert not bad, "pbjson cannot print these fields of the served API: %s" % bad
        pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            pool.Add(fd)
        factory = message_factory.MessageFactory(pool)
        for t in TYPES:
            try:
                classes[t] = factory.GetPrototype(pool.FindMessageTypeByName(t))
            except KeyError:
                pass
    assert sorted(classes) == sorted(TYPES), sorted(classes)

    cases, lines = [], []
    for t in TYPES:
        for _ in range(PER_TYPE):
            msg = classes[t]()
            fill(msg)
            data = msg.SerializeToString()
            for flags in (0, EMIT, PROTO_NAMES, EMIT | PROTO_NAMES, PRETTY):
                cases.append((t, flags, msg))
                lines.append("%s %d %s\n" % (t, flags, data.hex()))
    proc = subprocess.run([dump], input="".join(lines).encode(), stdout=subprocess.PIPE,
                          check=True)
    outputs = proc.stdout.decode().split("\n\x1e\n")[:-1]
    assert len(outputs) == len(cases), (len(outputs), len(cases))

    failures, compact = 0, {}
    for (t, flags, msg), out in zip(cases, outputs):
        key = (id(msg), flags & ~PRETTY)
        if flags & PRETTY:
            if minify(out) != compact[key]:
                failures += 1
                print("PRETTY mismatch for %s:\n%s\n%s" % (t, out, compact[key]))
            continue
        compact[key] = out
        want = json_format.MessageToDict(
            msg, including_default_value_fields=bool(flags & EMIT),
            preserving_proto_field_name=bool(flags & PROTO_NAMES))
        try:
            got = json.loads(out)
        except ValueError as e:
            failures += 1
            print("invalid JSON (%s) for %s: %s" % (e, t, out))
            continue
        if flags & EMIT:
            got = drop_extra_nulls(got, want)
        if not same(got, want):
            failures += 1
            if failures <= 20:
                print("MISMATCH %s flags=%d at %s: ours %r, json_format %r" %
                      ((t, flags) + first_diff(got, want)))
    print("crosscheck: %d cases, %d failures" % (len(cases), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
