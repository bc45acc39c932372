#!/usr/bin/env bash
# Fan-out benchmark (release, loopback): one `true` to every node, submit -> all `succeeded`
# visible, with the server CPU it cost; the single-node round trip; idle cost of held polls.
# Prints figures, asserts nothing.
#
# Usage: scripts/bench-fanout.sh [--nodes N] [--rounds R] [--latency K] [--salt VENV]
#        scripts/bench-fanout.sh --simulated N [--rounds R] [--idle SECONDS] [--replicas 2]
#   --nodes N       real node-agents (default 50)
#   --simulated N   a load generator speaking the node protocol instead (scripts/bench_fanout.py)
#   --rounds R      fan-outs to measure (default 10; 3 with --simulated)
#   --latency K     round trips to one node (default 50 with real agents, 0 simulated)
#   --idle S        then hold every poll idle for S seconds and print the CPU it costs
#   --replicas 2    two agent-svc replicas over one Postgres; nodes alternate between them
#   --salt VENV     also run Salt's own fan-out (salt-master + N salt-minions from VENV, e.g.
#                   `python3 -m venv VENV && VENV/bin/pip install 'salt==3008.*'`) in the same run
#   --bin DIR       use the binaries in DIR instead of building (e.g. an older build, to compare)
#   --profile DIR   also record perf call graphs of agent-svc and Postgres during the rounds, and
#                   Postgres' own statement statistics (pg_stat_statements), into DIR
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
. scripts/lib/fleet.sh

NODES=50 SIMULATED=0 ROUNDS= LATENCY= IDLE=0 REPLICAS=1 SALT= BIN= PROFILE=
while [ $# -gt 0 ]; do
    case $1 in
        --nodes) NODES=$2; shift 2 ;;
        --simulated) SIMULATED=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --latency) LATENCY=$2; shift 2 ;;
        --idle) IDLE=$2; shift 2 ;;
        --replicas) REPLICAS=$2; shift 2 ;;
        --salt) SALT=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
if [ "$SIMULATED" -gt 0 ]; then NODES=$SIMULATED; ROUNDS=${ROUNDS:-3}; LATENCY=${LATENCY:-0}; fi
ROUNDS=${ROUNDS:-10} LATENCY=${LATENCY:-50}

if [ -z "$BIN" ]; then
    swift build -c release --scratch-path .build-release --product agent-svc
    [ "$SIMULATED" -gt 0 ] || swift build -c release --scratch-path .build-release --product node-agent
    BIN=.build-release/release
fi
FLEET_BIN=$(cd "$BIN" && pwd) FLEET_LOG_LEVEL=warning
python3 -c 'import uvloop' 2>/dev/null || python3 -m pip install -q uvloop 2>/dev/null || true

