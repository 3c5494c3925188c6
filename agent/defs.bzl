"""What the agent's glue (the files that see pl_agent) is made of, for agent/BUILD and for the
unit tests that compile the same files against a fake control/rpc."""

AGENT_GLUE_SRCS = [
    "api_files.c",
    "api_bench.c",
    "bench_glue.c",
    "bench_quic.c",
    "bench_tcp.c",
    "bench_udp.c",
    "api_send.c",
    "api_send_tcp.c",
    "candidates.c",
    "connect_wait.c",
    "control_api.c",
    "events.c",
    "link_glue.c",
    "quic_chat.c",
    "quic_glue.c",
    "registration_glue.c",
    "stun_glue.c",
    "tcp_glue.c",
]

AGENT_GLUE_HDRS = [
    "agent.h",
    "bench_glue.h",
    "candidates.h",
    "connect_wait.h",
    "events.h",
]

# The Register stream (with real control/rpc it is //agent:registration).
REGISTRATION_SRCS = ["registration.c"]

REGISTRATION_HDRS = [
    "registration.h",
    "version.h",
]

# What the registration needs besides //control/rpc.
REGISTRATION_DEPS = [
    "//agent:backoff",
    "//agent/identity",
    "//bazel/third_party:libuv",
    "//control/common:err",
    "//control/common:flags",
    "//control/common:hex",
    "//control/common:log",
    "//proto:peerlink_c",
]

# What the glue needs besides the registration and //control/rpc, which the tests replace.
AGENT_GLUE_DEPS = [
    "//agent/bench",
    "//agent:backoff",
    "//agent:link",
    "//agent:stun_client",
    "//agent:transport",
    "//agent/files:inbox",
    "//agent/files:send",
    "//agent/files:wire",
    "//agent/identity",
    "//agent/punch",
    "//agent/quic",
    "//agent/quic:msg",
    "//agent/tcp",
    "//agent/wire:frame",
    "//bazel/third_party:libuv",
    "//bazel/third_party:protobuf_c",
    "//control/common:addr",
    "//control/common:agentlist",
    "//control/common:candidates",
    "//control/common:clock",
    "//control/common:err",
    "//control/common:flags",
    "//control/common:hex",
    "//control/common:log",
    "//proto:peerlink_c",
    "@peerlink_deps//:wolfssl",
]

# Both, once each (for a target that compiles the registration and the glue together).
AGENT_GLUE_AND_REGISTRATION_DEPS = {d: None for d in AGENT_GLUE_DEPS + REGISTRATION_DEPS}.keys()
