"""protobuf-c generation and embedded descriptor sets, with Debian's protoc-c and protoc."""

# Where Debian installs the .proto files we import or serve.
GRPC_PROTO_ROOT = "/usr/share/grpc-proto"
WKT_PROTO_ROOT = "/usr/include"

def _stem(path):
    return path[:-len(".proto")]

def pl_proto_c(name, srcs, deps = [], visibility = None):
    """protobuf-c library for .proto files in this package (import paths relative to it)."""
    outs_c = [_stem(s) + ".pb-c.c" for s in srcs]
    outs_h = [_stem(s) + ".pb-c.h" for s in srcs]
    pkg = native.package_name()
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = outs_c + outs_h,
        # protoc-c names service stubs after the RPC; `Register` becomes the C keyword
        # `register`. We never use the stubs, so rename the identifier.
        cmd = "protoc-c -I%s --c_out=$(RULEDIR) %s && sed -i 's/\\bregister\\b/register_/g' $(OUTS)" % (
            pkg,
            " ".join(["%s/%s" % (pkg, s) for s in srcs]),
        ),
    )
    native.cc_library(
        name = name,
        srcs = outs_c,
        hdrs = outs_h,
        includes = ["."],
        deps = deps + ["//bazel/third_party:protobuf_c"],
        copts = ["-Wno-unused-parameter"],
        visibility = visibility,
    )

def pl_system_proto_c(name, root, protos, visibility = None):
    """protobuf-c library for .proto files installed by Debian under `root`."""
    outs_c = [_stem(s) + ".pb-c.c" for s in protos]
    outs_h = [_stem(s) + ".pb-c.h" for s in protos]
    native.genrule(
        name = name + "_gen",
        outs = outs_c + outs_h,
        cmd = "protoc-c -I%s --c_out=$(RULEDIR) %s" % (
            root,
            " ".join(["%s/%s" % (root, s) for s in protos]),
        ),
    )
    native.cc_library(
        name = name,
        srcs = outs_c,
        hdrs = outs_h,
        includes = ["."],
        deps = ["//bazel/third_party:protobuf_c"],
        copts = ["-Wno-unused-parameter"],
        visibility = visibility,
    )

SERVED_SYSTEM_PROTOS = [
    "grpc/health/v1/health.proto",
    "grpc/reflection/v1/reflection.proto",
    "grpc/reflection/v1alpha/reflection.proto",
]

def pl_descriptor_set(name, srcs, visibility = None):
    """A FileDescriptorSet (with imports) of srcs plus health and reflection, and a C library
    embedding it as `pl_descriptor_set` / `pl_descriptor_set_len`."""
    pkg = native.package_name()
    native.genrule(
        name = name + "_bin",
        srcs = srcs,
        outs = [name + ".pb"],
        cmd = "protoc --include_imports --include_source_info -I%s -I%s -I%s --descriptor_set_out=$@ %s %s" % (
            pkg,
            GRPC_PROTO_ROOT,
            WKT_PROTO_ROOT,
            " ".join(["%s/%s" % (pkg, s) for s in srcs]),
            " ".join(SERVED_SYSTEM_PROTOS),
        ),
    )
    native.genrule(
        name = name + "_c",
        srcs = [name + ".pb"],
        outs = [name + ".c"],
        cmd = "$(location //bazel:embed) pl_descriptor_set < $< > $@",
        tools = ["//bazel:embed"],
    )
    native.cc_library(
        name = name,
        srcs = [name + ".c"],
        hdrs = ["//bazel:descriptor_set.h"],
        include_prefix = "peerlink",
        strip_include_prefix = "/bazel",
        visibility = visibility,
    )
