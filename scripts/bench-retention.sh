#!/usr/bin/env bash
# Retention benchmark (loopback): does deleting a large backlog of old output stall live log
# ingest? Seeds --gib GiB of output that finished 40 days ago straight into a throwaway Postgres,
# restarts agent-svc with LOG_RETENTION_DAYS=30 and uploads 64 KiB chunks back to back while the
# sweeper drains the backlog; the same uploads before it (backlog not due) are the baseline, and
# after it until autovacuum has cleaned up what it left (the rest of the bill).
# Prints figures, asserts nothing (the target, no stall over 100 ms, is in the issue).
#
# Usage: scripts/bench-retention.sh [--gib N] [--timeout S] [--seconds S] [--vacuum-wait S] [--bin DIR]
#   --gib N       old output to seed (default 10; fractions work, e.g. 0.5 to try it out)
#   --timeout S   time box for the sweep, from agent-svc's start (default 900)
#   --seconds S   ingest before the sweep, and at least as long after it (default 10)
#   --vacuum-wait S  then at most this long for autovacuum to finish (default 120; ingest goes on)
#   --bin DIR     agent-svc's directory (default .build-release/release; .build/debug to try it out)
# The logic is in scripts/bench_retention.py (Python 3 with requests).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
. scripts/lib/fleet.sh

GIB=10 TIMEOUT=900 SECONDS_=10 VACUUM_WAIT=120 BIN=.build-release/release
while [ $# -gt 0 ]; do
    case $1 in
        --gib) GIB=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --seconds) SECONDS_=$2; shift 2 ;;
        --vacuum-wait) VACUUM_WAIT=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[ -x "$BIN/agent-svc" ] || { echo "no $BIN/agent-svc (swift build -c release --scratch-path .build-release" \
    "--product agent-svc, or pass --bin DIR)" >&2; exit 2; }
FLEET_BIN=$(cd "$BIN" && pwd) FLEET_LOG_LEVEL=warning

WORK=$(mktemp -d /tmp/fleet-bench-retention.XXXXXX)
chmod 755 "$WORK"   # the postgres user must reach the cluster inside it
SVC_PID= PY_PID=
cleanup() {
    [ -n "$PY_PID" ] && { kill "$PY_PID" 2>/dev/null || true; }   # in the background, so deaf to Ctrl-C
    [ -n "$SVC_PID" ] && fleet_stop_pids "$SVC_PID"
    # A subshell: run from a trap, pg_bindir's bare `return` would hand back the signal's status.
    (pg_stop "$WORK/pg")
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM   # through the EXIT trap, wherever Ctrl-C lands
stop_svc() { fleet_stop_pids "$SVC_PID"; SVC_PID=; }

START=$(date +%s)
pg_start "$WORK/pg"   # scripts/lib/postgres.sh: loopback, fsync off (a disposable cluster)
fleet_createdb fleet
fleet_secrets "$WORK/secrets.env"
PORT=$(pg_free_port)
URL=http://127.0.0.1:$PORT
# The live node never polls again after claiming its command: keep its run from being marked lost.
export LOST_AFTER_SEC=86400

echo "== migrate, then seed $GIB GiB of old output"
fleet_start_svc "$PORT" "$WORK/agent-svc.log"
stop_svc
python3 scripts/bench_retention.py seed --gib "$GIB"

echo "== baseline: the backlog is there but not due (LOG_RETENTION_DAYS=3650)"
export LOG_RETENTION_DAYS=3650 HISTORY_RETENTION_DAYS=3650
fleet_start_svc "$PORT" "$WORK/agent-svc.log"
OP=$("$FLEET_BIN/agent-svc" operator-token --name bench)
python3 scripts/bench_retention.py baseline "$URL" "$ENROLLMENT_TOKEN" "$OP" --state "$WORK/state.json" \
    --seconds "$SECONDS_"
stop_svc

echo "== sweep: agent-svc with LOG_RETENTION_DAYS=30 (history kept: HISTORY_RETENTION_DAYS=365)"
export LOG_RETENTION_DAYS=30 HISTORY_RETENTION_DAYS=365
# The sweeper starts with the service, before /readyz answers: ingest waits for it already.
SINCE=$(date +%s.%N)
python3 scripts/bench_retention.py sweep "$URL" --state "$WORK/state.json" --since "$SINCE" \
    --timeout "$TIMEOUT" --seconds "$SECONDS_" --vacuum-wait "$VACUUM_WAIT" &
PY_PID=$!
fleet_start_svc "$PORT" "$WORK/agent-svc.log"
wait "$PY_PID"
PY_PID=
if grep -qiE "error|warning" "$WORK/agent-svc.log"; then
    echo "agent-svc logged (last lines):"; grep -iE "error|warning" "$WORK/agent-svc.log" | tail -5
fi
echo "whole run: $(( $(date +%s) - START )) s"
