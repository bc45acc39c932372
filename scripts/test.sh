#!/usr/bin/env bash
# Runs every test the way CI does: build, start a throwaway Postgres cluster in a temp
# dir on a free port, run all tests against it, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh

PGDIR=$(mktemp -d /tmp/fleet-test-pg.XXXXXX)
APTDIR=$(mktemp -d /tmp/fleet-test-apt.XXXXXX)
cleanup() { pg_stop "$PGDIR"; rm -rf "$PGDIR" "$APTDIR"; }
trap cleanup EXIT

# The UpdatePackage tests run the real apt-get and dpkg. Pointed at no package lists, apt needs
# no network and does not rebuild a cache of the whole archive (8.5 s of the Swift test phase).
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
cat > "$APTDIR/apt.conf" <<EOF
Dir::Etc::sourcelist "/dev/null";
Dir::Etc::sourceparts "$APTDIR/none";
Dir::State::Lists "$APTDIR/lists";
Dir::Cache "$APTDIR/cache";
EOF

echo "== build"
swift build --build-tests
swift build --product agent-svc
swift build --product node-agent
swift build --product fleet-tui
swift build --product fleet

echo "== postgres"
pg_start "$PGDIR"
echo "postgres on 127.0.0.1:$PGPORT (data in $PGDIR)"
export FLEET_TEST_PG_HOST=127.0.0.1 FLEET_TEST_PG_PORT=$PGPORT

echo "== swift tests"
APT_CONFIG="$APTDIR/apt.conf" swift test --skip-build "$@"

echo "== openapi"
python3 scripts/check_openapi.py

echo "== deploy/: compose, Kong config, Dockerfiles (offline)"
scripts/check-deploy.sh

echo "== fleet-tui driven in tmux against a real agent-svc and node-agent"
FLEET_BIN="$(swift build --show-bin-path)" python3 -m pytest -q -p no:cacheprovider tests/tui

echo "== end-to-end: real agent-svc, node-agent and Postgres"
E2E_SKIP_BUILD=1 scripts/e2e.sh

echo "== faults: Postgres restarts, a SIGKILLed replica, a full state dir, a partitioned and an impaired link"
FAULTS_SKIP_BUILD=1 scripts/faults.sh

echo "== edge: schemathesis over openapi.yaml with every credential, slow and silent clients, SIGTERM with a body pending"
FUZZ_SKIP_BUILD=1 scripts/fuzz.sh
