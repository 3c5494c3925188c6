"""Repository rule: expose the bootstrapped wolfSSL + ngtcp2 prefix (see bazel/deps.sh)."""

def _impl(ctx):
    prefix = ctx.os.environ.get("PEERLINK_DEPS_PREFIX", "")
    if not prefix:
        home = ctx.os.environ.get("HOME", "/root")
        prefix = home + "/.cache/peerlink/deps"
    ctx.symlink(prefix + "/include", "include")
    ctx.symlink(prefix + "/lib", "lib")
    ctx.file("WORKSPACE", "workspace(name = \"peerlink_deps\")\n")
    ctx.file("BUILD", ctx.read(ctx.attr._build))

peerlink_deps_repository = repository_rule(
    implementation = _impl,
    environ = ["PEERLINK_DEPS_PREFIX", "HOME"],
    local = True,
    attrs = {"_build": attr.label(default = "//bazel/third_party:peerlink_deps.BUILD")},
)
