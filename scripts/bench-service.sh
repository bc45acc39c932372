#!/usr/bin/env bash
# Benchmarks the release agent-svc on loopback against a throwaway Postgres cluster.
# Usage: scripts/bench-service.sh [--submits N] [--ingest-mib M] [--streams K]
#        POLLERS=10000 scripts/bench-service.sh ...   also holds that many long-polling nodes
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
. scripts/lib/fleet.sh

swift build -c release --scratch-path .build-release --product agent-svc
FLEET_BIN=.build-release/release FLEET_LOG_LEVEL=warning
PGDIR=$(mktemp -d /tmp/fleet-bench-pg.XXXXXX)
SVC_PID=
cleanup() { [ -n "$SVC_PID" ] && fleet_stop_pids "$SVC_PID"; pg_stop "$PGDIR"; rm -rf "$PGDIR"; }
trap cleanup EXIT
pg_start "$PGDIR"
fleet_createdb fleet
fleet_secrets "$PGDIR/secrets.env"
PORT=$(pg_free_port)
export MAX_BODY_BYTES=$((16 * 1024 * 1024))
ulimit -n 65536 2>/dev/null || true   # 10,000 pollers need as many sockets
fleet_start_svc "$PORT" "$PGDIR/agent-svc.log"
OP=$("$FLEET_BIN/agent-svc" operator-token --name bench)
pg_ticks() { ps -u postgres -o times= | awk '{s+=$1} END {print s}'; }
SVC_T0=$(awk "{print \$14+\$15}" /proc/$SVC_PID/stat)
PG_T0=$(pg_ticks)
python3 scripts/bench_service.py "http://127.0.0.1:$PORT" "$ENROLLMENT_TOKEN" "$OP" "$@"
echo "agent-svc CPU during the run: $(( ($(awk "{print \$14+\$15}" /proc/$SVC_PID/stat) - SVC_T0) / $(getconf CLK_TCK) )) s"
echo "postgres CPU during the run: $(( $(pg_ticks) - PG_T0 )) s"
echo "agent-svc RSS after the run: $(awk '/VmRSS/ {print $2 / 1024 " MB"}' /proc/$SVC_PID/status)"
if [ -n "${POLLERS:-}" ]; then
    python3 scripts/bench_pollers.py "http://127.0.0.1:$PORT" "$ENROLLMENT_TOKEN" "$SVC_PID" --nodes "$POLLERS" --seconds 60
fi
