"""Reference server for the GetStatus benchmark: peerlink.v1.Agent/GetStatus served by grpcio
(Debian's python3-grpcio, whose transport is the same gRPC C core our server uses).

Usage: /usr/bin/python3 ref_server.py GEN_DIR
GEN_DIR holds agent_pb2*.py and common_pb2.py, made by run.sh with protoc and
grpc_python_plugin from proto/peerlink/v1. Prints "ref: grpc=127.0.0.1:PORT" once serving.

grpc.aio rather than the thread-pool server: like peerlink's servers it runs every handler on
one event loop, so the comparison is between two single-loop servers on the same C core."""

import asyncio
import sys
import time

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from peerlink.v1 import agent_pb2, agent_pb2_grpc  # noqa: E402

STARTED = time.monotonic()


class Agent(agent_pb2_grpc.AgentServicer):
    async def GetStatus(self, request, context):
        # Same fields as peerlink-agent fills, so both answers are about the same size.
        return agent_pb2.GetStatusResponse(
            id="0123456789abcdef0123456789abcdef",
            name="bench-ref",
            version="0.1.0",
            uptime_seconds=int(time.monotonic() - STARTED),
            rendezvous_state=agent_pb2.RENDEZVOUS_STATE_REGISTERED,
            rendezvous_address="127.0.0.1:7800",
            control_address="127.0.0.1:7700",
            udp_address="127.0.0.1:40000",
            nat_behavior=1,  # NAT_BEHAVIOR_UNKNOWN
            cert_fingerprint="0" * 64,
        )


async def main():
    server = grpc.aio.server()
    agent_pb2_grpc.add_AgentServicer_to_server(Agent(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"ref: grpc=127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
