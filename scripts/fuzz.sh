#!/usr/bin/env bash
# The HTTP edge (issue 16): schemathesis over openapi.yaml with every credential, and hostile
# clients (slow headers, silent connections, SIGTERM with a body pending) against the real
# debug agent-svc and a private Postgres cluster. Installs the pinned schemathesis if missing.
#
#   scripts/fuzz.sh           the bounded run of the README's test command (~4 min)
#   scripts/fuzz.sh --long    the long fuzz: 15 min per audience, 1000 examples per operation
#   scripts/fuzz.sh -k sigterm  extra arguments go to pytest
#
# Environment: FUZZ_SKIP_BUILD=1 (use .build/debug as is), EDGE_BIN_DIR (binaries from
# elsewhere), FUZZ_MAX_TIME / FUZZ_MAX_EXAMPLES / FUZZ_SEED / FUZZ_WORKERS, EDGE_KEEP_DIR=1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCHEMATHESIS_VERSION=4.32.5

if [ "${1:-}" = --long ]; then
    shift
    export FUZZ_MAX_TIME=${FUZZ_MAX_TIME:-900} FUZZ_MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-1000}
    export EDGE_TEST_TIMEOUT=${EDGE_TEST_TIMEOUT:-4500}
    export FUZZ_SEED=${FUZZ_SEED:-$RANDOM}
fi

for tool in python3 psql; do
    command -v "$tool" >/dev/null 2>&1 || { echo "fuzz: $tool is required" >&2; exit 2; }
done
python3 -c 'import pytest, requests, yaml' 2>/dev/null || { echo "fuzz: python3 needs pytest, requests and pyyaml" >&2; exit 2; }
if [ "$(python3 -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
    echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION" >&2
    python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ] && [ -z "${EDGE_BIN_DIR:-}" ]; then
    echo "fuzz: building agent-svc (debug)" >&2
    swift build --product agent-svc
fi

started=$(date +%s)
status=0
python3 -m pytest -q -s tests/edge "$@" || status=$?
echo "fuzz: suite took $(( $(date +%s) - started )) s"
exit $status
