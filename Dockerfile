# peerlink programs in a slim runtime image. The build stage runs exactly what a developer
# runs: `make setup` (Debian packages, wolfSSL + ngtcp2 from Debian source packages) and
# `make build`.
FROM debian:bookworm AS build
RUN apt-get update -q && apt-get install -y -q --no-install-recommends make ca-certificates sudo \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make setup && make build

FROM debian:bookworm-slim AS runtime
# Shared libraries the programs link against: bazel/runtime-packages.txt, the one list.
COPY bazel/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update -q \
    && grep -v '^\s*#' /tmp/runtime-packages.txt | xargs apt-get install -y -q --no-install-recommends \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
    && useradd --system --home /var/lib/peerlink --create-home peerlink
COPY --from=build /src/bin/ /usr/local/bin/
# The browser UI the bridge serves (peerlink-bridge --ui /usr/local/share/peerlink/web).
COPY --from=build /src/clients/web/dist/ /usr/local/share/peerlink/web/
USER peerlink
WORKDIR /var/lib/peerlink
# The rendezvous by default; run peerlink-agent or peerlinkctl by naming them.
EXPOSE 7800/tcp 3478/udp
ENTRYPOINT ["peerlink-rendezvous"]
# A non-loopback gRPC listener needs a token: run with -e PEERLINK_TOKEN=... (no default token,
# so a forgotten one fails at start instead of leaving a well-known secret).
CMD ["--listen", "0.0.0.0:7800", "--udp", "0.0.0.0:3478"]
