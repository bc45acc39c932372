# agent-svc: the Fleet control plane.
#   docker build -f deploy/agent-svc.Dockerfile -t fleet/agent-svc .    (from the repo root)
# Build on the official Swift image (Debian 12, the same glibc as the runtime stage), run on
# debian:bookworm-slim with only what the static-stdlib binary needs at run time.

ARG SWIFT_IMAGE=swift:6.2-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
WORKDIR /build
# Dependencies first, in their own layer: they change far less often than the sources.
# Package.resolved pins every version when it is present.
COPY Package.swift Package.resolve[d] ./
RUN if [ -f Package.resolved ]; then swift package resolve --force-resolved-versions; \
    else swift package resolve; fi
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product agent-svc \
    && mkdir -p /staging \
    && bin="$(swift build -c release --show-bin-path)" \
    && cp "$bin/agent-svc" /staging/ \
    && objcopy --strip-debug /staging/agent-svc \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/ \
    && find -L "$bin" -maxdepth 1 -name '*.resources' -exec cp -Ra {} /staging/ \;

FROM ${RUNTIME_IMAGE} AS runtime
# libstdc++6: the static Swift stdlib still links it dynamically; ca-certificates: TLS to
# a managed Postgres; tzdata: Foundation time zones.
# Versions are not pinned: Debian's security updates replace them within a release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libstdc++6 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fleet \
    && useradd --system --uid 10001 --gid fleet --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin fleet
COPY --from=build /staging/ /usr/local/bin/
COPY migrations /usr/share/fleet/migrations
COPY deploy/bin/fleet-entrypoint.sh deploy/bin/http-healthcheck.sh /usr/local/bin/

ENV PORT=8080 \
    HOST=0.0.0.0 \
    MIGRATIONS_DIR=/usr/share/fleet/migrations \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/bin/swift-backtrace-static
USER 10001:10001
EXPOSE 8080
# Ready = Postgres reachable and every migration applied (agent-svc migrates at start).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/http-healthcheck.sh", "http://127.0.0.1:8080/readyz"]
# agent-svc handles SIGTERM itself (swift-service-lifecycle) and spawns no children.
ENTRYPOINT ["/usr/local/bin/fleet-entrypoint.sh", "/usr/local/bin/agent-svc"]
CMD ["serve"]
