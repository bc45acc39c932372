#!/usr/bin/env bash
# One command for a whole local fleet: installs missing apt packages, builds, starts a private
# Postgres cluster in .fleet/ (git-ignored), agent-svc, three node-agents (edge-1..3) with
# their own state dirs, and opens fleet-tui as an operator. Quitting the console stops
# everything this script started; running it again reuses the cluster, secrets and identities.
#
# Usage: scripts/dev-fleet.sh [--release] [--no-tui]
#   --release  build and run release binaries
#   --no-tui   start the fleet and wait (Ctrl-C stops it); print how to attach a console
set -euo pipefail
cd "$(dirname "$0")/.."
FLEET_ROOT=$PWD
. scripts/lib/postgres.sh
. scripts/lib/fleet.sh

CONFIG=debug TUI=1
for arg in "$@"; do
    case $arg in
        --release) CONFIG=release ;;
        --no-tui) TUI=0 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

DIR=$FLEET_ROOT/.fleet
mkdir -p "$DIR/logs" "$DIR/nodes"
chmod 755 "$DIR"   # the postgres user must reach .fleet/pg when we run as root

fleet_apt_install
echo "== build ($CONFIG)"
fleet_build "$CONFIG"

SVC_PID= NODE_PIDS=() PG_STARTED=0
cleanup() {
    trap - EXIT INT TERM
    echo "== stopping the local fleet"
    [ ${#NODE_PIDS[@]} -gt 0 ] && fleet_stop_pids "${NODE_PIDS[@]}"
    [ -n "$SVC_PID" ] && fleet_stop_pids "$SVC_PID"
    [ "$PG_STARTED" = 1 ] && pg_stop "$DIR/pg"
    echo "stopped (state kept in .fleet/; run again to resume)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== postgres (.fleet/pg)"
# A cluster left running by a killed run is stopped first, then started on our port.
pg_stop "$DIR/pg"
PORT_FILE=$DIR/pg.port
PG_PORT=$(cat "$PORT_FILE" 2>/dev/null || true)
if [ -z "$PG_PORT" ] || ! fleet_port_free "$PG_PORT"; then PG_PORT=$(pg_free_port); fi
echo "$PG_PORT" >"$PORT_FILE"
pg_start "$DIR/pg" "$PG_PORT"
PG_STARTED=1
fleet_createdb fleet

fleet_secrets "$DIR/secrets.env"

SVC_PORT=${FLEET_PORT:-8080}
fleet_port_free "$SVC_PORT" || SVC_PORT=$(pg_free_port)
URL=http://127.0.0.1:$SVC_PORT
echo "== agent-svc on $URL (log .fleet/logs/agent-svc.log)"
fleet_start_svc "$SVC_PORT" "$DIR/logs/agent-svc.log"

echo "== node-agents edge-1..3 (logs .fleet/logs/edge-N.log)"
fleet_start_node edge-1 "region=eu-west,role=web" "$DIR/nodes/edge-1" "$DIR/logs/edge-1.log" "$URL"
fleet_start_node edge-2 "region=eu-west,role=db" "$DIR/nodes/edge-2" "$DIR/logs/edge-2.log" "$URL"
fleet_start_node edge-3 "region=us-east,role=web" "$DIR/nodes/edge-3" "$DIR/logs/edge-3.log" "$URL"

OPERATOR=${USER:-$(id -un)}
TOKEN=$("$FLEET_BIN/agent-svc" operator-token --name "$OPERATOR" --role admin)
(umask 077; printf '%s\n' "$TOKEN" >"$DIR/operator.token")
unset JWT_SIGNING_SECRET ENROLLMENT_TOKEN   # the console needs neither

if [ "$TUI" = 1 ]; then
    echo "== fleet-tui as $OPERATOR"
    AGENT_SVC_URL=$URL FLEET_TOKEN=$TOKEN "$FLEET_BIN/fleet-tui" || true
else
    echo "fleet up: AGENT_SVC_URL=$URL FLEET_TOKEN=\$(cat .fleet/operator.token) $FLEET_BIN/fleet-tui"
    echo "Ctrl-C stops it."
    wait "$SVC_PID" || true
fi
