#!/usr/bin/env bash
# Benchmarks node-agent (release) against agent-svc (release) on loopback:
# binary size, idle RSS/CPU, and end-to-end output throughput of
# `head -c TEXT_BYTES /dev/urandom | base64` and of `head -c BINARY_BYTES /dev/urandom` (not UTF-8)
# compared with the command's own run time, the read-back of each (raw /output and paged /logs,
# byte-exact), the agent's peak RSS while streaming and its RSS 60 s after.
# Usage: scripts/bench-agent.sh [IDLE_SECONDS] [TEXT_BYTES] [BINARY_BYTES]
# Environment: AGENT_UPLOAD_FORMAT=json|binary is passed to the agent; PROFILE=DIR records perf
# call graphs (cpu-clock) of node-agent, agent-svc and Postgres during the first run's upload and prints their top frames.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
. scripts/lib/fleet.sh
IDLE=${1:-60}
TEXT_BYTES=${2:-200000000}
BINARY_BYTES=${3:-50000000}

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

PERF_PIDS=()
if [ -n "${PROFILE:-}" ]; then
    mkdir -p "$PROFILE"
    perf record -q -e cpu-clock -F 499 -g -o "$PROFILE/node-agent.perf" -p "$AGENT" >/dev/null 2>&1 & PERF_PIDS+=($!)
    perf record -q -e cpu-clock -F 499 -g -o "$PROFILE/agent-svc.perf" -p "$SVC_PID" >/dev/null 2>&1 & PERF_PIDS+=($!)
    perf record -q -e cpu-clock -F 499 -g -o "$PROFILE/postgres.perf" -u postgres >/dev/null 2>&1 & PERF_PIDS+=($!)
fi
PERF_STOP_PIDS="${PERF_PIDS[*]}" python3 scripts/bench_agent_throughput.py "http://127.0.0.1:$PORT" "$OP" bench-node "$AGENT" "$WORK" "$TEXT_BYTES" "$BINARY_BYTES" \
    "${SETTLE_SECONDS:-60}"
if [ ${#PERF_PIDS[@]} -gt 0 ]; then
    wait "${PERF_PIDS[@]}" 2>/dev/null || true
    for name in node-agent agent-svc postgres; do
        echo "== perf top frames: $name (self time, cpu-clock)"
        perf report -q -i "$PROFILE/$name.perf" --no-children -g none --sort dso,symbol --percent-limit 2 2>/dev/null \
            | grep -v '^$' | { swift demangle --simplified 2>/dev/null || cat; } | sed 's/  */ /g; s/ - - *$//' | cut -c1-150 | head -14
    done
fi
