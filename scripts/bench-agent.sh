#!/usr/bin/env bash
# Benchmarks node-agent (release) against agent-svc (release) on loopback:
# binary size, idle RSS/CPU over a minute, and end-to-end output throughput of
# `head -c 200M /dev/urandom | base64` compared with the command's own run time.
# Usage: scripts/bench-agent.sh [IDLE_SECONDS] [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
. scripts/lib/fleet.sh
IDLE=${1:-60}
MB=${2:-200}

swift build -c release --scratch-path .build-release --product agent-svc
swift build -c release --scratch-path .build-release --product node-agent
FLEET_BIN=.build-release/release FLEET_LOG_LEVEL=warning
BIN=$FLEET_BIN
WORK=$(mktemp -d /tmp/fleet-bench-agent.XXXXXX)
chmod 755 "$WORK"  # the postgres user must reach the cluster inside it
SVC_PID=
NODE_PIDS=()
cleanup() { fleet_stop_pids ${SVC_PID:+"$SVC_PID"} "${NODE_PIDS[@]}"; pg_stop "$WORK/pg"; rm -rf "$WORK"; }
trap cleanup EXIT

pg_start "$WORK/pg"
fleet_createdb fleet
fleet_secrets "$WORK/secrets.env"
PORT=$(pg_free_port)
fleet_start_svc "$PORT" "$WORK/agent-svc.log"
OP=$("$FLEET_BIN/agent-svc" operator-token --name bench)
fleet_start_node bench-node "" "$WORK/agent" "$WORK/node-agent.log" "http://127.0.0.1:$PORT"
AGENT=${NODE_PIDS[0]}
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
