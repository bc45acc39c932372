#!/usr/bin/env bash
# Fault drills (issue 15): the real debug binaries against a private Postgres cluster, with
# Postgres restarted mid-stream, an agent-svc replica SIGKILLed during a burst of submits, a
# node's state dir on a small tmpfs, and one node behind a partitioned / impaired link (a
# network namespace, a TUN pair and a userspace forwarder: this kernel has no sch_netem).
# Prints the recovery times it measures. Needs root (mount, ip netns); a drill the kernel
# refuses is skipped with a loud message, never silently.
#
#   scripts/faults.sh              build both binaries, run every drill
#   scripts/faults.sh -k partition extra arguments go to pytest
#
# Environment: FAULTS_SKIP_BUILD=1 (use .build/debug as is), FAULTS_BIN_DIR (binaries from
# elsewhere), FAULTS_LOG_LEVEL (default info), FAULTS_TEST_TIMEOUT (seconds per drill,
# default 150), FAULTS_KEEP_DIR=1 (keep every process log).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in python3 curl psql ip mount; do
    command -v "$tool" >/dev/null 2>&1 || { echo "faults: $tool is required" >&2; exit 2; }
done
python3 -c 'import pytest, requests' 2>/dev/null || { echo "faults: python3 needs pytest and requests" >&2; exit 2; }

if [ "${FAULTS_SKIP_BUILD:-0}" != 1 ] && [ -z "${FAULTS_BIN_DIR:-}" ]; then
    echo "faults: building agent-svc and node-agent (debug)" >&2
    swift build --product agent-svc
    swift build --product node-agent
fi

started=$(date +%s)
status=0
python3 -m pytest -q -s tests/faults "$@" || status=$?
echo "faults: suite took $(( $(date +%s) - started )) s"
exit $status
