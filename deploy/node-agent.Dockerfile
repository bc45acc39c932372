# node-agent: one Fleet node per container (demo and test fleets under compose).
#   docker build -f deploy/node-agent.Dockerfile -t fleet/node-agent .   (from the repo root)
# Build on the official Swift image (Debian 12, the same glibc as the runtime stage), run on
# debian:bookworm-slim with only what the static-stdlib binary needs at run time.

ARG SWIFT_IMAGE=swift:6.2-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
# GRDB links the system SQLite.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY Package.swift Package.resolve[d] ./
RUN if [ -f Package.resolved ]; then swift package resolve --force-resolved-versions; \
    else swift package resolve; fi
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product node-agent \
    && mkdir -p /staging \
    && bin="$(swift build -c release --show-bin-path)" \
    && cp "$bin/node-agent" /staging/ \
    && objcopy --strip-debug /staging/node-agent \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/ \
    && find -L "$bin" -maxdepth 1 -name '*.resources' -exec cp -Ra {} /staging/ \;

FROM ${RUNTIME_IMAGE} AS runtime
# libsqlite3-0: the agent's store; libstdc++6 and zlib1g: linked by the static-stdlib binary
# (Swift runtime, HTTP compression); ca-certificates: https agent-svc URLs and UpdateAgent
# downloads; tini: reaps the commands' orphans and forwards signals when run without
# --init; tzdata: Foundation time zones.
# Versions are not pinned: Debian's security updates replace them within a release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-0 libstdc++6 zlib1g ca-certificates tini tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fleet \
    && useradd --system --uid 10001 --gid fleet --home-dir /var/lib/fleet --no-create-home \
        --shell /bin/sh fleet \
    && install -d -o fleet -g fleet -m 0700 /var/lib/fleet \
    && install -d -o fleet -g fleet -m 0755 /opt/fleet/bin
COPY --from=build /staging/ /usr/local/bin/
# The agent binary sits in a directory the agent owns so that UpdateAgent can swap it (the
# update downloads beside it and renames). A recreated container starts again from the
# image's binary: roll new versions into the image as well.
RUN mv /usr/local/bin/node-agent /opt/fleet/bin/node-agent && chown fleet:fleet /opt/fleet/bin/node-agent
COPY deploy/bin/fleet-entrypoint.sh /usr/local/bin/

# NODE_ID is deliberately not set: it defaults to the host name, which is the container id
# under compose, so every replica of `--scale node-agent=N` enrolls as its own node. Once
# registered, the identity file in STATE_DIR keeps the node id across restarts.
ENV STATE_DIR=/var/lib/fleet \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/bin/swift-backtrace-static
# The identity file (0600) and the SQLite store; compose gives each replica its own volume.
VOLUME ["/var/lib/fleet"]
USER 10001:10001
# Healthy = enrolled: the identity file exists (the agent exits if its identity is refused).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/bin/sh", "-c", "test -s \"${STATE_DIR:-/var/lib/fleet}/identity.json\""]
# tini -s: a subreaper even when compose's `init: true` already runs an init as PID 1.
# node-agent exits 0 on SIGTERM after stopping its commands.
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "/usr/local/bin/fleet-entrypoint.sh", "/opt/fleet/bin/node-agent"]
