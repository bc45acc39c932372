#!/usr/bin/env bash
# Benchmarks node-agent (release) against agent-svc (release) on loopback:
# binary size, idle RSS/CPU over a minute, and end-to-end output throughput of
# `head -c 200M /dev/urandom | base64` compared with the command's own run time.
# Usage: scripts/bench-agent.sh [IDLE_SECONDS] [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
IDLE=${1:-60}
MB=${2:-200}

swift build -c release --scratch-path .build-release --product agent-svc
swift build -c release --scratch-path .build-release --product node-agent
BIN=.build-release/release
WORK=$(mktemp -d /tmp/fleet-bench-agent.XXXXXX)
chmod 755 "$WORK"  # the postgres user must reach the cluster inside it
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pg_stop "$WORK/pg"; rm -rf "$WORK"; }
trap cleanup EXIT

pg_start "$WORK/pg"
psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'CREATE DATABASE fleet'
export JWT_SIGNING_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export ENROLLMENT_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=fleet LOG_LEVEL=warning
export PORT=$(pg_free_port)
$BIN/agent-svc >"$WORK/agent-svc.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do curl -sf "localhost:$PORT/readyz" >/dev/null && break; sleep 0.1; done
OP=$($BIN/agent-svc operator-token --name bench)

AGENT_SVC_URL=http://127.0.0.1:$PORT NODE_ID=bench-node STATE_DIR=$WORK/agent LOG_LEVEL=warning \
    $BIN/node-agent >"$WORK/node-agent.log" 2>&1 & AGENT=$!; PIDS+=($AGENT)
sleep 3

size=$(stat -c %s $BIN/node-agent)
stripped=$(strip -o "$WORK/na-stripped" $BIN/node-agent && stat -c %s "$WORK/na-stripped")
echo "node-agent binary: $((size / 1024 / 1024)) MB ($((stripped / 1024 / 1024)) MB stripped)"

ticks() { awk '{print $14 + $15}' /proc/$AGENT/stat; }
hz=$(getconf CLK_TCK)
t0=$(ticks); sleep "$IDLE"; t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' /proc/$AGENT/status)
anon=$(awk '/RssAnon/ {print $2}' /proc/$AGENT/status)
threads=$(awk '/Threads/ {print $2}' /proc/$AGENT/status)
python3 - "$t0" "$t1" "$hz" "$IDLE" "$rss" "$anon" "$threads" <<'PY'
import sys
t0, t1, hz, idle, rss, anon, threads = map(float, sys.argv[1:])
print(f"node-agent idle over {idle:.0f} s: CPU {(t1 - t0) / hz / idle * 100:.2f} % of a core, "
      f"RSS {rss / 1024:.1f} MB ({anon / 1024:.1f} MB anonymous), {threads:.0f} threads")
PY

# The command's own run time, output to a file.
start=$(date +%s.%N); head -c ${MB}M /dev/urandom | base64 > "$WORK/local.out"; end=$(date +%s.%N)
local_s=$(python3 -c "print($end - $start)")
bytes=$(stat -c %s "$WORK/local.out")
python3 scripts/bench_agent_throughput.py "http://127.0.0.1:$PORT" "$OP" bench-node "$MB" "$WORK/remote.out" "$local_s" "$bytes"
echo "node-agent RSS after the run: $(awk '/VmRSS/ {print $2 / 1024 " MB"}' /proc/$AGENT/status)"
