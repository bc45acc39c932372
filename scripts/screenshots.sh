#!/usr/bin/env bash
# Screenshots of every fleet-tui view from a real run: starts a small fleet in a temp dir
# (Postgres, agent-svc, three node-agents), runs a few commands, drives fleet-tui in tmux and
# renders each view (tmux capture-pane -e → pyte → Pillow) into screenshots/*.png.
#
# Needs: tmux, fonts-dejavu-core, python3 with pyte and pillow (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
FLEET_ROOT=$PWD
. scripts/lib/postgres.sh
. scripts/lib/fleet.sh

[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || {
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y -qq fonts-dejavu-core tmux >/dev/null
}
python3 -c 'import pyte, PIL' 2>/dev/null || python3 -m pip install -q pyte pillow

fleet_build debug
WORK=$(mktemp -d /tmp/fleet-shots.XXXXXX)
chmod 755 "$WORK"
SOCK=fleet-shots-$$
SVC_PID= NODE_PIDS=()
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    [ ${#NODE_PIDS[@]} -gt 0 ] && fleet_stop_pids "${NODE_PIDS[@]}"
    [ -n "$SVC_PID" ] && fleet_stop_pids "$SVC_PID"
    pg_stop "$WORK/pg"
    rm -rf "$WORK"
}
trap cleanup EXIT

pg_start "$WORK/pg"
fleet_createdb fleet
fleet_secrets "$WORK/secrets.env"
PORT=$(pg_free_port)
URL=http://127.0.0.1:$PORT
fleet_start_svc "$PORT" "$WORK/agent-svc.log"
fleet_start_node edge-1 "region=eu-west,role=web" "$WORK/edge-1" "$WORK/edge-1.log" "$URL"
fleet_start_node edge-2 "region=eu-west,role=db" "$WORK/edge-2" "$WORK/edge-2.log" "$URL"
fleet_start_node edge-3 "region=us-east,role=web" "$WORK/edge-3" "$WORK/edge-3.log" "$URL"
TOKEN=$("$FLEET_BIN/agent-svc" operator-token --name "${USER:-$(id -un)}" --role admin)

api() {  # api METHOD PATH [BODY]
    curl -sf -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"} "$URL$2"
}
for _ in $(seq 100); do
    [ "$(api GET /v1/agents | python3 -c 'import json,sys; print(sum(n["online"] for n in json.load(sys.stdin)["nodes"]))')" = 3 ] && break
    sleep 0.3
done
submit() {  # submit TARGETS(a,b) CMD [TIMEOUT]
    local body
    body=$(python3 -c 'import json, sys; print(json.dumps({"command_type": "RunCommand", "targets": sys.argv[1].split(","),
        "payload": {"cmd": sys.argv[2], "timeout_sec": int(sys.argv[3])}}))' "$1" "$2" "${3:-60}")
    api POST /v1/commands/submit "$body" >/dev/null
}
submit edge-1,edge-2,edge-3 'uname -srm; uptime'
submit edge-2 'ls /does-not-exist'
submit edge-3 'sleep 1; echo slow start >&2; sleep 200' 300
sleep 1
submit edge-1,edge-2,edge-3 'for i in 1 2 3 4 5; do echo "$(hostname) step $i of 5"; sleep 0.2; done; echo "warning: disk 81% full" >&2; df -h / | tail -1'
sleep 4

tmux -L "$SOCK" -u new-session -d -s shots -x 120 -y 40 \
    "env LANG=C.UTF-8 TERM=xterm-256color AGENT_SVC_URL=$URL FLEET_TOKEN=$TOKEN $FLEET_BIN/fleet-tui --refresh 1; sleep 60"
keys() { tmux -L "$SOCK" send-keys -t shots "$@"; sleep 0.4; }
wait_for() {  # wait_for TEXT: until the pane shows TEXT (30 s at most)
    for _ in $(seq 150); do
        tmux -L "$SOCK" capture-pane -p -t shots | grep -qF -- "$1" && return 0
        sleep 0.2
    done
    echo "timed out waiting for '$1'; screen:" >&2
    tmux -L "$SOCK" capture-pane -p -t shots >&2
    return 1
}
shot() {  # shot NAME TITLE
    sleep 0.6
    tmux -L "$SOCK" capture-pane -e -p -N -t shots >"$WORK/$1.ans"
    python3 scripts/ansi_to_png.py "$WORK/$1.ans" "screenshots/$1.png" --cols 120 --rows 40 --title "$2"
    echo "screenshots/$1.png"
}
mkdir -p screenshots

wait_for "edge-3"
wait_for "3/3 online"
keys Down; keys Space; keys Up
shot nodes "fleet-tui — Nodes"
keys 2
wait_for "Commands[4]"
shot commands "fleet-tui — Commands"
keys Enter
wait_for "succeeded"
wait_for "edge-3"
shot command "fleet-tui — Command"
keys l
wait_for "complete"
shot logs "fleet-tui — Logs (all targets)"
keys 1
wait_for "Nodes("
keys / ; tmux -L "$SOCK" send-keys -t shots -l "region=eu-west"; keys Enter
keys a
keys r
wait_for "Run command"
tmux -L "$SOCK" send-keys -t shots -l "systemctl is-active nginx || journalctl -u nginx -n 20"
sleep 0.3
keys Enter
wait_for "[y] send"
shot run "fleet-tui — Run (confirm)"
keys n
keys C-t; keys C-t  # RunCommand → UpdateAgent → UpdatePackage
wait_for "Update packages"
tmux -L "$SOCK" send-keys -t shots -l "nginx curl"
shot run-package "fleet-tui — Run (UpdatePackage)"
keys Escape; keys Escape
keys "?"
wait_for "Everywhere"
shot help "fleet-tui — Help"
keys Escape
# A rollout: a selector, one node at a time, stop at the first failure.
api POST /v1/commands/submit '{"command_type":"RunCommand","selector":"role=web","max_concurrency":1,"max_errors":0,
  "payload":{"cmd":"echo rolling out on $(hostname); sleep 30","timeout_sec":60}}' >/dev/null
keys 2
wait_for "role=web"
keys g; keys Enter
wait_for "waiting"
shot rollout "fleet-tui — Command (rollout: selector, max concurrency 1)"
keys Escape; keys q
