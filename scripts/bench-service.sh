#!/usr/bin/env bash
# Benchmarks the release agent-svc on loopback against a throwaway Postgres cluster.
# Usage: scripts/bench-service.sh [--submits N] [--ingest-mib M] [--streams K]
#        POLLERS=10000 scripts/bench-service.sh ...   also holds that many long-polling nodes
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh

swift build -c release --scratch-path .build-release --product agent-svc
PGDIR=$(mktemp -d /tmp/fleet-bench-pg.XXXXXX)
SVC_PID=
cleanup() { [ -n "$SVC_PID" ] && kill "$SVC_PID" 2>/dev/null; wait 2>/dev/null; pg_stop "$PGDIR"; rm -rf "$PGDIR"; }
trap cleanup EXIT
pg_start "$PGDIR"
psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'CREATE DATABASE fleet'

export JWT_SIGNING_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export ENROLLMENT_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=fleet LOG_LEVEL=warning
export PORT=$(pg_free_port) MAX_BODY_BYTES=$((16 * 1024 * 1024))
ulimit -n 65536 2>/dev/null || true   # 10,000 pollers need as many sockets
.build-release/release/agent-svc >"$PGDIR/agent-svc.log" 2>&1 &
SVC_PID=$!
for _ in $(seq 100); do curl -sf "localhost:$PORT/readyz" >/dev/null && break; sleep 0.1; done
OP=$(.build-release/release/agent-svc operator-token --name bench)
pg_ticks() { cat /proc/$(head -1 "$PGDIR/data/postmaster.pid")/task/*/stat 2>/dev/null >/dev/null; ps -u postgres -o times= | awk '{s+=$1} END {print s}'; }
SVC_T0=$(awk "{print \$14+\$15}" /proc/$SVC_PID/stat)
PG_T0=$(pg_ticks)
python3 scripts/bench_service.py "http://127.0.0.1:$PORT" "$ENROLLMENT_TOKEN" "$OP" "$@"
echo "agent-svc CPU during the run: $(( ($(awk "{print \$14+\$15}" /proc/$SVC_PID/stat) - SVC_T0) / $(getconf CLK_TCK) )) s"
echo "postgres CPU during the run: $(( $(pg_ticks) - PG_T0 )) s"
echo "agent-svc RSS after the run: $(awk '/VmRSS/ {print $2 / 1024 " MB"}' /proc/$SVC_PID/status)"
if [ -n "${POLLERS:-}" ]; then
    python3 scripts/bench_pollers.py "http://127.0.0.1:$PORT" "$ENROLLMENT_TOKEN" "$SVC_PID" --nodes "$POLLERS" --seconds 60
fi
