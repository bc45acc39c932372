#!/usr/bin/env bash
# End-to-end tests of agent-svc + node-agent (issue 3): the real debug binaries, a private
# Postgres cluster (scripts/lib/postgres.sh) on a free port, real HTTP, real processes.
#
#   scripts/e2e.sh                 build both binaries, run every e2e test
#   scripts/e2e.sh -k readme -x    extra arguments go to pytest
#
# Environment: E2E_SKIP_BUILD=1 (use the binaries already in .build/debug),
# E2E_BIN_DIR (take the binaries from elsewhere), E2E_LOG_LEVEL (default info),
# E2E_TEST_TIMEOUT (seconds per test, default 90), E2E_KEEP_DIR=1 (keep the temp dir with
# every process log). Works as root: Postgres runs as the postgres user.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in python3 curl psql; do
    command -v "$tool" >/dev/null 2>&1 || { echo "e2e: $tool is required" >&2; exit 2; }
done
python3 -c 'import pytest, requests' 2>/dev/null || { echo "e2e: python3 needs pytest and requests" >&2; exit 2; }

if [ "${E2E_SKIP_BUILD:-0}" != 1 ] && [ -z "${E2E_BIN_DIR:-}" ]; then
    echo "e2e: building agent-svc, node-agent and fleet (debug)" >&2
    swift build --product agent-svc
    swift build --product node-agent
    swift build --product fleet
fi

exec python3 -m pytest -q tests/e2e "$@"