WORK=$(mktemp -d /tmp/fleet-bench-fanout.XXXXXX)
chmod 755 "$WORK"   # the postgres user must reach the cluster inside it
SVC_PIDS=() NODE_PIDS=() SIM_PID= SALT_DIR=
cleanup() {
    [ -n "$SIM_PID" ] && kill -TERM "$SIM_PID" 2>/dev/null
    fleet_stop_pids "${NODE_PIDS[@]}" "${SVC_PIDS[@]}"
    [ -n "$SALT_DIR" ] && scripts/bench-salt.sh stop "$SALT_DIR"
    pg_stop "$WORK/pg"
    rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true   # 10,000 nodes need as many sockets on each side

[ -n "$PROFILE" ] && { mkdir -p "$PROFILE"; PROFILE=$(cd "$PROFILE" && pwd)
    export PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"; }
pg_start "$WORK/pg"   # scripts/lib/postgres.sh: loopback, fsync off (a disposable cluster)
fleet_createdb fleet
fleet_secrets "$WORK/secrets.env"
URLS=()
for i in $(seq "$REPLICAS"); do
    port=$(pg_free_port)
    fleet_start_svc "$port" "$WORK/agent-svc-$i.log"
    SVC_PIDS+=("$SVC_PID")
    URLS+=("http://127.0.0.1:$port")
done
OP=$("$FLEET_BIN/agent-svc" operator-token --name bench)
svc_pids=$(IFS=,; echo "${SVC_PIDS[*]}")

if [ "$SIMULATED" -gt 0 ]; then
    echo "== $NODES simulated nodes over ${#URLS[@]} agent-svc replica(s)"
    # One generator per replica, each holding its share of the nodes.
    SIM_OUT=$WORK/simulator.out
    per=$(( (NODES + REPLICAS - 1) / REPLICAS ))
    for i in $(seq 0 $((REPLICAS - 1))); do
        count=$(( i == REPLICAS - 1 ? NODES - per * i : per ))
        python3 scripts/bench_fanout.py simulate "${URLS[$i]}" "$ENROLLMENT_TOKEN" --nodes "$count" \
            --prefix "sim$i" --attrs bench=fanout >>"$SIM_OUT" 2>&1 &
        SIM_PID="$SIM_PID $!"
    done
    SIM_PID=${SIM_PID# }
    for _ in $(seq 600); do
        [ "$(grep -c '^ready' "$SIM_OUT" || true)" -ge "$REPLICAS" ] && break
        grep -q 'failed' "$SIM_OUT" && { cat "$SIM_OUT" >&2; exit 1; }
        sleep 0.5
    done
    LATENCY_NODE=sim0-00000
else
    echo "== $NODES real node-agents over ${#URLS[@]} agent-svc replica(s)"
    for i in $(seq "$NODES"); do
        fleet_start_node "bench-$i" "bench=fanout" "$WORK/nodes/bench-$i" "$WORK/node-agents.log" \
            "${URLS[$(( i % REPLICAS ))]}"
    done
    LATENCY_NODE=bench-1
fi

PERF_PIDS=()
if [ -n "$PROFILE" ]; then
    psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d fleet -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
        -c "SELECT pg_stat_statements_reset()" >/dev/null
    # Started once every node is online; registration is not part of the profile.
    (python3 scripts/bench_fanout.py run "${URLS[0]}" "$OP" --nodes "$NODES" --selector bench=fanout --rounds 0 \
        --online-timeout 600 >/dev/null
     perf record -q -F 199 -g -o "$PROFILE/agent-svc.perf" -p "${SVC_PIDS[0]}" >/dev/null 2>&1 &
     perf record -q -F 199 -g -o "$PROFILE/postgres.perf" -u postgres >/dev/null 2>&1 &
     wait) &
    PERF_PIDS+=($!)
fi
python3 scripts/bench_fanout.py run "${URLS[0]}" "$OP" --nodes "$NODES" --selector bench=fanout \
    --rounds "$ROUNDS" --latency "$LATENCY" --latency-node "$LATENCY_NODE" --svc-pids "$svc_pids" \
    --idle "$IDLE" --label "fleet, $REPLICAS replica(s)"
if [ -n "$PROFILE" ]; then
    pkill -INT -f "perf record -q -F 199" 2>/dev/null || true
    wait "${PERF_PIDS[@]}" 2>/dev/null || true
    psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d fleet -c "SELECT calls, round(total_exec_time)::int AS exec_ms,
        round(total_plan_time)::int AS plan_ms, round((total_exec_time / calls)::numeric, 3) AS ms_per_call,
        left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
        FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 15" >"$PROFILE/pg_stat_statements.txt"
    for name in agent-svc postgres; do
        perf report -q -i "$PROFILE/$name.perf" --no-children --sort symbol --percent-limit 1.5 2>/dev/null \
            | grep -v '^$' | head -40 >"$PROFILE/$name.top.txt" || true
    done
    echo "profile: $PROFILE/{agent-svc,postgres}.top.txt, $PROFILE/pg_stat_statements.txt"
fi
if [ "$LATENCY" -gt 0 ]; then
    # Where the single-node round trip goes, from the server's own timestamps (commands with one
    # invocation are the round trips; the fan-outs have many).
    echo "round trip by stage, server timestamps, p50 / p90 ms (created -> delivered -> running -> final):" \
        "$(psql -qAt -h 127.0.0.1 -p "$PGPORT" -U postgres -d fleet -c "
        WITH one AS (SELECT i.* FROM invocations i JOIN (SELECT command_id FROM invocations GROUP BY command_id
                     HAVING count(*) = 1) c USING (command_id) WHERE i.finished_at IS NOT NULL),
             ms AS (SELECT extract(epoch FROM delivered_at - created_at) * 1000 AS d,
                           extract(epoch FROM started_at - delivered_at) * 1000 AS s,
                           extract(epoch FROM finished_at - started_at) * 1000 AS f FROM one)
        SELECT format('%s / %s; %s / %s; %s / %s (n=%s)',
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)::numeric, 1),
            round(percentile_cont(0.9) WITHIN GROUP (ORDER BY d)::numeric, 1),
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s)::numeric, 1),
            round(percentile_cont(0.9) WITHIN GROUP (ORDER BY s)::numeric, 1),
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f)::numeric, 1),
            round(percentile_cont(0.9) WITHIN GROUP (ORDER BY f)::numeric, 1), count(*)) FROM ms")"
fi
echo "deliveries per invocation (1 = exactly once):" \
    "$(psql -qAt -h 127.0.0.1 -p "$PGPORT" -U postgres -d fleet -c \
        "SELECT min(delivery_count) || '..' || max(delivery_count) FROM invocations")"

if [ -n "$SALT" ]; then
    [ "$SIMULATED" -gt 0 ] && { echo "--salt needs real nodes (no --simulated)" >&2; exit 2; }
    # Salt's turn on a quiet box: stop Fleet's agents first so they cost nothing.
    fleet_stop_pids "${NODE_PIDS[@]}"; NODE_PIDS=()
    SALT_DIR=$WORK/salt
    scripts/bench-salt.sh start "$SALT_DIR" "$SALT" "$NODES"
    "$SALT/bin/python" scripts/bench_salt.py "$SALT_DIR/etc/master" --minions "$NODES" \
        --rounds "$ROUNDS" --latency "$LATENCY" --latency-minion salt-1
fi
